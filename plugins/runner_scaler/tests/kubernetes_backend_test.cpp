// KubernetesBackend + RestRunnerRegistrar against the fake Kubernetes API server (HTTPS, test
// CA, through the host's real outbound HTTP client) and the fake GitHub (fake_github.py as a
// process): pods with Secret-held JIT configs, the 422 busy path, scale-down order, finished
// and evicted pods, orphan cleanup, token rotation, events, deployment mode, and no secret in
// any log line.

#include <Poco/Base64Decoder.h>
#include <Poco/JSON/Parser.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "appliance/testing/fake_context.h"
#include "kube_test_support.h"
#include "kubernetes_backend.h"
#include "rest_runner_registrar.h"

namespace appliance::plugins::runner_scaler {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using kube::Object;

// fake_github.py as a child process on a free port of 127.0.0.1.
class FakeGitHub {
 public:
  explicit FakeGitHub(const std::string& token) {
    dir_ = fs::temp_directory_path() /
           ("fake-github-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    fs::create_directories(dir_);
    const std::string port_file = (dir_ / "port").string();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execl(PYTHON3_EXECUTABLE, PYTHON3_EXECUTABLE, FAKE_GITHUB_SCRIPT, token.c_str(),
              port_file.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 200 && port_ == 0; ++i) {
      std::ifstream in(port_file);
      in >> port_;
      if (port_ == 0) std::this_thread::sleep_for(25ms);
    }
  }
  ~FakeGitHub() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  bool ok() const { return port_ != 0; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // The runners the fake knows (with their JIT configs).
  Poco::JSON::Array::Ptr runners(HttpClient& http) const {
    auto r = call(http, "GET", "/_admin/runners");
    Poco::JSON::Parser parser;
    return parser.parse(r).extract<Poco::JSON::Array::Ptr>();
  }
  void setRunner(HttpClient& http, std::int64_t id, const std::string& json) const {
    call(http, "POST", "/_admin/runners/" + std::to_string(id), json);
  }
  std::string call(HttpClient& http, const std::string& method, const std::string& path,
                   const std::string& body = {}) const {
    HttpClientRequest rq;
    rq.method = method;
    rq.url = url() + path;
    rq.body = body;
    auto r = http.send(rq);
    return r.isOk() ? r->body : "";
  }

 private:
  static inline int counter_ = 0;
  fs::path dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

class KubernetesBackendTest : public kube::KubeFakeTest {
 protected:
  void SetUp() override {
    KubeFakeTest::SetUp();
    ASSERT_TRUE(github_.ok()) << "fake GitHub did not start";
    clock_.set(std::chrono::system_clock::now());
    pat_file_ = server_.dir() + "/github-token";
    std::ofstream(pat_file_) << kPat << "\n";
    HttpClientOptions o;
    o.name = "github";
    auto http = factory()(o);
    ASSERT_TRUE(http.isOk());
    github_http_ = *http;
    pool_.policy.name = "linux";
    pool_.policy.limits.max = 10;
    pool_.policy.boot_timeout = std::chrono::minutes(10);
    pool_.labels = {"kubernetes", "linux", "terraform"};
    pool_.runner.image = "ghcr.io/actions/actions-runner:2.321.0";
    pool_.runner.requests = {{"cpu", "1"}, {"memory", "2Gi"}};
    pool_.runner.limits = {{"memory", "4Gi"}};
    pool_.runner.work_volume_size = "20Gi";
    pool_.runner.node_selector = {{"pool", "spot"}};
    Toleration t;
    t.key = "spot";
    t.op = "Exists";
    t.effect = "NoSchedule";
    pool_.runner.tolerations = {t};
  }
  void TearDown() override {
    if (backend_) backend_->stop();
    // No JIT config and no token in any log line, whatever the test did.
    const std::string logs = allLogText();
    EXPECT_EQ(logs.find(kPat), std::string::npos);
    EXPECT_EQ(logs.find(server_.token()), std::string::npos);
    if (github_.ok()) {
      for (const auto& jit : issued_) EXPECT_EQ(logs.find(jit), std::string::npos);
    }
  }

  KubernetesBackendOptions options() {
    KubernetesBackendOptions o;
    o.ns = ns_;
    o.pools = {pool_};
    return o;
  }
  void startBackend(KubernetesBackendOptions o) {
    GitHubConfig gh;
    gh.api_url = github_.url();
    gh.token_file = pat_file_;
    auto creds = std::make_shared<GitHubCredentials>(gh, github_http_, nullptr, log_, clock_);
    RestRegistrarOptions ro;
    ro.api_url = github_.url();
    ro.repository = "acme/infra";
    registrar_ = std::make_shared<RestRunnerRegistrar>(ro, github_http_, creds, nullptr, log_);
    kube_ = client();
    ASSERT_TRUE(kube_);
    backend_ = std::make_unique<KubernetesBackend>(kube_, std::move(o), registrar_, log_, clock_);
    ASSERT_TRUE(backend_->start().isOk());
    ASSERT_TRUE(backend_->waitForSync(10s));
  }

  template <typename F>
  bool eventually(F condition, std::chrono::milliseconds timeout = 5000ms) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      if (condition()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return condition();
  }
  std::vector<Object> pods() {
    auto l = kube_->list(kube::kPods, ns_);
    return l.isOk() ? l->items : std::vector<Object>{};
  }
  std::vector<Object> secrets() {
    auto l = kube_->list(kube::kSecrets, ns_);
    return l.isOk() ? l->items : std::vector<Object>{};
  }
  SupplyCounts supply() { return countSupply(backend_->runners("linux", clock_.now())); }
  void setPod(const std::string& name, const std::string& patch) {
    ASSERT_EQ(server_.control("POST", "/_fake/objects/pods/" + ns_ + "/" + name, patch), 200);
  }
  void makeReady(const std::string& name) {
    setPod(name,
           R"({"status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"}]}})");
  }
  std::string onlyPodName() {
    auto p = pods();
    return p.size() == 1 ? kube::nameOf(p[0]) : "";
  }
  std::int64_t runnerIdOf(const std::string& pod) {
    auto runners = github_.runners(*github_http_);
    for (std::size_t i = 0; i < runners->size(); ++i) {
      auto r = runners->getObject(static_cast<unsigned>(i));
      if (r->getValue<std::string>("name") == pod) return r->getValue<std::int64_t>("id");
    }
    return 0;
  }
  void rememberJitConfigs() {
    auto runners = github_.runners(*github_http_);
    for (std::size_t i = 0; i < runners->size(); ++i) {
      issued_.push_back(runners->getObject(static_cast<unsigned>(i))->getValue<std::string>("jit"));
    }
  }

  static constexpr const char* kPat = "ghp_k8sBackendTestToken0123456789";
  FakeGitHub github_{kPat};
  std::shared_ptr<HttpClient> github_http_;
  std::string pat_file_;
  testing::ManualClock clock_;
  PoolConfig pool_;
  std::shared_ptr<RestRunnerRegistrar> registrar_;
  std::shared_ptr<kube::KubeClient> kube_;
  std::unique_ptr<KubernetesBackend> backend_;
  std::vector<std::string> issued_;
};

TEST_F(KubernetesBackendTest, ARunnerIsAPodWithItsJitConfigInAnOwnedSecret) {
  startBackend(options());
  ASSERT_TRUE(backend_->createRunners(pool_, 1, clock_.now()).isOk());
  rememberJitConfigs();
  ASSERT_EQ(issued_.size(), 1u);
  const std::string name = onlyPodName();
  ASSERT_FALSE(name.empty());
  EXPECT_EQ(name.rfind("appliance-linux-", 0), 0u) << name;

  // GitHub: registered under the pod's name with self-hosted and the pool's labels.
  auto runners = github_.runners(*github_http_);
  auto reg = runners->getObject(0);
  EXPECT_EQ(reg->getValue<std::string>("name"), name);
  EXPECT_EQ(reg->getValue<std::string>("scope"), "repos/acme/infra");
  EXPECT_EQ(reg->getValue<int>("runner_group_id"), 1);
  EXPECT_EQ(reg->getValue<std::string>("work_folder"), "_work");
  auto labels = reg->getArray("labels");
  ASSERT_EQ(labels->size(), 4u);
  EXPECT_EQ(labels->getElement<std::string>(0), "self-hosted");

  // The pod: template fields, the JIT config only by reference.
  auto pod = kube_->get(kube::kPods, ns_, name);
  ASSERT_TRUE(pod.isOk());
  const std::string pod_text = kube::toJson(*pod);
  EXPECT_EQ(pod_text.find(issued_[0]), std::string::npos);
  EXPECT_EQ(kube::stringAt(*pod, {"spec", "restartPolicy"}), "Never");
  EXPECT_EQ(kube::stringAt(*pod, {"metadata", "labels", kLabelPool}), "linux");
  EXPECT_EQ(kube::stringAt(*pod, {"metadata", "labels", kLabelScaler}), "appliance");
  EXPECT_EQ(kube::stringAt(*pod, {"metadata", "labels", kLabelRunner}), name);
  EXPECT_EQ(kube::stringAt(*pod, {"metadata", "annotations", kAnnotationRunnerId}),
            std::to_string(reg->getValue<std::int64_t>("id")));
  EXPECT_EQ(kube::stringAt(*pod, {"spec", "nodeSelector", "pool"}), "spot");
  auto tol = kube::arrayAt(*pod, {"spec", "tolerations"})->getObject(0);
  EXPECT_EQ(kube::stringAt(tol, {"key"}), "spot");
  EXPECT_EQ(kube::stringAt(tol, {"operator"}), "Exists");
  auto c = kube::arrayAt(*pod, {"spec", "containers"})->getObject(0);
  EXPECT_EQ(kube::stringAt(c, {"image"}), "ghcr.io/actions/actions-runner:2.321.0");
  EXPECT_EQ(kube::stringAt(c, {"resources", "requests", "cpu"}), "1");
  EXPECT_EQ(kube::stringAt(c, {"resources", "limits", "memory"}), "4Gi");
  auto env = kube::arrayAt(c, {"env"})->getObject(0);
  EXPECT_EQ(kube::stringAt(env, {"name"}), "ACTIONS_RUNNER_INPUT_JITCONFIG");
  EXPECT_FALSE(env->has("value"));
  EXPECT_EQ(kube::stringAt(env, {"valueFrom", "secretKeyRef", "name"}), name);
  EXPECT_EQ(kube::stringAt(env, {"valueFrom", "secretKeyRef", "key"}), "jitconfig");
  auto vol = kube::arrayAt(*pod, {"spec", "volumes"})->getObject(0);
  EXPECT_EQ(kube::stringAt(vol, {"emptyDir", "sizeLimit"}), "20Gi");

  // The Secret: holds the JIT config (base64 in data), owned by the pod.
  auto secret = kube_->get(kube::kSecrets, ns_, name);
  ASSERT_TRUE(secret.isOk());
  std::string decoded;
  {
    std::istringstream in(kube::stringAt(*secret, {"data", "jitconfig"}));
    Poco::Base64Decoder dec(in);
    decoded.assign(std::istreambuf_iterator<char>(dec), {});
  }
  EXPECT_EQ(decoded, issued_[0]);
  auto owner = kube::arrayAt(*secret, {"metadata", "ownerReferences"})->getObject(0);
  EXPECT_EQ(kube::stringAt(owner, {"kind"}), "Pod");
  EXPECT_EQ(kube::stringAt(owner, {"uid"}), kube::uidOf(*pod));

  // Supply from the watch: booting, then idle once Running and Ready, busy with a job.
  EXPECT_TRUE(eventually([&] { return supply().booting == 1; }));
  makeReady(name);
  EXPECT_TRUE(eventually([&] { return supply().idle == 1; }));
  backend_->jobStarted("linux", 77, name, clock_.now());
  EXPECT_EQ(supply().busy, 1);
  EXPECT_EQ(backend_->removeRunner("linux", name, clock_.now()).code(),
            StatusCode::kFailedPrecondition);
  // The job completes: an ephemeral runner is used up; its pod exits and is deleted with the
  // Secret.
  backend_->jobCompleted("linux", 77, clock_.now());
  EXPECT_EQ(supply().current(), 0);
  setPod(name, R"({"status":{"phase":"Succeeded"}})");
  EXPECT_TRUE(eventually([&] { return pods().empty() && secrets().empty(); }));
}

TEST_F(KubernetesBackendTest, ABusyRunnerIsKeptWhenGitHubAnswers422) {
  startBackend(options());
  ASSERT_TRUE(backend_->createRunners(pool_, 1, clock_.now()).isOk());
  rememberJitConfigs();
  const std::string name = onlyPodName();
  makeReady(name);
  ASSERT_TRUE(eventually([&] { return supply().idle == 1; }));
  // GitHub has handed it a job the scaler has not heard of yet.
  const auto id = runnerIdOf(name);
  github_.setRunner(*github_http_, id, R"({"busy":true,"status":"online"})");
  Status s = backend_->removeRunner("linux", name, clock_.now());
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.message();
  EXPECT_EQ(pods().size(), 1u);
  EXPECT_EQ(secrets().size(), 1u);
  EXPECT_EQ(supply().idle, 1);
  EXPECT_NE(runnerIdOf(name), 0);
}

TEST_F(KubernetesBackendTest, ScaleDownDeregistersThenDeletesPodAndSecret) {
  startBackend(options());
  ASSERT_TRUE(backend_->createRunners(pool_, 2, clock_.now()).isOk());
  rememberJitConfigs();
  auto all = pods();
  ASSERT_EQ(all.size(), 2u);
  const std::string name = kube::nameOf(all[0]);
  makeReady(name);
  ASSERT_TRUE(eventually([&] { return supply().idle == 1 && supply().booting == 1; }));
  // Deregistration comes first: while GitHub cannot be reached, the pod stays.
  github_.call(*github_http_, "POST", "/_admin/config", R"({"retry_after":[503,1]})");
  EXPECT_FALSE(backend_->removeRunner("linux", name, clock_.now()).isOk());
  EXPECT_TRUE(kube_->get(kube::kPods, ns_, name).isOk());
  EXPECT_EQ(supply().idle, 1);
  ASSERT_TRUE(backend_->removeRunner("linux", name, clock_.now()).isOk());
  EXPECT_EQ(runnerIdOf(name), 0);  // deregistered
  EXPECT_FALSE(kube_->get(kube::kPods, ns_, name).isOk());
  EXPECT_FALSE(kube_->get(kube::kSecrets, ns_, name).isOk());
  EXPECT_EQ(supply().current(), 1);
  EXPECT_TRUE(eventually([&] { return pods().size() == 1 && secrets().size() == 1; }));
}

TEST_F(KubernetesBackendTest, ASpotEvictedRunnerLeavesSupplyAtOnceAndIsReplaced) {
  startBackend(options());
  Object node = kube::parseObject(R"({"metadata":{"name":"spot-1"}})", "node").value();
  ASSERT_TRUE(kube_->create(kube::kNodes, "", node).isOk());
  ASSERT_TRUE(backend_->createRunners(pool_, 1, clock_.now()).isOk());
  rememberJitConfigs();
  const std::string name = onlyPodName();
  setPod(name, R"({"spec":{"nodeName":"spot-1"}})");
  makeReady(name);
  backend_->jobStarted("linux", 5, name, clock_.now());
  ASSERT_EQ(supply().busy, 1);
  // The spot node goes away: PodGC fails the pod, and it leaves supply with the watch event.
  ASSERT_EQ(server_.control("POST", "/_fake/nodes/spot-1/gone"), 200);
  EXPECT_TRUE(eventually([&] { return supply().current() == 0; }));
  EXPECT_GE(backend_->stats().replaced, 1u);
  // Job 5 lost its runner but is still in progress for GitHub.
  EXPECT_EQ(backend_->lostBusyRunners("linux"), 1);
  // The policy (job 5 still counted as demand) asks for a replacement, which is created.
  ASSERT_TRUE(backend_->createRunners(pool_, 1, clock_.now()).isOk());
  rememberJitConfigs();
  EXPECT_TRUE(eventually([&] { return supply().booting == 1 && pods().size() == 1; }));
  EXPECT_TRUE(eventually([&] { return secrets().size() == 1; }));
  backend_->jobCompleted("linux", 5, clock_.now());  // GitHub reports it (failed)
  EXPECT_EQ(backend_->lostBusyRunners("linux"), 0);
}

TEST_F(KubernetesBackendTest, RunnersOnATaintedOrCordonedNodeAreReplaced) {
  startBackend(options());
  Object node =
      kube::parseObject(R"({"metadata":{"name":"spot-2"},"spec":{"taints":[{"key":)"
                        R"("aws-node-termination-handler/spot-itn","effect":"NoSchedule"}]}})",
                        "node")
          .value();
  ASSERT_TRUE(kube_->create(kube::kNodes, "", node).isOk());
  Object healthy = kube::parseObject(R"({"metadata":{"name":"ok-1"}})", "node").value();
  ASSERT_TRUE(kube_->create(kube::kNodes, "", healthy).isOk());
  ASSERT_TRUE(backend_->createRunners(pool_, 2, clock_.now()).isOk());
  rememberJitConfigs();
  auto all = pods();
  ASSERT_EQ(all.size(), 2u);
  const std::string doomed = kube::nameOf(all[0]), fine = kube::nameOf(all[1]);
  setPod(doomed, R"({"spec":{"nodeName":"spot-2"}})");
  setPod(fine, R"({"spec":{"nodeName":"ok-1"}})");
  makeReady(doomed);
  makeReady(fine);
  ASSERT_TRUE(eventually([&] { return supply().idle == 2; }));
  backend_->maintainNow(clock_.now());
  EXPECT_EQ(supply().idle, 1);
  EXPECT_TRUE(eventually([&] { return pods().size() == 1 && onlyPodName() == fine; }));
  EXPECT_EQ(runnerIdOf(doomed), 0);
  EXPECT_NE(runnerIdOf(fine), 0);
}

TEST_F(KubernetesBackendTest, CleanupRemovesOrphansAndStuckRunners) {
  pool_.policy.boot_timeout = std::chrono::minutes(5);
  startBackend(options());
  // 1. A Secret of this scaler without a pod (a crash between the two creates).
  Object orphan =
      kube::parseObject(
          R"({"metadata":{"name":"appliance-linux-0000abcd","labels":{)"
          R"("runner-scaler.appliance.dev/scaler":"appliance"}},"stringData":{"jitconfig":"x"}})",
          "secret")
          .value();
  ASSERT_TRUE(kube_->create(kube::kSecrets, ns_, orphan).isOk());
  // Another scaler's Secret and an unrelated one stay.
  Object other = kube::parseObject(R"({"metadata":{"name":"other-linux-0000abcd","labels":{)"
                                   R"("runner-scaler.appliance.dev/scaler":"other"}}})",
                                   "secret")
                     .value();
  ASSERT_TRUE(kube_->create(kube::kSecrets, ns_, other).isOk());
  // 2. An offline registration with this scaler's naming and no pod; and a foreign one.
  std::string body =
      R"({"name":"appliance-linux-0badf00d","runner_group_id":1,"labels":["self-hosted"]})";
  HttpClientRequest rq;
  rq.method = "POST";
  rq.url = github_.url() + "/repos/acme/infra/actions/runners/generate-jitconfig";
  rq.headers = {{"Authorization", std::string("Bearer ") + kPat}};
  rq.body = body;
  ASSERT_EQ(github_http_->send(rq)->status, 201);
  rq.body = R"({"name":"someone-elses-runner","runner_group_id":1,"labels":["self-hosted"]})";
  ASSERT_EQ(github_http_->send(rq)->status, 201);
  // 3. A pod that never becomes ready.
  ASSERT_TRUE(backend_->createRunners(pool_, 1, clock_.now()).isOk());
  rememberJitConfigs();
  const std::string stuck = onlyPodName();
  ASSERT_TRUE(eventually([&] { return supply().booting == 1; }));

  backend_->maintainNow(clock_.now());                             // nothing stuck yet
  EXPECT_TRUE(eventually([&] { return secrets().size() == 2; }));  // the pod's + other's
  EXPECT_EQ(runnerIdOf("appliance-linux-0badf00d"), 0);
  EXPECT_NE(runnerIdOf("someone-elses-runner"), 0);
  EXPECT_NE(runnerIdOf(stuck), 0);
  EXPECT_EQ(pods().size(), 1u);

  clock_.advance(std::chrono::minutes(6));
  backend_->maintainNow(clock_.now());
  EXPECT_EQ(supply().current(), 0);
  EXPECT_TRUE(eventually([&] { return pods().empty(); }));
  EXPECT_EQ(runnerIdOf(stuck), 0);
  auto left = secrets();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(kube::nameOf(left[0]), "other-linux-0000abcd");
  const auto st = backend_->stats();
  EXPECT_EQ(st.registrations_removed, 1u);

  // maintain() paces itself: a second call within the interval does nothing.
  server_.clearRequests();
  backend_->maintain(clock_.now());
  backend_->maintain(clock_.now() + 1s);
  EXPECT_EQ(countRequests("GET", "/secrets"), 1);
}

TEST_F(KubernetesBackendTest, NoCleanupBeforeThePodsAreKnown) {
  Object secret = kube::parseObject(R"({"metadata":{"name":"appliance-linux-0000abcd","labels":{)"
                                    R"("runner-scaler.appliance.dev/scaler":"appliance"}}})",
                                    "secret")
                      .value();
  kube_ = client();
  ASSERT_TRUE(kube_->create(kube::kSecrets, ns_, secret).isOk());
  GitHubConfig gh;
  gh.api_url = github_.url();
  gh.token_file = pat_file_;
  RestRegistrarOptions ro;
  ro.api_url = github_.url();
  ro.repository = "acme/infra";
  auto registrar = std::make_shared<RestRunnerRegistrar>(
      ro, github_http_,
      std::make_shared<GitHubCredentials>(gh, github_http_, nullptr, log_, clock_), nullptr, log_);
  KubernetesBackend idle(kube_, options(), registrar, log_, clock_);  // not started
  idle.maintainNow(clock_.now());
  EXPECT_EQ(secrets().size(), 1u);
}

TEST_F(KubernetesBackendTest, AFailedPodIsDeletedWithItsSecret) {
  startBackend(options());
  ASSERT_TRUE(backend_->createRunners(pool_, 1, clock_.now()).isOk());
  rememberJitConfigs();
  const std::string name = onlyPodName();
  setPod(name, R"({"status":{"phase":"Failed","reason":"Evicted"}})");
  EXPECT_TRUE(eventually([&] { return pods().empty() && secrets().empty(); }));
  EXPECT_EQ(supply().current(), 0);
}

TEST_F(KubernetesBackendTest, ARotatedServiceAccountTokenIsPickedUp) {
  startBackend(options());
  ASSERT_TRUE(backend_->createRunners(pool_, 1, clock_.now()).isOk());
  server_.rotateToken("rotated-sa-token-5f1e2d3c4b5a");
  writeClientToken("rotated-sa-token-5f1e2d3c4b5a");
  ASSERT_TRUE(backend_->createRunners(pool_, 1, clock_.now()).isOk());
  rememberJitConfigs();
  EXPECT_EQ(pods().size(), 2u);
  EXPECT_TRUE(eventually([&] { return supply().booting == 2; }));
  EXPECT_EQ(allLogText().find("rotated-sa-token-5f1e2d3c4b5a"), std::string::npos);
}

TEST_F(KubernetesBackendTest, AFailedPodCreateLeavesNoSecretAndNoRegistration) {
  startBackend(options());
  server_.failNext(422, 1, {}, "POST", "/pods");
  Status s = backend_->createRunners(pool_, 1, clock_.now());
  EXPECT_FALSE(s.isOk());
  rememberJitConfigs();
  EXPECT_TRUE(pods().empty());
  EXPECT_TRUE(secrets().empty());
  EXPECT_EQ(github_.runners(*github_http_)->size(), 0u);
  for (const auto& jit : issued_) EXPECT_EQ(s.message().find(jit), std::string::npos);
}

TEST_F(KubernetesBackendTest, ScaleDecisionsBecomeEventsOnTheScalersPod) {
  ASSERT_TRUE(client()->create(kube::kPods, ns_, kube::makePod("scaler-0")).isOk());
  auto o = options();
  o.event_pod_name = "scaler-0";
  o.event_pod_namespace = ns_;
  startBackend(o);
  backend_->recordEvent("linux", "ScaledUp", "2 runners for 2 queued jobs");
  backend_->recordEvent("linux", "BudgetExhausted", "budget of 600 runner-minutes spent");
  backend_->drain();
  auto events = kube_->list(kube::kEvents, ns_);
  ASSERT_TRUE(events.isOk());
  ASSERT_EQ(events->items.size(), 2u);
  std::set<std::string> reasons;
  for (const auto& e : events->items) {
    reasons.insert(kube::stringAt(e, {"reason"}));
    EXPECT_EQ(kube::stringAt(e, {"involvedObject", "name"}), "scaler-0");
    EXPECT_FALSE(kube::stringAt(e, {"involvedObject", "uid"}).empty());
  }
  EXPECT_EQ(reasons, (std::set<std::string>{"ScaledUp", "BudgetExhausted"}));
}

TEST_F(KubernetesBackendTest, DeploymentModeScalesTheDeploymentNeverBelowTheBusyCount) {
  auto kube = client();
  Object d = kube::parseObject(R"({"metadata":{"name":"runners"},"spec":{"replicas":0,)"
                               R"("selector":{"matchLabels":{"app":"runner"}},)"
                               R"("template":{"metadata":{"labels":{"app":"runner"}},)"
                               R"("spec":{"containers":[{"name":"r","image":"runner"}]}}}})",
                               "deployment")
                 .value();
  ASSERT_TRUE(kube->create(kube::kDeployments, ns_, d).isOk());
  auto o = options();
  o.deployment_mode = true;
  o.deployments = {{"linux", "runners"}};
  startBackend(o);
  ASSERT_TRUE(backend_->createRunners(pool_, 2, clock_.now()).isOk());
  auto scale = kube_->get(kube::kDeployments, ns_, "runners", "scale");
  ASSERT_TRUE(scale.isOk());
  EXPECT_EQ(kube::intAt(*scale, {"spec", "replicas"}).value_or(-1), 2);
  // The fake runs no ReplicaSet: make the Deployment's two pods by hand.
  for (const char* name : {"runners-a", "runners-b"}) {
    ASSERT_TRUE(kube_->create(kube::kPods, ns_, kube::makePod(name, R"({"app":"runner"})")).isOk());
    makeReady(name);
  }
  ASSERT_TRUE(eventually([&] { return supply().idle == 2; }));
  backend_->jobStarted("linux", 9, "runners-a", clock_.now());
  backend_->jobStarted("linux", 10, "runners-b", clock_.now());
  EXPECT_EQ(backend_->removeRunner("linux", "runners-a", clock_.now()).code(),
            StatusCode::kFailedPrecondition);
  backend_->jobCompleted("linux", 9, clock_.now());
  EXPECT_EQ(supply().idle, 1);  // a long-lived runner is idle again
  ASSERT_TRUE(backend_->removeRunner("linux", "runners-a", clock_.now()).isOk());
  scale = kube_->get(kube::kDeployments, ns_, "runners", "scale");
  EXPECT_EQ(kube::intAt(*scale, {"spec", "replicas"}).value_or(-1), 1);
  auto a = kube_->get(kube::kPods, ns_, "runners-a");
  EXPECT_EQ(
      kube::stringAt(*a, {"metadata", "annotations", "controller.kubernetes.io/pod-deletion-cost"}),
      "-1000");
  // One busy runner left: scaling it away is refused.
  EXPECT_EQ(backend_->removeRunner("linux", "runners-b", clock_.now()).code(),
            StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace appliance::plugins::runner_scaler
