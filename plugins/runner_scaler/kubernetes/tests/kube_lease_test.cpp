// KubernetesLeaseBackend against the fake API server, alone and under two LeaderElectors.
#include <condition_variable>
#include <map>
#include <regex>
#include <thread>

#include "appliance/leader_election.h"
#include "kube_lease_backend.h"
#include "kube_test_support.h"

namespace appliance::plugins::runner_scaler::kube {
namespace {

using namespace std::chrono_literals;

TEST_F(KubeFakeTest, TheLeaseBackendCreatesAndReplacesWithOptimisticConcurrency) {
  auto kube = client();
  ASSERT_TRUE(kube);
  KubernetesLeaseBackend backend(kube, "ci", "runner-scaler");
  EXPECT_EQ(backend.describe(), "kubernetes lease ci/runner-scaler");
  auto none = backend.read();
  ASSERT_TRUE(none) << none.status().message();
  EXPECT_FALSE(none.value().has_value());

  LeaseRecord mine{
      "scaler-0", toTimestamp(1'800'000'000, 250), toTimestamp(1'800'000'000, 250), 15, 0, {}};
  auto created = backend.write(mine, "");
  ASSERT_TRUE(created) << created.status().message();
  EXPECT_FALSE(created->version.empty());
  EXPECT_EQ(backend.write(mine, "").status().code(), StatusCode::kConflict);

  auto lease = kube->get(kLeases, "ci", "runner-scaler");
  ASSERT_TRUE(lease);
  const std::regex micro_time(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)");
  EXPECT_TRUE(std::regex_match(stringAt(lease.value(), {"spec", "renewTime"}), micro_time))
      << toJson(lease.value());
  EXPECT_EQ(stringAt(lease.value(), {"spec", "holderIdentity"}), "scaler-0");
  EXPECT_EQ(intAt(lease.value(), {"spec", "leaseDurationSeconds"}).value_or(0), 15);

  // Someone labels the Lease meanwhile: a renewal over the old version is refused, and one
  // over the new version keeps the label.
  auto label = parseObject(R"({"metadata":{"labels":{"team":"ci"}}})", "p");
  ASSERT_TRUE(kube->mergePatch(kLeases, "ci", "runner-scaler", label.value()));
  mine.renewed_at += 5'000'000;
  auto stale = backend.write(mine, created->version);
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.status().code(), StatusCode::kConflict);
  auto current = backend.read();
  ASSERT_TRUE(current && current.value());
  EXPECT_EQ(current.value()->renewed_at, created->renewed_at);
  auto renewed = backend.write(mine, current.value()->version);
  ASSERT_TRUE(renewed) << renewed.status().message();
  EXPECT_EQ(
      stringAt(kube->get(kLeases, "ci", "runner-scaler").value(), {"metadata", "labels", "team"}),
      "ci");
  ASSERT_TRUE(kube->remove(kLeases, "ci", "runner-scaler"));
  EXPECT_EQ(backend.write(mine, renewed->version).status().code(), StatusCode::kConflict);
}

class TwoCandidates : public KubeFakeTest {
 protected:
  void SetUp() override {
    KubeFakeTest::SetUp();
    if (HasFatalFailure()) return;
    kube_ = client();
    ASSERT_TRUE(kube_);
    a_.runtime_info.instance_id = "scaler-a";
    b_.runtime_info.instance_id = "scaler-b";
    a_elector_ = start(a_);
    b_elector_ = start(b_);
    ASSERT_TRUE(a_elector_ && b_elector_);
  }
  std::shared_ptr<LeaderElector> start(testing::FakeContext& ctx) {
    LeaderElectionOptions options;
    options.name = "scaler-leader";
    auto backend = std::make_shared<KubernetesLeaseBackend>(kube_, "ci", "runner-scaler");
    auto elector = LeaderElector::start(ctx, backend, options);
    EXPECT_TRUE(elector) << elector.status().message();
    return elector ? elector.value() : nullptr;
  }
  void advance(std::chrono::seconds by) {  // both replicas' clocks agree
    a_.manual_clock.advance(by);
    b_.manual_clock.advance(by);
  }
  int leaders() const { return int(a_elector_->isLeader()) + int(b_elector_->isLeader()); }
  std::string holder() {
    return stringAt(kube_->get(kLeases, "ci", "runner-scaler").value(), {"spec", "holderIdentity"});
  }

