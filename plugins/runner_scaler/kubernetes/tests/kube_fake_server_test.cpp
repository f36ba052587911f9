// The fake API server's own Kubernetes semantics that part 2's tests lean on: finalizers,
// propagation policies, PodGC after a node is gone, label-selector transitions in a watch.
#include <condition_variable>
#include <mutex>

#include "kube_test_support.h"

namespace appliance::plugins::runner_scaler::kube {
namespace {

using namespace std::chrono_literals;

Object secretOwnedBy(const std::string& name, const Object& owner) {
  auto secret = parseObject(R"({"metadata":{"name":")" + name + R"(","ownerReferences":[
      {"apiVersion":"v1","kind":"Pod","name":")" +
                                nameOf(owner) + R"(","uid":")" + uidOf(owner) + R"("}]}})",
                            "secret");
  return secret.value();
}

TEST_F(KubeFakeTest, FakeAFinalizerHoldsAnObjectUntilItIsRemoved) {
  auto kube = client();
  ASSERT_TRUE(kube);
  Object pod = makePod("held");
  Array finalizers(new Poco::JSON::Array);
  finalizers->add("runner.appliance.dev/deregister");
  ensureObject(pod, {"metadata"})->set("finalizers", finalizers);
  ASSERT_TRUE(kube->create(kPods, "ci", pod));
  auto deleting = kube->remove(kPods, "ci", "held");
  ASSERT_TRUE(deleting) << deleting.status().message();
  auto still = kube->get(kPods, "ci", "held");
  ASSERT_TRUE(still);
  EXPECT_FALSE(stringAt(still.value(), {"metadata", "deletionTimestamp"}).empty());
  auto clear = parseObject(R"({"metadata":{"finalizers":null}})", "patch");
  ASSERT_TRUE(kube->mergePatch(kPods, "ci", "held", clear.value()));
  EXPECT_EQ(kube->get(kPods, "ci", "held").status().code(), StatusCode::kNotFound);
}

TEST_F(KubeFakeTest, FakeOrphanPropagationKeepsDependentsAndDropsTheirOwnerReference) {
  auto kube = client();
  ASSERT_TRUE(kube);
  auto pod = kube->create(kPods, "ci", makePod("owner"));
  ASSERT_TRUE(pod);
  ASSERT_TRUE(kube->create(kSecrets, "ci", secretOwnedBy("dependent", pod.value())));
  DeleteOptions orphan;
  orphan.propagation = Propagation::kOrphan;
  ASSERT_TRUE(kube->remove(kPods, "ci", "owner", orphan));
  auto kept = kube->get(kSecrets, "ci", "dependent");
  ASSERT_TRUE(kept);
  EXPECT_TRUE(arrayAt(kept.value(), {"metadata", "ownerReferences"}).isNull());

  auto pod2 = kube->create(kPods, "ci", makePod("owner2"));
  ASSERT_TRUE(kube->create(kSecrets, "ci", secretOwnedBy("dependent2", pod2.value())));
  DeleteOptions foreground;
  foreground.propagation = Propagation::kForeground;
  ASSERT_TRUE(kube->remove(kPods, "ci", "owner2", foreground));
  EXPECT_EQ(kube->get(kSecrets, "ci", "dependent2").status().code(), StatusCode::kNotFound);
}

TEST_F(KubeFakeTest, FakeAGoneNodeFailsItsPodsAsPodGcDoesThenDeletesThem) {
  auto kube = client();
  ASSERT_TRUE(kube);
  auto node = parseObject(R"({"metadata":{"name":"spot-1","labels":{"pool":"spot"}}})", "node");
  ASSERT_TRUE(kube->create(kNodes, "", node.value()));
  Object pod = makePod("on-spot", R"({"app":"runner"})");
  ensureObject(pod, {"spec"})->set("nodeName", "spot-1");
  auto created = kube->create(kPods, "ci", pod);
  ASSERT_TRUE(created);
  ASSERT_TRUE(kube->create(kSecrets, "ci", secretOwnedBy("on-spot-jit", created.value())));

  std::mutex mutex;
  std::condition_variable cv;
  std::vector<std::string> seen;
  std::thread watcher([&] {
    WatchOptions options;
    options.resource_version = resourceVersionOf(created.value());
    options.timeout_seconds = 3;
    kube->watch(kPods, "ci", options, [&](const WatchEvent& e) {
      std::lock_guard lock(mutex);
      std::string what = watchEventTypeName(e.type);
      if (e.type != WatchEventType::kBookmark) {
        seen.push_back(what + " " + stringAt(e.object, {"status", "phase"}));
        cv.notify_all();
      }
      return seen.size() < 2;
    });
  });
  std::this_thread::sleep_for(200ms);
  ASSERT_EQ(server_.control("POST", "/_fake/nodes/spot-1/gone"), 200);
  {
    std::unique_lock lock(mutex);
    cv.wait_for(lock, 10s, [&] { return seen.size() >= 2; });
  }
  watcher.join();
  const std::vector<std::string> expected{"MODIFIED Failed", "DELETED Failed"};
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(kube->get(kNodes, "", "spot-1").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(kube->get(kSecrets, "ci", "on-spot-jit").status().code(), StatusCode::kNotFound);
}

TEST_F(KubeFakeTest, FakeAWatchSeesAnObjectLeaveAndEnterItsSelector) {
  auto kube = client();
  ASSERT_TRUE(kube);
  auto pod = kube->create(kPods, "ci", makePod("mover", R"({"app":"runner"})"));
  ASSERT_TRUE(pod);
  std::vector<std::string> seen;
  std::thread watcher([&] {
    WatchOptions options;
    options.label_selector = "app=runner";
    options.resource_version = resourceVersionOf(pod.value());
    options.timeout_seconds = 3;
    kube->watch(kPods, "ci", options, [&](const WatchEvent& e) {
      if (e.type != WatchEventType::kBookmark) seen.push_back(watchEventTypeName(e.type));
      return seen.size() < 2;
    });
  });
  std::this_thread::sleep_for(200ms);
  auto away = parseObject(R"({"metadata":{"labels":{"app":"web"}}})", "p");
  auto back = parseObject(R"({"metadata":{"labels":{"app":"runner"}}})", "p");
  ASSERT_TRUE(kube->mergePatch(kPods, "ci", "mover", away.value()));
  ASSERT_TRUE(kube->mergePatch(kPods, "ci", "mover", back.value()));
  watcher.join();
  EXPECT_EQ(seen, (std::vector<std::string>{"DELETED", "ADDED"}));
}

TEST_F(KubeFakeTest, FakeRefusesBadRequestsWithStatusObjects) {
  auto kube = client();
  ASSERT_TRUE(kube);
  auto unnamed = kube->create(kPods, "ci", parseObject(R"({"metadata":{}})", "p").value());
  ASSERT_FALSE(unnamed);
  EXPECT_EQ(unnamed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unnamed.status().message().find("422 Invalid"), std::string::npos);
  auto upper = kube->create(kPods, "ci", makePod("Not_A_Name"));
  ASSERT_FALSE(upper);
  EXPECT_EQ(upper.status().code(), StatusCode::kInvalidArgument);
  auto bad_selector = kube->list(kPods, "ci", {"app in (", "", "", 0});
  ASSERT_FALSE(bad_selector);
  EXPECT_EQ(bad_selector.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace appliance::plugins::runner_scaler::kube
