// Part 2 of the scaler (issue #12): backend calls outside the lock, leader-only acting with
// demand shared through kv_store, failover, scale-set statistics and the runner registrars.

#include <gtest/gtest.h>

#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <future>

#include "appliance/leader_election.h"
#include "appliance/testing/in_memory_kv_store.h"
#include "scale_set_demand.h"
#include "test_support.h"

namespace appliance::plugins::runner_scaler {
namespace {

using test::baseConfig;
using test::Harness;
using test::jobEvent;

const std::vector<std::string> kLinux{"self-hosted", "linux", "terraform", "kubernetes"};

ScalerConfig configFrom(const std::string& yaml) {
  auto node = ConfigNode::parse(yaml, "test.yaml");
  EXPECT_TRUE(node.isOk());
  auto config = parseConfig(*node);
  EXPECT_TRUE(config.isOk()) << config.status().message();
  return *config;
}

JobObservation queued(std::int64_t id) {
  JobObservation o;
  o.id = id;
  o.run_id = id;
  o.repository = "acme/infra";
  o.labels = kLinux;
  return o;
}

// The cluster both replicas see: every create is counted, runners boot for ever.
class SharedBackend final : public Backend {
 public:
  std::string name() const override { return "shared"; }
  std::vector<RunnerView> runners(const std::string& pool, TimePoint) override {
    std::lock_guard lock(mutex_);
    std::vector<RunnerView> out;
    for (const auto& [id, r] : runners_) {
      if (r.first == pool) out.push_back({id, RunnerPhase::kBooting, r.second});
    }
    return out;
  }
  Status createRunners(const PoolConfig& pool, int count, TimePoint now) override {
    {
      std::unique_lock lock(mutex_);
      ++in_create_;
      entered_.notify_all();
      release_.wait(lock, [this] { return !block_; });
      --in_create_;
      for (int k = 0; k < count; ++k) {
        runners_["r" + std::to_string(++created_)] = {pool.policy.name, now};
      }
    }
    return Status::ok();
  }
  Status removeRunner(const std::string&, const std::string& id, TimePoint) override {
    std::lock_guard lock(mutex_);
    runners_.erase(id);
    return Status::ok();
  }
  void jobStarted(const std::string&, std::int64_t, const std::string&, TimePoint) override {}
  void jobCompleted(const std::string&, std::int64_t, TimePoint) override {}
  void maintain(TimePoint) override {
    std::lock_guard lock(mutex_);
    ++maintained_;
  }

  void block(bool on) {
    std::lock_guard lock(mutex_);
    block_ = on;
    release_.notify_all();
  }
  bool waitUntilInCreate() {
    std::unique_lock lock(mutex_);
    return entered_.wait_for(lock, std::chrono::seconds(10), [this] { return in_create_ > 0; });
  }
  int created() const {
    std::lock_guard lock(mutex_);
    return created_;
  }
  int maintained() const {
    std::lock_guard lock(mutex_);
    return maintained_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable entered_, release_;
  bool block_ = false;
  int in_create_ = 0, created_ = 0, maintained_ = 0;
  std::map<std::string, std::pair<std::string, TimePoint>> runners_;  // id -> pool, created
};

// A PAT file for configs with scale-set pools (the config reads it).
std::string tokenFile() {
  static const std::string path = test::tempFile("ha_pat", "ghp_test_token\n");
  return path;
}

// One scaler replica: its own context (clock, scheduler, metrics), a shared store and cluster.
struct Replica {
  testing::FakeContext ctx{"runner_scaler"};
  std::shared_ptr<ScalerMetrics> metrics;
  std::unique_ptr<Scaler> scaler;
  std::shared_ptr<LeaderElector> elector;

