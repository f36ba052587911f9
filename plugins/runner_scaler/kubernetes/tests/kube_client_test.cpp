// KubeClient against the fake API server over real HTTPS: TLS, tokens, CRUD, conflicts,
// garbage collection, the deployment scale subresource, retries.
#include <chrono>
#include <filesystem>
#include <fstream>

#include "kube_test_support.h"

namespace appliance::plugins::runner_scaler::kube {
namespace {

using namespace std::chrono_literals;

TEST_F(KubeFakeTest, InClusterAccessTalksTlsVerifiedAgainstTheServiceAccountCa) {
  auto kube = client();
  ASSERT_TRUE(kube);
  EXPECT_EQ(kube->defaultNamespace(), "ci");
  auto pods = kube->list(kPods, "ci");
  ASSERT_TRUE(pods) << pods.status().message();
  EXPECT_TRUE(pods->items.empty());
  EXPECT_FALSE(pods->resource_version.empty());
  EXPECT_EQ(server_.requests().back().auth, "token");
}

TEST_F(KubeFakeTest, AServerNotSignedByTheTrustedCaIsRefused) {
  auto access = inClusterAccess(inCluster());
  ASSERT_TRUE(access);
  access->ca_file.clear();  // the system store does not know the test CA
  auto kube = KubeClient::create(access.value(), factory(), fastOptions(), log_);
  ASSERT_TRUE(kube);
  auto refused = kube.value()->list(kPods, "ci");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable) << refused.status().message();
  EXPECT_TRUE(server_.requests().empty());  // no request went out over an unverified channel
}

TEST_F(KubeFakeTest, ARotatedTokenIsPickedUpAndTheOldOneIsRefused) {
  auto kube = client();
  ASSERT_TRUE(kube);
  ASSERT_TRUE(kube->list(kPods, "ci"));
  // The cluster rotates the token; the kubelet has not yet refreshed the pod's file.
  server_.rotateToken("rotated-token-2");
  auto refused = kube->list(kPods, "ci");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("401"), std::string::npos);
  EXPECT_EQ(server_.requests().back().status, 401);
  // The kubelet writes the new token: the next request uses it, without a restart.
  writeClientToken("rotated-token-2");
  auto accepted = kube->list(kPods, "ci");
  ASSERT_TRUE(accepted) << accepted.status().message();
  // Both at once (the usual case): a 401 re-reads the file and retries once.
  server_.rotateToken("rotated-token-3");
  writeClientToken("rotated-token-3");
  ASSERT_TRUE(kube->list(kPods, "ci"));
  const std::string logs = allLogText();
  for (const char* secret : {"rotated-token-2", "rotated-token-3", server_.token().c_str()}) {
    EXPECT_EQ(logs.find(secret), std::string::npos) << secret;
    EXPECT_EQ(refused.status().message().find(secret), std::string::npos);
  }
}

TEST_F(KubeFakeTest, AKubeconfigWithAClientCertificateAuthenticatesByMutualTls) {
  auto [cert, key] = server_.clientCertificate("scaler");
  const std::string path = server_.dir() + "/kubeconfig";
  std::ofstream(path) << "current-context: fake\n"
                      << "clusters: [{name: f, cluster: {server: '" << server_.url()
                      << "', certificate-authority: ca.pem}}]\n"
                      << "contexts: [{name: fake, context: {cluster: f, user: s, namespace: ci}}]\n"
                      << "users: [{name: s, user: {client-certificate: " << cert
                      << ", client-key: " << key << "}}]\n";
  auto access = kubeconfigAccess(path, server_.dir() + "/data");
  ASSERT_TRUE(access) << access.status().message();
  auto kube = KubeClient::create(access.value(), factory(), fastOptions(), log_);
  ASSERT_TRUE(kube);
  auto pods = kube.value()->list(kPods, "ci");
  ASSERT_TRUE(pods) << pods.status().message();
  EXPECT_EQ(server_.requests().back().auth, "cert");
}

