// The scale-set client and demand source against the fake Actions service
// (tests/fakes/actions_service), through the host's real outbound HTTP client.

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <prometheus/registry.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "appliance/testing/fake_context.h"
#include "fake_service.h"
#include "outbound_http.h"
#include "scaleset/actions_client.h"
#include "scaleset/scale_set_source.h"

namespace appliance::plugins::runner_scaler::scaleset {
namespace {

using namespace std::chrono_literals;
using Poco::JSON::Array;
using Poco::JSON::Object;
using testing::FakeActionsService;

// The real time plus an offset the test can move forward (token expiry).
class OffsetClock : public Clock {
 public:
  std::chrono::system_clock::time_point now() const override {
    return std::chrono::system_clock::now() + offset;
  }
  std::chrono::steady_clock::time_point steadyNow() const override {
    return std::chrono::steady_clock::now();
  }
  std::chrono::seconds offset{0};
};

// Records every wait; sleeps at most 20 ms of it for real, so backoffs of minutes run in
// milliseconds while their spacing stays checkable. `hook` runs before each wait.
class RecordingSleeper : public Sleeper {
 public:
  bool sleepFor(std::chrono::milliseconds d) override {
    std::function<void(std::size_t)> hook;
    std::size_t index;
    {
      std::lock_guard lock(mutex_);
      if (interrupted_) return false;
      waits_.push_back(d);
      index = waits_.size();
      hook = hook_;
    }
    if (hook) hook(index);
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, std::min<std::chrono::milliseconds>(d, 20ms), [&] { return interrupted_; });
    return !interrupted_;
  }
  void interrupt() override {
    std::lock_guard lock(mutex_);
    interrupted_ = true;
    cv_.notify_all();
  }
  bool interrupted() const override {
    std::lock_guard lock(mutex_);
    return interrupted_;
  }
  std::vector<std::chrono::milliseconds> waits() const {
    std::lock_guard lock(mutex_);
    return waits_;
  }
  void setHook(std::function<void(std::size_t)> hook) {
    std::lock_guard lock(mutex_);
    hook_ = std::move(hook);
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool interrupted_ = false;
  std::vector<std::chrono::milliseconds> waits_;
  std::function<void(std::size_t)> hook_;
};

// Collects DemandUpdates from the source's threads.
class UpdateSink {
 public:
  void operator()(const DemandUpdate& u) {
    std::lock_guard lock(mutex_);
    updates_.push_back(u);
    cv_.notify_all();
  }
  // Waits until `pred` holds over the updates so far (false after 20 s).
  bool waitFor(const std::function<bool(const std::vector<DemandUpdate>&)>& pred) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, 20s, [&] { return pred(updates_); });
  }
  std::vector<DemandUpdate> messages() const {
    std::lock_guard lock(mutex_);
    std::vector<DemandUpdate> out;
    for (const auto& u : updates_) {
      if (u.origin == DemandUpdate::Origin::kMessage) out.push_back(u);
    }
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<DemandUpdate> updates_;
};

std::size_t messageCount(const std::vector<DemandUpdate>& v) {
  std::size_t n = 0;
  for (const auto& u : v) n += u.origin == DemandUpdate::Origin::kMessage;
  return n;
}

bool hasSession(const std::vector<DemandUpdate>& v) {
  for (const auto& u : v) {
    if (u.origin == DemandUpdate::Origin::kSession) return true;
  }
  return false;
}

std::string jobJson(const std::string& type, int request_id, const std::string& extra = "") {
  return R"({"messageType":")" + type + R"(","runnerRequestId":)" + std::to_string(request_id) +
         R"(,"jobId":"job-)" + std::to_string(request_id) +
         R"(","repositoryName":"infra","ownerName":"acme",)"
         R"("jobWorkflowRef":"acme/infra/.github/workflows/plan.yml@refs/heads/main")" +
         extra + "}";
}

std::string stats(int available, int assigned, int running) {
  return R"({"totalAvailableJobs":)" + std::to_string(available) + R"(,"totalAssignedJobs":)" +
         std::to_string(assigned) + R"(,"totalRunningJobs":)" + std::to_string(running) + "}";
}

class ScaleSetIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override { startFake({}); }

  void startFake(std::vector<std::string> args) {
    auto module = host::loadOutboundHttpModule(APPLIANCE_OUTBOUND_HTTP_MODULE);
    ASSERT_TRUE(module) << module.status().message();
    module_ = module.value();
    metrics_ = module_->make_metrics(registry_);
    control_http_ = makeClient("fake-control");
    api_http_ = makeClient("github-scaleset");
    poll_http_ = makeClient("github-scaleset-poll");
    fake_ = std::make_unique<FakeActionsService>(control_http_, std::move(args));
    ASSERT_TRUE(fake_->running()) << "the fake Actions service did not start";
    fake_->control("settings", R"({"hold": 1.0})");
  }

  std::shared_ptr<HttpClient> makeClient(const std::string& name) {
    HttpClientOptions o;
    o.name = name;
    auto c = module_->make_client(o, metrics_, "appliance/test");
    EXPECT_TRUE(c) << c.status().message();
    return c.value();
  }

  ActionsClientOptions patOptions() {
    ActionsClientOptions o;
    o.config_url = "https://github.com/acme";
    o.api_base = fake_->base();
    o.auth.pat = "ghp_fakepat";
    o.call_timeout = 10s;
    o.poll_timeout = 60s;
    return o;
  }

  std::unique_ptr<ActionsClient> makeActions(ActionsClientOptions o) {
    EXPECT_TRUE(validate(o));
    return std::make_unique<ActionsClient>(std::move(o), api_http_, poll_http_, clock_, sleeper_,
                                           logger_);
  }

  std::unique_ptr<ScaleSetDemandSource> makeSource(ActionsClient& client, PoolSpec pool,
                                                   SourceOptions options = {}) {
    if (options.owner_name.empty()) options.owner_name = "scaler-0";
    return std::make_unique<ScaleSetDemandSource>(
        client, poll_http_, std::vector<PoolSpec>{std::move(pool)}, options,
        [this](const DemandUpdate& u) { sink_(u); }, sleeper_, logger_);
  }

  static PoolSpec seedPool() {
    PoolSpec p;
    p.pool = "seed";
    p.scale_set_name = "seed-linux";
    p.runner_group = "Spot & Friends";
    p.labels = {"self-hosted", "linux", "terraform", "kubernetes"};
    p.max_runners = 7;
    return p;
  }

  std::int64_t waitForSession(ScaleSetDemandSource& source) {
    EXPECT_TRUE(sink_.waitFor(hasSession)) << "no session opened";
    auto st = source.status("seed");
    return st ? st->scale_set_id : 0;
  }

  void TearDown() override {
    if (!fake_ || !fake_->running()) return;
    // No token, registration token or JIT config the fake handed out may appear in a log.
    auto secrets = fake_->state()->getArray("secrets");
    ASSERT_TRUE(secrets);
    for (std::size_t i = 0; i < secrets->size(); ++i) {
      std::string s = secrets->getElement<std::string>(i);
      EXPECT_FALSE(logger_.contains(s)) << "a secret reached the log";
    }
    EXPECT_FALSE(logger_.contains("ghp_fakepat"));
  }

  prometheus::Registry registry_;
  const host::OutboundHttpModule* module_ = nullptr;
  std::shared_ptr<host::OutboundHttpMetrics> metrics_;
  std::shared_ptr<HttpClient> control_http_, api_http_, poll_http_;
  std::unique_ptr<FakeActionsService> fake_;
  OffsetClock clock_;
  RecordingSleeper sleeper_;
  appliance::testing::CapturingLogger logger_;
  UpdateSink sink_;
};