  Replica(const std::string& id, const ScalerConfig& config, std::shared_ptr<Backend> backend,
          std::shared_ptr<KvStore> kv, bool elect) {
    ctx.runtime_info.instance_id = id;
    std::vector<std::string> names;
    for (const auto& p : config.pools) names.push_back(p.policy.name);
    metrics = *ScalerMetrics::create(*ctx.registry, names);
    scaler = std::make_unique<Scaler>(config, backend, metrics, ctx.log, ctx.manual_clock);
    scaler->attachStore(kv);
    if (!elect) return;
    LeaderElectionOptions options;
    options.name = "runner_scaler.leader";
    options.identity = id;
    options.on_change = [s = scaler.get()](bool leader) { s->setLeading(leader); };
    elector = *LeaderElector::start(
        ctx, std::make_shared<KvLeaseBackend>(kv, "runner_scaler", "leader/test"), options);
    scaler->leaderCheck([e = elector] { return e->isLeader(); });
    scaler->leaderInfo([e = elector] { return e->holder(); });
  }
  void tick() { ctx.timers.fire("runner_scaler.leader"); }
  double metric(const std::string& name, std::map<std::string, std::string> labels = {}) {
    return ctx.metricValue(name, labels).value_or(-1);
  }
};

TEST(Locking, BackendCallsRunWithoutTheLockWhileDemandIsStillAccepted) {
  auto backend = std::make_shared<SharedBackend>();
  auto kv = std::make_shared<testing::InMemoryKvStore>();
  Replica r("solo", configFrom(baseConfig()), backend, kv, false);
  r.scaler->observe({queued(1)});
  backend->block(true);
  auto stepping = std::async(std::launch::async, [&] { r.scaler->step(); });
  ASSERT_TRUE(backend->waitUntilInCreate()) << "the step never reached createRunners";
  // While the backend blocks in createRunners: intake, dedupe and GET /runners all answer.
  auto others = std::async(std::launch::async, [&] {
    r.scaler->observe({queued(2)});
    EXPECT_TRUE(r.scaler->rememberDelivery("d-1"));
    r.scaler->statistics("gpu", JobDemand{1, 0});
    return r.scaler->runnersJson();
  });
  ASSERT_EQ(others.wait_for(std::chrono::seconds(10)), std::future_status::ready)
      << "intake or /runners waited for the backend";
  EXPECT_NE(others.get().find("\"name\":\"linux\""), std::string::npos);
  EXPECT_EQ(stepping.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);
  backend->block(false);
  ASSERT_EQ(stepping.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(backend->created(), 1);
  r.scaler->step();  // the job queued meanwhile and the gpu statistics
  EXPECT_EQ(backend->created(), 3);
  EXPECT_EQ(backend->maintained(), 2);  // maintain() once per acting step
}

TEST(HighAvailability, AFollowerRecordsDemandAndTheLeaderActsOnIt) {
  auto backend = std::make_shared<SharedBackend>();
  auto kv = std::make_shared<testing::InMemoryKvStore>();
  const ScalerConfig config = configFrom(baseConfig());
  Replica leader("a", config, backend, kv, false), follower("b", config, backend, kv, false);
  follower.scaler->setLeading(false);
  follower.scaler->step();
  EXPECT_FALSE(follower.scaler->leading());
  EXPECT_EQ(follower.metric("appliance_scaler_leader"), 0);
  EXPECT_EQ(leader.metric("appliance_scaler_leader"), 1);

  follower.scaler->observe({queued(11), queued(12)});
  follower.scaler->step();
  EXPECT_EQ(backend->created(), 0) << "a follower never acts";
  EXPECT_EQ(backend->maintained(), 0);
  EXPECT_EQ(follower.metric("appliance_jobs_queued", {{"pool", "linux"}}), 2);

  leader.ctx.manual_clock.advance(std::chrono::seconds(1));  // store_sync_interval
  leader.scaler->step();
  EXPECT_EQ(backend->created(), 2);
  EXPECT_EQ(leader.metric("appliance_jobs_queued", {{"pool", "linux"}}), 2);

  // A later status from the leader is not moved back by the follower's stale view.
  JobObservation started = queued(11);
  started.status = JobStatus::kInProgress;
  started.runner_name = "r1";
  leader.scaler->observe({started});
  leader.scaler->step();
  follower.scaler->observe({queued(11)});  // a replayed "queued" delivery
  follower.ctx.manual_clock.advance(std::chrono::seconds(1));
  follower.scaler->step();
  auto record = kv->get("runner_scaler", "job/11");
  ASSERT_TRUE(record.isOk() && record->has_value());
  EXPECT_NE((*record)->value.find("\t2\t"), std::string::npos) << (*record)->value;
  EXPECT_EQ(follower.metric("appliance_jobs_in_progress", {{"pool", "linux"}}), 1);
}

TEST(HighAvailability, FailoverAfterLeaseExpiryKeepsDemandAndCreatesNoDuplicates) {
  testing::ManualClock kv_clock;
  auto kv = std::make_shared<testing::InMemoryKvStore>(&kv_clock);
  auto backend = std::make_shared<SharedBackend>();
  const ScalerConfig config = configFrom(baseConfig());
  Replica a("scaler-a", config, backend, kv, true), b("scaler-b", config, backend, kv, true);
  const auto advance = [&](std::chrono::seconds s) {
    a.ctx.manual_clock.advance(s);
    b.ctx.manual_clock.advance(s);
    kv_clock.advance(s);
  };
  a.tick();
  b.tick();
  ASSERT_TRUE(a.elector->isLeader());
  ASSERT_FALSE(b.elector->isLeader());
  EXPECT_EQ(b.elector->holder(), "scaler-a");
  a.scaler->step();
  b.scaler->step();
  EXPECT_TRUE(a.scaler->leading());
  EXPECT_FALSE(b.scaler->leading());
  EXPECT_NE(b.scaler->runnersJson().find(R"("leader":{"this_replica":false,"holder":"scaler-a"})"),
            std::string::npos);

  a.scaler->observe({queued(1), queued(2)});  // webhooks to the leader
  a.scaler->step();
  b.scaler->observe({queued(3)});  // and one to the follower
  b.scaler->step();
  advance(std::chrono::seconds(1));
  a.scaler->step();
  EXPECT_EQ(backend->created(), 3);

  // A stalls (no more renewals); B keeps trying and takes over once the lease expires.
  advance(std::chrono::seconds(5));
  b.tick();
  EXPECT_FALSE(b.elector->isLeader()) << "the lease is still valid";
  b.scaler->observe({queued(4)});
  b.scaler->step();
  EXPECT_EQ(backend->created(), 3) << "a follower never acts";
  advance(std::chrono::seconds(11));  // 16 s since A's last renewal
  a.scaler->step();                   // A's own view: its lease lapsed, so it stops acting
  EXPECT_FALSE(a.scaler->leading());
  EXPECT_EQ(a.metric("appliance_scaler_leader"), 0);
  b.tick();
  ASSERT_TRUE(b.elector->isLeader());
  b.scaler->step();
  EXPECT_TRUE(b.scaler->leading());
  EXPECT_EQ(b.metric("appliance_scaler_leader"), 1);
  EXPECT_EQ(b.metric("appliance_jobs_queued", {{"pool", "linux"}}), 4) << "demand kept";
  EXPECT_EQ(backend->created(), 4) << "only job 4 needed a new runner";
  b.scaler->step();
  EXPECT_EQ(backend->created(), 4);
  EXPECT_TRUE(b.ctx.log.contains("this replica leads now"));
}

TEST(HighAvailability, ANewLeaderStartsFromTheLastScaleSetStatisticsUntilItsSessionReports) {
  auto kv = std::make_shared<testing::InMemoryKvStore>();
  auto backend = std::make_shared<SharedBackend>();
  const ScalerConfig config = configFrom(
      baseConfig("    demand: scale_set\n", "",
                 "  token_file: " + tokenFile() + "\n  config_url: https://github.com/acme\n"));
  Replica a("a", config, backend, kv, false), b("b", config, backend, kv, false);
  b.scaler->setLeading(false);
  b.scaler->step();
  a.scaler->statistics("linux", JobDemand{4, 1});
  a.scaler->statistics("gpu", JobDemand{2, 0});  // a webhook pool: not carried over
  a.scaler->step();
  EXPECT_EQ(backend->created(), 7);
  a.scaler->setLeading(false);
  a.scaler->step();
  b.scaler->setLeading(true);
  b.scaler->step();
  EXPECT_EQ(b.metric("appliance_runners_desired", {{"pool", "linux"}}), 5);
  EXPECT_EQ(b.metric("appliance_jobs_queued", {{"pool", "linux"}}), 4);
  EXPECT_EQ(b.metric("appliance_jobs_queued", {{"pool", "gpu"}}), 0);
  EXPECT_EQ(backend->created(), 7) << "the old leader's runners cover it";
  b.scaler->statistics("linux", JobDemand{0, 6});  // its own session reports
  b.scaler->step();
  EXPECT_EQ(backend->created(), 8);
}

TEST(ScaleSet, StatisticsDriveDesiredNotMessageCounts) {
  scaleset::Statistics stats;
  stats.total_assigned_jobs = 5;
  stats.total_running_jobs = 2;
  stats.total_available_jobs = 40;  // not the signal
  const JobDemand d = demandFromStatistics(stats);
  EXPECT_EQ(d.queued, 3);
  EXPECT_EQ(d.in_progress, 2);
  stats.total_running_jobs = 9;  // never more running than assigned
  EXPECT_EQ(demandFromStatistics(stats).queued, 0);
  EXPECT_EQ(demandFromStatistics(stats).in_progress, 5);

  auto backend = std::make_shared<SharedBackend>();
  Replica r("solo", configFrom(baseConfig()), backend, nullptr, false);
  scaleset::DemandUpdate update;
  update.pool = "linux";
  update.statistics.total_assigned_jobs = 4;
  update.statistics.total_running_jobs = 1;
  for (int k = 0; k < 7; ++k) {  // seven messages about jobs; the statistics say 4
    scaleset::JobEvent e;
    e.type = scaleset::JobEventType::kAssigned;
    e.runner_request_id = 100 + k;
    e.request_labels = {"seed"};  // the scale set's name: matches no pool's labels
    update.jobs.push_back(e);
  }
  r.scaler->observe(observationsFrom(update));
  r.scaler->statistics("linux", demandFromStatistics(update.statistics));
  r.scaler->step();
  EXPECT_EQ(r.metric("appliance_runners_desired", {{"pool", "linux"}}), 4);
  EXPECT_EQ(backend->created(), 4);
  EXPECT_EQ(r.metric("appliance_jobs_unmatched"), 0) << "scale-set jobs carry their pool";
}

TEST(ScaleSet, JobMessagesBecomeObservationsOfThePool) {
  scaleset::DemandUpdate u;
  u.pool = "linux";
  scaleset::JobEvent started;
  started.type = scaleset::JobEventType::kStarted;
  started.runner_request_id = 0;  // since 2025: key on jobId
  started.job_id = "8f1c2d3e";
  started.owner_name = "acme";
  started.repository_name = "infra";
  started.runner_name = "linux-abc";
  scaleset::JobEvent done = started;
  done.type = scaleset::JobEventType::kCompleted;
  scaleset::JobEvent numeric;
  numeric.type = scaleset::JobEventType::kAvailable;
  numeric.job_id = "4242";
  u.jobs = {started, done, numeric};
  const auto obs = observationsFrom(u);
  ASSERT_EQ(obs.size(), 3u);
  EXPECT_EQ(obs[0].status, JobStatus::kInProgress);
  EXPECT_EQ(obs[0].runner_name, "linux-abc");
  EXPECT_EQ(obs[0].repository, "acme/infra");
  EXPECT_EQ(obs[0].pool, "linux");
  EXPECT_GT(obs[0].id, 0);
  EXPECT_EQ(obs[0].id, obs[1].id) << "the same job id keys the same job";
  EXPECT_EQ(obs[1].status, JobStatus::kCompleted);
  EXPECT_EQ(obs[2].id, 4242);
  EXPECT_EQ(obs[2].status, JobStatus::kQueued);
}

class FakeScaleSetRunners final : public ScaleSetRunners {
 public:
  Result<scaleset::JitConfig> generateJitConfig(const std::string& pool,
                                                const std::string& name) override {
    calls.push_back("jit " + pool + " " + name);
    if (name == "taken") return Status(StatusCode::kConflict, "AgentExistsException elsewhere");
    scaleset::JitConfig c;
    c.runner.id = 77;
    c.runner.name = name;
    c.encoded_jit_config = "c2VjcmV0LWppdA==";
    return c;
  }
  Status removeRunner(const std::string& pool, std::int64_t id) override {
    calls.push_back("remove " + pool + " " + std::to_string(id));
    if (id == 1) return Status(StatusCode::kConflict, "busy: JobStillRunningException");
    if (id == 2) return Status::notFound("AgentNotFoundException");
    return Status::ok();
  }
  std::vector<std::string> calls;
};

class FakeRest final : public RunnerRegistrar {
 public:
  Result<RunnerRegistration> registerRunner(const PoolConfig& pool,
                                            const std::string& name) override {
    calls.push_back("rest jit " + pool.policy.name + " " + name);
    return RunnerRegistration{5, name, "rest-config"};
  }
  Status deregisterRunner(const PoolConfig& pool, std::int64_t id) override {
    calls.push_back("rest remove " + pool.policy.name + " " + std::to_string(id));
    return Status::ok();
  }
  std::vector<std::string> calls;
};

TEST(Registrar, RoutesEachPoolAndMapsTheScaleSetErrors) {
  const ScalerConfig config = configFrom(baseConfig("    demand: scale_set\n", "",
                                                    "  token_file: " + tokenFile() +
                                                        "\n"
                                                        "  config_url: https://github.com/acme\n"));
  const PoolConfig& linux = config.pools[0];
  const PoolConfig& gpu = config.pools[1];
  ASSERT_TRUE(linux.scaleSet());
  ASSERT_FALSE(gpu.scaleSet());
  auto ss = std::make_shared<FakeScaleSetRunners>();
  auto rest = std::make_shared<FakeRest>();
  PerPoolRunnerRegistrar registrar(std::make_shared<ScaleSetRunnerRegistrar>(ss), rest);

  auto r = registrar.registerRunner(linux, "linux-1");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->runner_id, 77);
  EXPECT_EQ(r->encoded_jit_config, "c2VjcmV0LWppdA==");
  auto g = registrar.registerRunner(gpu, "gpu-1");
  ASSERT_TRUE(g.isOk());
  EXPECT_EQ(g->encoded_jit_config, "rest-config");
  EXPECT_EQ(ss->calls, (std::vector<std::string>{"jit linux linux-1"}));
  EXPECT_EQ(rest->calls, (std::vector<std::string>{"rest jit gpu gpu-1"}));

  auto taken = registrar.registerRunner(linux, "taken");
  EXPECT_EQ(taken.status().code(), StatusCode::kConflict);
  EXPECT_NE(taken.status().message().find("another name"), std::string::npos);
  Status busy = registrar.deregisterRunner(linux, 1);
  EXPECT_EQ(busy.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(busy.message().find("keeping it"), std::string::npos);
  EXPECT_TRUE(registrar.deregisterRunner(linux, 2).isOk()) << "already gone counts as done";
  EXPECT_TRUE(registrar.deregisterRunner(linux, 3).isOk());
  EXPECT_TRUE(registrar.deregisterRunner(gpu, 9).isOk());
  EXPECT_EQ(rest->calls.back(), "rest remove gpu 9");

  PerPoolRunnerRegistrar no_rest(std::make_shared<ScaleSetRunnerRegistrar>(ss), nullptr);
  EXPECT_EQ(no_rest.registerRunner(gpu, "x").status().code(), StatusCode::kFailedPrecondition);
  PerPoolRunnerRegistrar no_set(nullptr, rest);
  EXPECT_EQ(no_set.deregisterRunner(linux, 3).code(), StatusCode::kFailedPrecondition);
}

TEST(Registrar, AFollowerHasNoScaleSetSessionToRegisterWith) {
  testing::FakeContext ctx;
  scaleset::ActionsClientOptions options;
  options.config_url = "https://github.com/acme";
  options.auth.pat = "unused";
  scaleset::SourceOptions source;
  std::vector<scaleset::PoolSpec> pools(1);
  pools[0].pool = "linux";
  ScaleSetDemand::AuthLoader auth = [] {
    scaleset::GitHubAuth a;
    a.pat = "unused";
    return Result<scaleset::GitHubAuth>(a);
  };
  ScaleSetDemand::PollClientFactory poll = [&] {
    return Result<std::shared_ptr<HttpClient>>(ctx.http_client);
  };
  ScaleSetDemand demand(options, auth, ctx.http_client, poll, pools, source, ctx.clock(),
                        ctx.logger());
  EXPECT_EQ(demand.generateJitConfig("linux", "x").status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(demand.removeRunner("linux", 1).code(), StatusCode::kUnavailable);
  EXPECT_FALSE(demand.running());
  EXPECT_EQ(demand.start().code(), StatusCode::kFailedPrecondition) << "no sink set";
}

TEST(HaConfig, DefaultsAndPreciseErrors) {
  const ScalerConfig plain = configFrom(baseConfig());
  EXPECT_EQ(plain.pools[0].demand, "webhook");
  EXPECT_EQ(plain.pools[0].scale_set_name, "linux");
  EXPECT_EQ(plain.pools[0].runner_group, "default");
  EXPECT_EQ(plain.leader_election.backend, "none");
  EXPECT_EQ(plain.leader_election.lease_duration, std::chrono::seconds(15));
  EXPECT_EQ(plain.leader_election.renew_period, std::chrono::seconds(5));

  const auto error = [](const std::string& yaml) {
    auto node = ConfigNode::parse(yaml, "test.yaml");
    auto config = parseConfig(*node);
    return config.isOk() ? std::string() : config.status().message();
  };
  EXPECT_NE(error(baseConfig("    demand: scale_set\n")).find("github.config_url"),
            std::string::npos);
  EXPECT_NE(error(baseConfig("    demand: kafka\n")).find("demand"), std::string::npos);
  EXPECT_NE(error(baseConfig("", "leader_election: {backend: kv, renew_period: 20s}\n"))
                .find("shorter than lease_duration"),
            std::string::npos);
  EXPECT_NE(error(baseConfig("", "leader_election: {backend: zookeeper}\n")).find("backend"),
            std::string::npos);
  const ScalerConfig set = configFrom(
      baseConfig("    demand: scale_set\n    scale_set_name: seed-linux\n    runner_group: spot\n",
                 "leader_election: {backend: kv, lease_name: scaler-dev}\n",
                 "  token_file: " + tokenFile() + "\n  config_url: https://github.com/acme/\n"));
  EXPECT_EQ(set.pools[0].scale_set_name, "seed-linux");
  EXPECT_EQ(set.pools[0].runner_group, "spot");
  EXPECT_EQ(set.github.config_url, "https://github.com/acme");
  EXPECT_EQ(set.leader_election.lease_name, "scaler-dev");
}

TEST(HaPlugin, KvElectionThroughThePluginShowsTheLeaderInMetricsAndRunners) {
  auto kv = std::make_shared<testing::InMemoryKvStore>();
  Harness h(baseConfig("", "leader_election: {backend: kv}\n"));
  h.ctx.runtime_info.instance_id = "scaler-0";
  ASSERT_TRUE(h.ctx.service_registry.provide<KvStore>(kv).isOk());
  ASSERT_TRUE(h.plugin.activate().isOk());
  h.step();
  EXPECT_EQ(h.metric("appliance_scaler_leader"), 0) << "no lease yet";
  h.send(jobEvent("queued", 900, kLinux), "q900");
  h.step();
  EXPECT_EQ(h.metric("appliance_runners_current", {{"pool", "linux"}}), 0);
  ASSERT_TRUE(h.ctx.timers.fire("runner_scaler.leader"));
  h.step();
  EXPECT_EQ(h.metric("appliance_scaler_leader"), 1);
  EXPECT_EQ(h.metric("appliance_runners_current", {{"pool", "linux"}}), 1);
  const auto json = h.ctx.router.call("GET", "/runners").body;
  EXPECT_NE(json.find(R"("leader":{"this_replica":true,"holder":"scaler-0"})"), std::string::npos)
      << json;
  const auto html = h.ctx.router.call("GET", "/runners", "", {{"Accept", "text/html"}}).body;
  EXPECT_NE(html.find("Leader: scaler-0 (this replica)"), std::string::npos);
  h.plugin.stop(std::chrono::steady_clock::now() + std::chrono::seconds(5));
  auto lease = kv->get("runner_scaler", "leader/appliance-runner-scaler");
  ASSERT_TRUE(lease.isOk() && lease->has_value());
  EXPECT_EQ((*lease)->value.rfind("0:", 0), 0u) << "released on stop: " << (*lease)->value;
}

TEST(HaPlugin, OnlyTheLeaderRunsTheScaleSetSourceAndLosingTheLeaseStopsIt) {
  auto kv = std::make_shared<testing::InMemoryKvStore>();
  Harness h(
      baseConfig("    demand: scale_set\n",
                 "leader_election: {backend: kv, lease_duration: 15s, renew_period: 5s}\n",
                 "  token_file: " + tokenFile() +
                     "\n  config_url: https://github.com/acme\n  api_url: http://127.0.0.1:9\n"));
  ASSERT_TRUE(h.ctx.service_registry.provide<KvStore>(kv).isOk());
  ASSERT_TRUE(h.plugin.activate().isOk());
  ASSERT_NE(h.plugin.scaleSet(), nullptr);
  h.step();
  EXPECT_FALSE(h.plugin.scaleSet()->running()) << "a follower holds no session";
  EXPECT_NE(
      h.ctx.router.call("GET", "/runners")
          .body.find(R"("scale_set":{"name":"linux","runner_group":"default","polling":false})"),
      std::string::npos);
  EXPECT_EQ(h.plugin.registrar()
                ->registerRunner(h.plugin.scaler()->config().pools[0], "linux-1")
                .status()
                .code(),
            StatusCode::kUnavailable);
  ASSERT_TRUE(h.ctx.timers.fire("runner_scaler.leader"));
  h.step();
  EXPECT_TRUE(h.plugin.scaleSet()->running()) << "started on gaining leadership";
  EXPECT_NE(h.ctx.router.call("GET", "/runners").body.find(R"("polling":true)"), std::string::npos);
  EXPECT_NE(h.ctx.router.call("GET", "/runners", "", {{"Accept", "text/html"}})
                .body.find("<th>scale set</th><td>linux"),
            std::string::npos);
  // Renewals stall past the lease: the next step notices, stops acting, ends the term.
  h.advance(std::chrono::seconds(16));
  h.step();
  EXPECT_FALSE(h.plugin.scaler()->leading());
  EXPECT_FALSE(h.plugin.scaleSet()->running()) << "stopped on losing leadership";
  EXPECT_EQ(h.metric("appliance_scaler_leader"), 0);
  h.plugin.stop(std::chrono::steady_clock::now() + std::chrono::seconds(5));
  EXPECT_FALSE(h.ctx.log.contains("ghp_test_token"));
}

TEST(HaPlugin, AScaleSetTermThatCannotStartIsRetriedByTheLeader) {
  const std::string token = test::tempFile("ha_retry_pat", "ghp_rotating\n");
  Harness h(
      baseConfig("    demand: scale_set\n", "",
                 "  token_file: " + token +
                     "\n  config_url: https://github.com/acme\n  api_url: http://127.0.0.1:9\n"));
  std::remove(token.c_str());  // the mounted Secret is briefly gone
  ASSERT_TRUE(h.plugin.activate().isOk()) << "one replica: leads from the start";
  EXPECT_FALSE(h.plugin.scaleSet()->running());
  EXPECT_TRUE(h.ctx.log.contains("cannot start the scale-set demand source"));
  std::ofstream(token) << "ghp_rotating\n";
  h.step();
  EXPECT_FALSE(h.plugin.scaleSet()->running()) << "not before 30 s";
  h.advance(std::chrono::seconds(31));
  h.step();
  EXPECT_TRUE(h.plugin.scaleSet()->running());
  h.plugin.stop(std::chrono::steady_clock::now() + std::chrono::seconds(5));
  EXPECT_FALSE(h.plugin.scaleSet()->running());
  EXPECT_FALSE(h.ctx.log.contains("ghp_rotating"));
}

TEST(HaPlugin, FollowersSpendNoRateLimitAndANewLeaderPollsOnceBeforeActing) {
  const std::string token = test::tempFile("ha_poll_pat", "ghp_poll_token\n");
  auto kv = std::make_shared<testing::InMemoryKvStore>();
  Harness h(baseConfig("", "leader_election: {backend: kv}\n",
                       "  api_url: https://api.github.test\n  repositories: [acme/infra]\n"
                       "  token_file: " +
                           token + "\n"));
  std::atomic<int> listings{0};
  h.ctx.http_client->setHandler([&](const HttpClientRequest& rq) -> Result<HttpClientResponse> {
    HttpClientResponse r;
    r.headers = {{"x-ratelimit-remaining", "4999"}};
    if (rq.url.find("/actions/runs") != std::string::npos) {
      ++listings;
      r.status = 200;
      r.body = R"({"total_count":0,"workflow_runs":[]})";
    } else {
      r.status = 404;
      r.body = R"({"message":"Not Found"})";
    }
    return r;
  });
  ASSERT_TRUE(h.ctx.service_registry.provide<KvStore>(kv).isOk());
  ASSERT_TRUE(h.plugin.activate().isOk());
  h.step();
  ASSERT_TRUE(h.ctx.timers.fire("runner_scaler.poll"));
  EXPECT_EQ(listings.load(), 0) << "a follower does not poll";
  ASSERT_TRUE(h.ctx.timers.fire("runner_scaler.leader"));
  h.step();
  EXPECT_GT(listings.load(), 0) << "the reconciliation poll on gaining leadership";
  const int after_gain = listings.load();
  ASSERT_TRUE(h.ctx.timers.fire("runner_scaler.poll"));
  EXPECT_GT(listings.load(), after_gain) << "the leader keeps polling";
}

TEST(HaPlugin, KvElectionWithoutAKvStoreRefusesToStart) {
  Harness h(baseConfig("", "leader_election: {backend: kv}\n"));
  Status s = h.plugin.activate();
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("storage_postgres"), std::string::npos);
}

}  // namespace
}  // namespace appliance::plugins::runner_scaler