TEST_F(KubeFakeTest, CreateGetListPatchReplaceDelete) {
  auto kube = client();
  ASSERT_TRUE(kube);
  Object pod = makePod("runner-a", R"({"app":"runner","pool":"linux"})");
  const std::string note = "a \"quoted\"\nmulti-line \\ value";
  ensureObject(pod, {"metadata", "annotations"})->set("note", note);
  auto created = kube->create(kPods, "ci", pod);
  ASSERT_TRUE(created) << created.status().message();
  EXPECT_FALSE(uidOf(created.value()).empty());
  EXPECT_EQ(stringAt(created.value(), {"status", "phase"}), "Pending");
  EXPECT_EQ(stringAt(created.value(), {"metadata", "annotations", "note"}), note);
  ASSERT_TRUE(kube->create(kPods, "ci", makePod("runner-b", R"({"app":"runner","pool":"gpu"})")));
  ASSERT_TRUE(kube->create(kPods, "ci", makePod("other", R"({"app":"web"})")));

  auto linux_pods = kube->list(kPods, "ci", {"app=runner,pool=linux", "", "", 0});
  ASSERT_TRUE(linux_pods) << linux_pods.status().message();
  ASSERT_EQ(linux_pods->items.size(), 1u);
  EXPECT_EQ(nameOf(linux_pods->items[0]), "runner-a");
  auto runners = kube->list(kPods, "ci", {"app in (runner),pool!=gpu", "", "", 0});
  ASSERT_TRUE(runners);
  EXPECT_EQ(runners->items.size(), 1u);
  EXPECT_EQ(kube->list(kPods, "ci", {"app=runner", "", "", 0})->items.size(), 2u);

  auto again = kube->create(kPods, "ci", makePod("runner-a"));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.status().code(), StatusCode::kConflict);
  EXPECT_NE(again.status().message().find("AlreadyExists"), std::string::npos);

  Object patch(new Poco::JSON::Object);
  ensureObject(patch, {"metadata", "labels"})->set("state", "idle");
  auto patched = kube->mergePatch(kPods, "ci", "runner-a", patch);
  ASSERT_TRUE(patched) << patched.status().message();
  EXPECT_EQ(stringAt(patched.value(), {"metadata", "labels", "state"}), "idle");
  EXPECT_EQ(stringAt(patched.value(), {"metadata", "labels", "pool"}), "linux");

  // A replace over the version read before the patch is stale: 409, then re-read and retry.
  Object stale = cloneObject(created.value());
  ensureObject(stale, {"metadata", "labels"})->set("state", "busy");
  auto conflict = kube->replace(kPods, "ci", "runner-a", stale);
  ASSERT_FALSE(conflict);
  EXPECT_EQ(conflict.status().code(), StatusCode::kConflict);
  EXPECT_NE(conflict.status().message().find("the object has been modified"), std::string::npos);
  auto fresh = kube->get(kPods, "ci", "runner-a");
  ASSERT_TRUE(fresh);
  ensureObject(fresh.value(), {"metadata", "labels"})->set("state", "busy");
  auto replaced = kube->replace(kPods, "ci", "runner-a", fresh.value());
  ASSERT_TRUE(replaced) << replaced.status().message();
  EXPECT_EQ(stringAt(replaced.value(), {"metadata", "labels", "state"}), "busy");
  // A merge patch carrying a stale resourceVersion is refused the same way.
  ensureObject(patch, {"metadata"})->set("resourceVersion", resourceVersionOf(created.value()));
  auto stale_patch = kube->mergePatch(kPods, "ci", "runner-a", patch);
  ASSERT_FALSE(stale_patch);
  EXPECT_EQ(stale_patch.status().code(), StatusCode::kConflict);

  DeleteOptions wrong_uid;
  wrong_uid.uid = "not-this-one";
  EXPECT_EQ(kube->remove(kPods, "ci", "runner-a", wrong_uid).status().code(),
            StatusCode::kConflict);
  auto deleted = kube->remove(kPods, "ci", "runner-a");
  ASSERT_TRUE(deleted) << deleted.status().message();
  auto gone = kube->get(kPods, "ci", "runner-a");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.status().code(), StatusCode::kNotFound);
  EXPECT_NE(gone.status().message().find("GET /api/v1/namespaces/ci/pods/runner-a: 404 NotFound"),
            std::string::npos)
      << gone.status().message();
  EXPECT_EQ(kube->remove(kPods, "ci", "runner-a").status().code(), StatusCode::kNotFound);
}