  std::shared_ptr<KubeClient> kube_;
  testing::FakeContext a_{"runner_scaler"};
  testing::FakeContext b_{"runner_scaler"};
  std::shared_ptr<LeaderElector> a_elector_;
  std::shared_ptr<LeaderElector> b_elector_;
};

TEST_F(TwoCandidates, ExactlyOneLeadsAndTheOtherTakesOverAfterTheLeaseExpires) {
  a_elector_->tick();
  b_elector_->tick();
  EXPECT_TRUE(a_elector_->isLeader());
  EXPECT_FALSE(b_elector_->isLeader());
  EXPECT_EQ(b_elector_->holder(), "scaler-a");
  EXPECT_EQ(holder(), "scaler-a");
  for (int i = 0; i < 3; ++i) {  // renewals every 5 s keep it
    advance(5s);
    a_elector_->tick();
    b_elector_->tick();
    EXPECT_EQ(leaders(), 1);
    EXPECT_TRUE(a_elector_->isLeader());
  }
  // scaler-a stalls (no renewals): 16 s later its lease has expired.
  advance(16s);
  EXPECT_FALSE(a_elector_->isLeader());
  b_elector_->tick();
  EXPECT_TRUE(b_elector_->isLeader());
  a_elector_->tick();
  EXPECT_FALSE(a_elector_->isLeader());
  EXPECT_EQ(leaders(), 1);
  EXPECT_EQ(holder(), "scaler-b");
  EXPECT_EQ(intAt(kube_->get(kLeases, "ci", "runner-scaler").value(), {"spec", "leaseTransitions"})
                .value_or(-1),
            1);
}

TEST_F(TwoCandidates, AReleasedLeaseIsTakenOverAtOnce) {
  a_elector_->tick();
  b_elector_->tick();
  ASSERT_TRUE(a_elector_->isLeader());
  a_elector_->stop();  // graceful shutdown releases the Lease
  EXPECT_FALSE(a_elector_->isLeader());
  EXPECT_EQ(holder(), "");
  b_elector_->tick();  // no clock change: no waiting for lease_duration
  EXPECT_TRUE(b_elector_->isLeader());
  EXPECT_EQ(holder(), "scaler-b");
}

TEST_F(TwoCandidates, ConcurrentCandidatesNeverBothLead) {
  std::atomic<int> both{0};
  auto run = [&](LeaderElector& elector) {
    for (int i = 0; i < 30; ++i) {
      elector.tick();
      if (a_elector_->isLeader() && b_elector_->isLeader()) ++both;
    }
  };
  std::thread ta([&] { run(*a_elector_); });
  std::thread tb([&] { run(*b_elector_); });
  ta.join();
  tb.join();
  EXPECT_EQ(both.load(), 0);
  EXPECT_EQ(leaders(), 1);
  const std::string logs = allLogText();
  for (const auto& line : a_.log.lines()) EXPECT_EQ(line.message.find("token"), std::string::npos);
  EXPECT_EQ(logs.find(server_.token()), std::string::npos);
}

}  // namespace
}  // namespace appliance::plugins::runner_scaler::kube

namespace appliance::plugins::runner_scaler::kube {
namespace {

// Real time: a Scheduler that runs each timer on its own thread and the system clock, as the
// host's do, so the elector's own timers drive the Lease.
class ThreadScheduler : public Scheduler {
 public:
  ~ThreadScheduler() override { cancelAll(); }
  TimerId every(std::string, std::chrono::milliseconds period,
                std::function<void()> callback) override {
    return add(period, true, std::move(callback));
  }
  TimerId after(std::string, std::chrono::milliseconds delay,
                std::function<void()> callback) override {
    return add(delay, false, std::move(callback));
  }
  void cancel(TimerId id) override {
    std::shared_ptr<Timer> timer;
    {
      std::lock_guard lock(mutex_);
      auto it = timers_.find(id);
      if (it == timers_.end()) return;
      timer = it->second;
      timers_.erase(it);
    }
    stopTimer(*timer);
  }
  void cancelAll() {  // as if the process died: no release, no more renewals
    std::map<TimerId, std::shared_ptr<Timer>> timers;
    {
      std::lock_guard lock(mutex_);
      timers.swap(timers_);
    }
    for (auto& [id, timer] : timers) stopTimer(*timer);
  }