TEST_F(ScaleSetIntegrationTest, HandshakeCreatesThenAdoptsTheScaleSetAndHoldsOneSession) {
  auto client = makeActions(patOptions());
  ASSERT_TRUE(client->ensureConnected());
  EXPECT_EQ(client->tokenExchanges(), 1u);
  auto group = client->runnerGroupByName("Spot & Friends");  // percent-encoded in the query
  ASSERT_TRUE(group) << group.status().message();
  EXPECT_EQ(group->id, 2);
  EXPECT_FALSE(client->runnerGroupByName("nope"));
  EXPECT_EQ(client->runnerGroupByName("default")->id, 1);

  ScaleSet wanted;
  wanted.name = "seed linux+1";
  wanted.runner_group_id = 2;
  wanted.labels = {"self-hosted", "linux"};
  auto created = client->createOrAdoptScaleSet(wanted);
  ASSERT_TRUE(created) << created.status().message();
  auto adopted = client->createOrAdoptScaleSet(wanted);
  ASSERT_TRUE(adopted) << adopted.status().message();
  EXPECT_EQ(adopted->id, created->id);
  EXPECT_EQ(adopted->labels, (std::vector<std::string>{"self-hosted", "linux"}));
  EXPECT_EQ(fake_->state()->getArray("scaleSets")->size(), 1u);

  auto session = client->createSession(created->id, "scaler-0");
  ASSERT_TRUE(session) << session.status().message();
  auto second = client->createSession(created->id, "scaler-1");
  ASSERT_FALSE(second);
  EXPECT_EQ(second.status().code(), StatusCode::kConflict);
  EXPECT_NE(second.status().message().find("session conflict"), std::string::npos);
  ASSERT_TRUE(client->deleteSession(created->id, session->session_id));
  EXPECT_TRUE(client->createSession(created->id, "scaler-1"));
  EXPECT_EQ(client->tokenExchanges(), 1u);  // the admin token was reused throughout
}

TEST_F(ScaleSetIntegrationTest, JobLifecycleIsDeliveredWithStatisticsAckedInOrder) {
  auto client = makeActions(patOptions());
  auto source = makeSource(*client, seedPool());
  ASSERT_TRUE(source->start());
  std::int64_t id = waitForSession(*source);
  ASSERT_GT(id, 0);
  std::string sid = std::to_string(id);
  auto enqueue = [&](const std::string& job, const std::string& statistics) {
    return fake_
        ->control("enqueue", R"({"scaleSetId":)" + sid + R"(,"jobs":[)" + job +
                                 R"(],"statistics":)" + statistics + "}")
        ->getValue<int>("messageId");
  };
  int m1 = enqueue(jobJson("JobAvailable", 41, R"(,"acquireJobUrl":"x")"), stats(1, 0, 0));
  ASSERT_TRUE(sink_.waitFor([](auto& v) { return messageCount(v) >= 1; }));
  int m2 = enqueue(jobJson("JobAssigned", 41), stats(0, 1, 0));
  ASSERT_TRUE(sink_.waitFor([](auto& v) { return messageCount(v) >= 2; }));
  source->setMaxCapacity("seed", 3);
  int m3 = enqueue(jobJson("JobStarted", 41, R"(,"runnerId":100,"runnerName":"seed-r1")"),
                   stats(0, 1, 1));
  ASSERT_TRUE(sink_.waitFor([](auto& v) { return messageCount(v) >= 3; }));
  int m4 = enqueue(
      jobJson("JobCompleted", 41, R"(,"result":"success","runnerId":100,"runnerName":"seed-r1")"),
      stats(0, 0, 0));
  ASSERT_TRUE(sink_.waitFor([](auto& v) { return messageCount(v) >= 4; }));

  auto msgs = sink_.messages();
  ASSERT_EQ(msgs.size(), 4u);
  EXPECT_EQ(msgs[0].jobs.at(0).type, JobEventType::kAvailable);
  EXPECT_EQ(msgs[0].acquired, std::vector<std::int64_t>{41});
  EXPECT_EQ(msgs[0].statistics.total_available_jobs, 1);
  EXPECT_EQ(msgs[1].jobs.at(0).type, JobEventType::kAssigned);
  EXPECT_EQ(msgs[1].statistics.total_assigned_jobs, 1);
  EXPECT_EQ(msgs[2].jobs.at(0).runner_name, "seed-r1");
  EXPECT_EQ(msgs[2].statistics.total_running_jobs, 1);
  EXPECT_EQ(msgs[3].jobs.at(0).result, "success");
  EXPECT_EQ(msgs[3].statistics.total_assigned_jobs, 0);
  EXPECT_EQ(msgs[3].message_id, m4);

  // Wait for the last ack, then check the order of acks and each poll's lastMessageId.
  for (int i = 0; i < 200 && fake_->state()->getArray("acks")->size() < 4; ++i) {
    std::this_thread::sleep_for(20ms);
  }
  auto state = fake_->state();
  auto acks = state->getArray("acks");
  ASSERT_EQ(acks->size(), 4u);
  int expected_ids[] = {m1, m2, m3, m4};
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(acks->getArray(i)->getElement<int>(1), expected_ids[i]);
  }
  auto acquired = state->getArray("acquired");
  ASSERT_EQ(acquired->size(), 1u);
  EXPECT_EQ(acquired->getElement<int>(0), 41);
  // A poll that returned message n came with lastMessageId = the message before it.
  auto polls = state->getArray("polls");
  std::map<int, int> last_for_message;
  bool saw_capacity_3 = false;
  for (std::size_t i = 0; i < polls->size(); ++i) {
    auto p = polls->getObject(i);
    if (p->has("messageId")) {
      last_for_message[p->getValue<int>("messageId")] = p->getValue<int>("lastMessageId");
    }
    saw_capacity_3 |= p->getValue<std::string>("maxCapacity") == "3";
  }
  EXPECT_EQ(polls->getObject(0)->getValue<std::string>("maxCapacity"), "7");
  EXPECT_TRUE(saw_capacity_3);
  EXPECT_EQ(last_for_message[m2], m1);
  EXPECT_EQ(last_for_message[m3], m2);
  EXPECT_EQ(last_for_message[m4], m3);

  auto jit = source->generateJitConfig("seed", "seed-r2");
  ASSERT_TRUE(jit) << jit.status().message();
  EXPECT_FALSE(jit->encoded_jit_config.empty());
  EXPECT_EQ(jit->runner.runner_scale_set_id, id);
  EXPECT_FALSE(logger_.contains(jit->encoded_jit_config));
  source->stop();
}