TEST_F(KubeFakeTest, ASecretOwnedByAPodIsCollectedWithIt) {
  auto kube = client();
  ASSERT_TRUE(kube);
  auto pod = kube->create(kPods, "ci", makePod("runner-1"));
  ASSERT_TRUE(pod);
  auto secret = parseObject(R"({"metadata":{"name":"runner-1-jit","ownerReferences":[
      {"apiVersion":"v1","kind":"Pod","name":"runner-1","uid":")" +
                                uidOf(pod.value()) + R"(","blockOwnerDeletion":true}]},
      "stringData":{"jitconfig":"eyJzZWNyZXQiOiJ4In0="}})",
                            "secret");
  ASSERT_TRUE(secret);
  auto stored = kube->create(kSecrets, "ci", secret.value());
  ASSERT_TRUE(stored) << stored.status().message();
  EXPECT_FALSE(stringAt(stored.value(), {"data", "jitconfig"}).empty());  // base64 of stringData
  ASSERT_TRUE(
      kube->create(kSecrets, "ci", parseObject(R"({"metadata":{"name":"unowned"}})", "s").value()));

  DeleteOptions background;
  background.propagation = Propagation::kBackground;
  ASSERT_TRUE(kube->remove(kPods, "ci", "runner-1", background));
  EXPECT_EQ(kube->get(kSecrets, "ci", "runner-1-jit").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(kube->get(kSecrets, "ci", "unowned"));
  // A deleted Secret answers with a Status object, not the Secret.
  auto status = kube->remove(kSecrets, "ci", "unowned");
  ASSERT_TRUE(status);
  EXPECT_EQ(stringAt(status.value(), {"kind"}), "Status");
  EXPECT_EQ(stringAt(status.value(), {"status"}), "Success");
}

TEST_F(KubeFakeTest, ADeploymentIsScaledThroughItsScaleSubresource) {
  auto kube = client();
  ASSERT_TRUE(kube);
  auto deployment = parseObject(R"({"metadata":{"name":"runners"},"spec":{"replicas":2,
      "selector":{"matchLabels":{"app":"runner"}},
      "template":{"metadata":{"labels":{"app":"runner"}},
                  "spec":{"containers":[{"name":"r","image":"runner"}]}}}})",
                                "deployment");
  ASSERT_TRUE(kube->create(kDeployments, "ci", deployment.value()));
  auto scale = kube->get(kDeployments, "ci", "runners", "scale");
  ASSERT_TRUE(scale) << scale.status().message();
  EXPECT_EQ(stringAt(scale.value(), {"kind"}), "Scale");
  EXPECT_EQ(stringAt(scale.value(), {"apiVersion"}), "autoscaling/v1");
  EXPECT_EQ(intAt(scale.value(), {"spec", "replicas"}).value_or(-1), 2);
  EXPECT_EQ(stringAt(scale.value(), {"status", "selector"}), "app=runner");

  auto patch = parseObject(R"({"spec":{"replicas":5}})", "patch");
  auto scaled = kube->mergePatch(kDeployments, "ci", "runners", patch.value(), "scale");
  ASSERT_TRUE(scaled) << scaled.status().message();
  EXPECT_EQ(intAt(scaled.value(), {"spec", "replicas"}).value_or(-1), 5);
  EXPECT_EQ(intAt(kube->get(kDeployments, "ci", "runners").value(), {"spec", "replicas"}), 5);
  EXPECT_EQ(countRequests("PATCH", "/apis/apps/v1/namespaces/ci/deployments/runners/scale"), 1);

  auto negative = parseObject(R"({"spec":{"replicas":-1}})", "patch");
  auto refused = kube->mergePatch(kDeployments, "ci", "runners", negative.value(), "scale");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  ensureObject(patch.value(), {"metadata"})->set("resourceVersion", "1");
  EXPECT_EQ(kube->mergePatch(kDeployments, "ci", "runners", patch.value(), "scale").status().code(),
            StatusCode::kConflict);
}