 private:
  struct Timer {
    std::mutex mutex;
    std::condition_variable wake;
    bool cancelled = false;
    std::thread thread;
  };
  TimerId add(std::chrono::milliseconds period, bool repeating, std::function<void()> callback) {
    auto timer = std::make_shared<Timer>();
    timer->thread = std::thread([t = timer.get(), period, repeating, cb = std::move(callback)] {
      do {
        std::unique_lock lock(t->mutex);
        if (t->wake.wait_for(lock, period, [t] { return t->cancelled; })) return;
        lock.unlock();
        cb();
      } while (repeating);
    });
    std::lock_guard lock(mutex_);
    timers_[next_] = timer;
    return next_++;
  }
  static void stopTimer(Timer& timer) {
    {
      std::lock_guard lock(timer.mutex);
      timer.cancelled = true;
    }
    timer.wake.notify_all();
    if (timer.thread.joinable() && timer.thread.get_id() != std::this_thread::get_id()) {
      timer.thread.join();
    } else if (timer.thread.joinable()) {
      timer.thread.detach();
    }
  }
  std::mutex mutex_;
  std::map<TimerId, std::shared_ptr<Timer>> timers_;
  TimerId next_ = 1;
};

class SystemClock : public Clock {
 public:
  std::chrono::system_clock::time_point now() const override {
    return std::chrono::system_clock::now();
  }
  std::chrono::steady_clock::time_point steadyNow() const override {
    return std::chrono::steady_clock::now();
  }
};

class LiveContext : public testing::FakeContext {
 public:
  explicit LiveContext(std::string identity) : FakeContext("runner_scaler") {
    runtime_info.instance_id = std::move(identity);
  }
  Scheduler& scheduler() override { return threads; }
  const Clock& clock() const override { return system_clock; }
  ThreadScheduler threads;
  SystemClock system_clock;
};

TEST_F(KubeFakeTest, ElectorsOnRealTimersFailOverWhenTheLeaderDies) {
  auto kube = client();
  ASSERT_TRUE(kube);
  LiveContext a("scaler-a");
  LiveContext b("scaler-b");
  LeaderElectionOptions options;
  options.name = "scaler-leader";
  options.lease_duration = std::chrono::seconds(3);
  options.renew_period = std::chrono::seconds(1);
  auto backend = [&] { return std::make_shared<KubernetesLeaseBackend>(kube, "ci", "scaler"); };
  auto ea = LeaderElector::start(a, backend(), options);
  auto eb = LeaderElector::start(b, backend(), options);
  ASSERT_TRUE(ea && eb);
  auto leaders = [&] { return int(ea.value()->isLeader()) + int(eb.value()->isLeader()); };
  int both = 0;
  auto watchFor = [&](std::chrono::milliseconds how_long, const std::function<bool()>& done) {
    const auto until = std::chrono::steady_clock::now() + how_long;
    while (std::chrono::steady_clock::now() < until) {
      both += leaders() == 2;
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  };
  ASSERT_TRUE(watchFor(std::chrono::seconds(5), [&] { return leaders() == 1; }));
  watchFor(std::chrono::milliseconds(2500), [] { return false; });  // renewals hold it
  EXPECT_EQ(leaders(), 1);
  const bool a_led = ea.value()->isLeader();
  LiveContext& dead = a_led ? a : b;
  auto& survivor = a_led ? eb.value() : ea.value();
  dead.threads.cancelAll();  // the leader's process dies without releasing
  // The survivor takes over once the lease expired: 3 s after the last renewal, plus a tick.
  EXPECT_TRUE(watchFor(std::chrono::seconds(8), [&] { return survivor->isLeader(); }));
  EXPECT_EQ(both, 0);
  EXPECT_EQ(stringAt(kube->get(kLeases, "ci", "scaler").value(), {"spec", "holderIdentity"}),
            a_led ? "scaler-b" : "scaler-a");
  ea.value()->stop();
  eb.value()->stop();
  EXPECT_EQ(stringAt(kube->get(kLeases, "ci", "scaler").value(), {"spec", "holderIdentity"}), "");
}

}  // namespace
}  // namespace appliance::plugins::runner_scaler::kube