TEST_F(ScaleSetIntegrationTest, StopDeletesTheSessionAndBreaksTheLongPoll) {
  fake_->control("settings", R"({"hold": 40.0})");
  auto client = makeActions(patOptions());
  auto source = makeSource(*client, seedPool());
  ASSERT_TRUE(source->start());
  std::int64_t id = waitForSession(*source);
  // Wait until the poll is parked in the fake.
  for (int i = 0; i < 200 && fake_->state()->getArray("polls")->size() < 1; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  auto before = std::chrono::steady_clock::now();
  source->stop();
  auto took = std::chrono::steady_clock::now() - before;
  // Behaviour, not performance: stop() did not wait out the 40 s hold.
  EXPECT_LT(took, 20s);
  auto state = fake_->state();
  EXPECT_EQ(state->getArray("deletedSessions")->size(), 1u);
  EXPECT_FALSE(state->getObject("sessions")->has(std::to_string(id)));
  EXPECT_TRUE(logger_.contains("deleted message session"));
}

TEST_F(ScaleSetIntegrationTest, ExpiredQueueTokenRefreshesTheSessionAndAdminTokenIsReexchanged) {
  auto client = makeActions(patOptions());
  auto source = makeSource(*client, seedPool());
  ASSERT_TRUE(source->start());
  std::string sid = std::to_string(waitForSession(*source));
  // Admin first: expiring the queue token wakes the parked poll, whose PATCH must then meet
  // the expired admin token (the other order raced the two control calls).
  fake_->control("expire", R"({"what":"admin"})");
  fake_->control("expire", R"({"what":"queue"})");
  std::string patch = "PATCH /tenant/_apis/runtime/runnerscalesets/{n}/sessions/{s}";
  for (int i = 0; i < 500 && !fake_->state()->getObject("calls")->has(patch); ++i) {
    std::this_thread::sleep_for(20ms);  // the poll in flight ends within the 1 s hold
  }
  fake_->control("enqueue", R"({"scaleSetId":)" + sid + R"(,"jobs":[)" + jobJson("JobAssigned", 5) +
                                R"(],"statistics":)" + stats(0, 1, 0) + "}");
  ASSERT_TRUE(sink_.waitFor([](auto& v) { return messageCount(v) >= 1; }));
  auto calls = fake_->state()->getObject("calls");
  ASSERT_TRUE(calls->has(patch));
  EXPECT_GE(calls->getValue<int>(patch), 1);
  EXPECT_GE(client->tokenExchanges(), 2u);  // the PATCH met a 401 admin token first
  EXPECT_EQ(sink_.messages().at(0).statistics.total_assigned_jobs, 1);
  source->stop();
}

TEST_F(ScaleSetIntegrationTest, AdminTokenIsRefreshedAMinuteBeforeItsExpiry) {
  auto client = makeActions(patOptions());
  ASSERT_TRUE(client->ensureConnected());
  clock_.offset = std::chrono::minutes(58);  // the fake's admin token lives 60 min
  ASSERT_TRUE(client->ensureConnected());
  EXPECT_EQ(client->tokenExchanges(), 1u);
  clock_.offset = std::chrono::seconds(59 * 60 + 5);
  ASSERT_TRUE(client->ensureConnected());
  EXPECT_EQ(client->tokenExchanges(), 2u);
}

TEST_F(ScaleSetIntegrationTest, SessionConflictAfterACrashIsWaitedOutWithBackoff) {
  // A crashed listener left its session behind; the service frees it only later.
  auto client = makeActions(patOptions());
  ASSERT_TRUE(client->ensureConnected());
  ScaleSet wanted;
  wanted.name = "seed-linux";
  wanted.runner_group_id = 2;
  auto set = client->createOrAdoptScaleSet(wanted);
  ASSERT_TRUE(set);
  fake_->control("session",
                 R"({"scaleSetId":)" + std::to_string(set->id) + R"(,"ownerName":"crashed"})");
  constexpr std::size_t kFreedAtWait = 14;  // 5+10+20+30*11 = 365 s of waiting
  sleeper_.setHook([&](std::size_t n) {
    if (n == kFreedAtWait) {
      fake_->control("drop_sessions", R"({"scaleSetId":)" + std::to_string(set->id) + "}");
    }
  });
  SourceOptions options;
  options.conflict_patience = 5min;
  auto source = makeSource(*client, seedPool(), options);
  ASSERT_TRUE(source->start());
  ASSERT_TRUE(sink_.waitFor(hasSession));
  auto status = source->status("seed");
  ASSERT_TRUE(status);
  EXPECT_EQ(status->conflict_retries, kFreedAtWait);
  auto waits = sleeper_.waits();
  ASSERT_EQ(waits.size(), kFreedAtWait);
  EXPECT_EQ(waits[0], 5s);
  EXPECT_EQ(waits[1], 10s);
  EXPECT_EQ(waits[2], 20s);
  for (std::size_t i = 3; i < waits.size(); ++i) EXPECT_EQ(waits[i], 30s) << i;
  // One create per wait plus the one that succeeded: no hot loop.
  auto creates = fake_->state()->getArray("sessionCreates");
  ASSERT_EQ(creates->size(), kFreedAtWait + 1);
  EXPECT_EQ(creates->getArray(kFreedAtWait)->getElement<int>(1), 200);
  EXPECT_TRUE(logger_.contains("still waiting"));  // past patience: said once, kept going
  source->stop();
}

TEST_F(ScaleSetIntegrationTest, StopWhileWaitingOutAConflictLeavesTheOtherSessionAlone) {
  auto client = makeActions(patOptions());
  ASSERT_TRUE(client->ensureConnected());
  ScaleSet wanted;
  wanted.name = "seed-linux";
  wanted.runner_group_id = 2;
  auto set = client->createOrAdoptScaleSet(wanted);
  ASSERT_TRUE(set);
  auto other = fake_->control(
      "session", R"({"scaleSetId":)" + std::to_string(set->id) + R"(,"ownerName":"other"})");
  std::string other_id = other->getValue<std::string>("sessionId");
  auto source = makeSource(*client, seedPool());
  ASSERT_TRUE(source->start());
  for (int i = 0; i < 500 && source->status("seed")->conflict_retries < 2; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_GE(source->status("seed")->conflict_retries, 2u);
  EXPECT_NE(source->status("seed")->last_error.find("session conflict"), std::string::npos);
  source->stop();
  auto state = fake_->state();
  EXPECT_EQ(state->getArray("deletedSessions")->size(), 0u);
  EXPECT_EQ(
      state->getObject("sessions")->getObject(std::to_string(set->id))->getValue<std::string>("id"),
      other_id);
}

TEST_F(ScaleSetIntegrationTest, ALostSessionIsReplacedAndPollingGoesOn) {
  auto client = makeActions(patOptions());
  auto source = makeSource(*client, seedPool());
  ASSERT_TRUE(source->start());
  std::string sid = std::to_string(waitForSession(*source));
  fake_->control("drop_sessions", R"({"scaleSetId":)" + sid + "}");  // the service forgot it
  ASSERT_TRUE(sink_.waitFor([](const std::vector<DemandUpdate>& v) {
    int sessions = 0;
    for (const auto& u : v) sessions += u.origin == DemandUpdate::Origin::kSession;
    return sessions >= 2;
  }));
  fake_->control("enqueue", R"({"scaleSetId":)" + sid + R"(,"jobs":[)" + jobJson("JobAssigned", 3) +
                                R"(],"statistics":)" + stats(0, 1, 0) + "}");
  ASSERT_TRUE(sink_.waitFor([](auto& v) { return messageCount(v) >= 1; }));
  EXPECT_TRUE(logger_.contains("message session lost"));
  source->stop();
}

TEST_F(ScaleSetIntegrationTest, EachPoolHasItsOwnScaleSetAndSession) {
  auto client = makeActions(patOptions());
  PoolSpec dev = seedPool();
  dev.pool = "dev";
  dev.scale_set_name = "seed-dev";
  dev.max_runners = 3;
  PoolSpec prod = seedPool();
  prod.pool = "prod";
  prod.scale_set_name = "seed-prod";
  prod.runner_group = "default";
  prod.max_runners = 10;
  SourceOptions options;
  options.owner_name = "scaler-0";
  ScaleSetDemandSource source(
      *client, poll_http_, {dev, prod}, options, [this](const DemandUpdate& u) { sink_(u); },
      sleeper_, logger_);
  ASSERT_TRUE(source.start());
  ASSERT_TRUE(sink_.waitFor([](const std::vector<DemandUpdate>& v) {
    std::set<std::string> pools;
    for (const auto& u : v) pools.insert(u.pool);
    return pools.size() == 2;
  }));
  auto d = source.status("dev");
  auto p = source.status("prod");
  ASSERT_TRUE(d && p);
  EXPECT_NE(d->scale_set_id, p->scale_set_id);
  EXPECT_FALSE(source.status("nope"));
  EXPECT_EQ(source.generateJitConfig("nope", "x").status().code(), StatusCode::kNotFound);
  auto state = fake_->state();
  EXPECT_EQ(state->getObject("sessions")->size(), 2u);
  auto sets = state->getArray("scaleSets");
  for (std::size_t i = 0; i < sets->size(); ++i) {
    auto set = sets->getObject(i);
    EXPECT_EQ(set->getValue<int>("runnerGroupId"),
              set->getValue<std::string>("name") == "seed-dev" ? 2 : 1);
  }
  source.stop();
  EXPECT_EQ(fake_->state()->getArray("deletedSessions")->size(), 2u);
}

TEST_F(ScaleSetIntegrationTest, EmptyTwoHundredsAndBomPrefixedBodiesAreHandled) {
  auto empties = [&] {
    auto polls = fake_->state()->getArray("polls");
    int n = 0;
    for (std::size_t i = 0; i < polls->size(); ++i) {
      auto p = polls->getObject(i);
      n += p->has("status") && p->get("status").toString() == "empty200";
    }
    return n;
  };
  fake_->control("empty200", R"({"count":2})");  // the first two polls get an empty 200
  auto client = makeActions(patOptions());
  auto source = makeSource(*client, seedPool());
  ASSERT_TRUE(source->start());
  std::string sid = std::to_string(waitForSession(*source));
  for (int i = 0; i < 500 && empties() < 2; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(empties(), 2);
  fake_->control("enqueue", R"({"scaleSetId":)" + sid + R"(,"bom":true,"jobs":[)" +
                                jobJson("JobAssigned", 9) + R"(],"statistics":)" + stats(0, 2, 1) +
                                "}");
  ASSERT_TRUE(sink_.waitFor([](auto& v) { return messageCount(v) >= 1; }));
  auto m = sink_.messages().at(0);
  EXPECT_EQ(m.statistics.total_assigned_jobs, 2);
  EXPECT_EQ(m.jobs.at(0).runner_request_id, 9);
  EXPECT_TRUE(logger_.contains("empty body"));
  EXPECT_EQ(source->status("seed")->last_error, "");  // recovered
  source->stop();
}

TEST_F(ScaleSetIntegrationTest, JitConfigNamesAreReclaimedInTheSetAndBusyRunnersKept) {
  auto client = makeActions(patOptions());
  ASSERT_TRUE(client->ensureConnected());
  ScaleSet wanted;
  wanted.name = "seed-linux";
  wanted.runner_group_id = 1;
  auto set = client->createOrAdoptScaleSet(wanted);
  ASSERT_TRUE(set);
  auto first = client->generateJitConfig(set->id, "seed-r1", "_work");
  ASSERT_TRUE(first) << first.status().message();
  // Same name again (a replayed request): AgentExists → the stale record goes, a new one comes.
  auto second = client->generateJitConfig(set->id, "seed-r1", "_work");
  ASSERT_TRUE(second) << second.status().message();
  EXPECT_NE(second->runner.id, first->runner.id);
  // A busy runner is not removed (JobStillRunningException) and blocks reuse of its name.
  fake_->control("runner", R"({"id":)" + std::to_string(second->runner.id) + R"(,"busy":true})");
  auto busy = client->removeRunner(second->runner.id);
  ASSERT_FALSE(busy);
  EXPECT_EQ(busy.code(), StatusCode::kConflict);
  EXPECT_NE(busy.message().find("busy"), std::string::npos);
  EXPECT_FALSE(client->generateJitConfig(set->id, "seed-r1", "_work"));
  fake_->control("runner", R"({"id":)" + std::to_string(second->runner.id) + R"(,"busy":false})");
  EXPECT_TRUE(client->removeRunner(second->runner.id));
  EXPECT_TRUE(client->removeRunner(second->runner.id));  // already gone is fine
  // A name held in another scale set is a precise conflict, nothing removed.
  ScaleSet other = wanted;
  other.name = "other";
  auto other_set = client->createOrAdoptScaleSet(other);
  ASSERT_TRUE(other_set);
  ASSERT_TRUE(client->generateJitConfig(other_set->id, "shared-name", ""));
  auto clash = client->generateJitConfig(set->id, "shared-name", "");
  ASSERT_FALSE(clash);
  EXPECT_NE(clash.status().message().find("outside scale set"), std::string::npos);
  EXPECT_FALSE(logger_.contains(first->encoded_jit_config));
}

TEST_F(ScaleSetIntegrationTest, ServerErrorsAreRetriedWithBackoff) {
  auto client = makeActions(patOptions());
  fake_->control("fail", R"({"path":"/runnergroups/","status":503,"count":2})");
  auto group = client->runnerGroupByName("Spot & Friends");
  ASSERT_TRUE(group) << group.status().message();
  auto waits = sleeper_.waits();
  ASSERT_EQ(waits.size(), 2u);
  EXPECT_EQ(waits[0], 1s);
  EXPECT_EQ(waits[1], 2s);
  fake_->control("fail", R"({"path":"/runnergroups/","status":403,"count":1})");
  auto forbidden = client->runnerGroupByName("Spot & Friends");
  EXPECT_FALSE(forbidden);
}

// Generates an RSA key pair; writes the public half for the fake to verify App JWTs.
std::string makeRsaKey(const std::filesystem::path& public_pem) {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  BIO* priv = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(priv, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(priv, &data);
  std::string pem(data, static_cast<std::size_t>(n));
  FILE* f = std::fopen(public_pem.c_str(), "w");
  PEM_write_PUBKEY(f, key);
  std::fclose(f);
  BIO_free(priv);
  EVP_PKEY_free(key);
  return pem;
}

TEST_F(ScaleSetIntegrationTest, GitHubAppJwtBuysAnInstallationTokenThenTheChain) {
  auto dir =
      std::filesystem::temp_directory_path() / ("scaleset-app-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string pem = makeRsaKey(dir / "app.pub");
  std::string wrong_pem = makeRsaKey(dir / "other.pub");
  fake_.reset();
  startFake({"--app-public-key", (dir / "app.pub").string()});

  ActionsClientOptions o = patOptions();
  o.auth = {};
  o.auth.app_client_id = "Iv1.fake";
  o.auth.app_installation_id = 42;
  o.auth.app_private_key_pem = pem;
  auto client = makeActions(o);
  ASSERT_TRUE(client->ensureConnected());
  o.auth.app_private_key_pem = wrong_pem;
  auto impostor = makeActions(o);
  auto refused = impostor->ensureConnected();
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.message().find("401"), std::string::npos);
  auto checks = fake_->state()->getArray("jwtChecks");
  ASSERT_EQ(checks->size(), 2u);
  EXPECT_EQ(checks->getElement<std::string>(0), "ok");
  EXPECT_EQ(checks->getElement<std::string>(1), "bad signature");
  EXPECT_FALSE(logger_.contains("PRIVATE KEY"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace appliance::plugins::runner_scaler::scaleset