TEST_F(KubeFakeTest, AnEventIsRecordedOnAnObject) {
  auto kube = client();
  ASSERT_TRUE(kube);
  auto event = parseObject(R"({"metadata":{"generateName":"scaler-"},
      "involvedObject":{"kind":"Pod","namespace":"ci","name":"scaler-0","apiVersion":"v1"},
      "reason":"ScaledUp","message":"scale_up demand=7 current=3 desired=7 pool=linux",
      "type":"Normal","source":{"component":"appliance-runner-scaler"},"count":1,
      "firstTimestamp":"2026-12-03T07:00:00Z","lastTimestamp":"2026-12-03T07:00:00Z"})",
                           "event");
  auto stored = kube->create(kEvents, "ci", event.value());
  ASSERT_TRUE(stored) << stored.status().message();
  EXPECT_TRUE(nameOf(stored.value()).starts_with("scaler-"));
  EXPECT_EQ(kube->list(kEvents, "ci")->items.size(), 1u);
}

TEST_F(KubeFakeTest, TransientAnswersAreRetriedWithBackoff) {
  auto kube = client();
  ASSERT_TRUE(kube);
  server_.clearRequests();
  server_.failNext(503, 2, "", "GET");
  auto listed = kube->list(kPods, "ci");
  ASSERT_TRUE(listed) << listed.status().message();
  EXPECT_EQ(countRequests("GET", "/pods"), 3);

  server_.failNext(500, 10, "", "GET");  // more than max_attempts (5)
  auto exhausted = kube->list(kPods, "ci");
  ASSERT_FALSE(exhausted);
  EXPECT_EQ(exhausted.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(exhausted.status().message().find("500"), std::string::npos);
  EXPECT_NE(allLogText().find("retrying"), std::string::npos);       // retries are logged (debug)
  EXPECT_EQ(allLogText().find(server_.token()), std::string::npos);  // without the token
  server_.control("DELETE", "/_fake/fail");
}

TEST_F(KubeFakeTest, RetryAfterIsHonoured) {
  auto kube = client();
  ASSERT_TRUE(kube);
  server_.failNext(429, 1, "1", "GET");
  const auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(kube->list(kPods, "ci"));
  // Correctness, not speed: no second request before the server's Retry-After.
  EXPECT_GE(std::chrono::steady_clock::now() - started, 1s);
}

TEST_F(KubeFakeTest, ACreateIsRetriedOnlyWhenTheServerDidNotActOnIt) {
  auto kube = client();
  ASSERT_TRUE(kube);
  server_.clearRequests();
  server_.failNext(429, 1, "", "POST");
  ASSERT_TRUE(kube->create(kPods, "ci", makePod("after-429")));
  EXPECT_EQ(countRequests("POST", "/pods"), 2);

  server_.clearRequests();
  server_.failNext(500, 1, "", "POST");  // ambiguous: it may have been created
  auto ambiguous = kube->create(kPods, "ci", makePod("after-500"));
  ASSERT_FALSE(ambiguous);
  EXPECT_EQ(ambiguous.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(countRequests("POST", "/pods"), 1);
}

TEST_F(KubeFakeTest, ShutdownEndsABackoffWaitAtOnce) {
  auto kube = client();
  ASSERT_TRUE(kube);
  server_.failNext(503, 1, "30", "GET");
  std::thread stopper([&] {
    std::this_thread::sleep_for(300ms);
    kube->shutdown();
  });
  const auto started = std::chrono::steady_clock::now();
  auto result = kube->list(kPods, "ci");
  stopper.join();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 20s);  // not the whole Retry-After
  ASSERT_FALSE(result);
  EXPECT_NE(result.status().message().find("shut down"), std::string::npos);
}

}  // namespace
}  // namespace appliance::plugins::runner_scaler::kube
