// LeaderElector and KvLeaseBackend on FakeContexts (manual clocks, timers fired by hand)
// sharing one InMemoryKvStore, as two replicas share a database.
#include "appliance/leader_election.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "appliance/testing/fake_context.h"
#include "appliance/testing/in_memory_kv_store.h"

namespace appliance {
namespace {

using namespace std::chrono_literals;
using testing::FakeContext;
using testing::InMemoryKvStore;

constexpr const char* kNs = "scaler";
constexpr const char* kKey = "leader";

// One replica: its context (clock, scheduler, logger), its elector and what on_change said.
struct Candidate {
  Candidate(std::string id, std::shared_ptr<KvStore> store, std::chrono::seconds lease = 15s,
            std::chrono::seconds renew = 5s)
      : identity(std::move(id)) {
    LeaderElectionOptions options;
    options.name = "test-leader";
    options.identity = identity;
    options.lease_duration = lease;
    options.renew_period = renew;
    options.on_change = [this](bool leader) { changes.push_back(leader); };
    auto started = LeaderElector::start(
        context, std::make_shared<KvLeaseBackend>(std::move(store), kNs, kKey), options);
    EXPECT_TRUE(started.isOk()) << started.status().message();
    if (started.isOk()) elector = started.value();
  }

  std::string identity;
  FakeContext context{"scaler"};
  std::shared_ptr<LeaderElector> elector;
  std::vector<bool> changes;
};

// Several candidates whose clocks move together (replicas with synchronised clocks).
struct Cluster {
  void advance(std::chrono::microseconds by) {
    for (Candidate* c : members) c->context.manual_clock.advance(by);
  }
  std::vector<Candidate*> members;
};

std::optional<KvEntry> leaseRecord(KvStore& store) {
  auto got = store.get(kNs, kKey);
  EXPECT_TRUE(got.isOk()) << got.status().message();
  return got.isOk() ? got.value() : std::nullopt;
}

TEST(LeaderElection, FirstCandidateAcquiresOnTheFirstTimer) {
  auto store = std::make_shared<InMemoryKvStore>();
  Candidate a("a", store);
  EXPECT_FALSE(a.elector->isLeader());
  ASSERT_TRUE(a.context.timers.fire("test-leader-first"));
  EXPECT_TRUE(a.elector->isLeader());
  EXPECT_EQ(a.elector->holder(), "a");
  EXPECT_EQ(a.changes, std::vector<bool>{true});
  EXPECT_TRUE(a.context.log.contains("became leader"));
  auto record = leaseRecord(*store);
  ASSERT_TRUE(record.has_value());
  EXPECT_NE(record->value.find("a"), std::string::npos);
  // The renewal timer runs every renew_period.
  ASSERT_TRUE(a.context.timers.fire("test-leader"));
  EXPECT_TRUE(a.elector->isLeader());
  EXPECT_EQ(a.changes, std::vector<bool>{true});
}

TEST(LeaderElection, SecondCandidateStaysFollowerWhileTheFirstRenews) {
  auto store = std::make_shared<InMemoryKvStore>();
  Candidate a("a", store);
  Candidate b("b", store);
  Cluster cluster{{&a, &b}};
  a.elector->tick();
  for (int round = 0; round < 20; ++round) {
    b.elector->tick();
    EXPECT_FALSE(b.elector->isLeader()) << "round " << round;
    EXPECT_EQ(b.elector->holder(), "a");
    cluster.advance(5s);
    a.elector->tick();
    EXPECT_TRUE(a.elector->isLeader()) << "round " << round;
  }
  EXPECT_EQ(a.changes, std::vector<bool>{true});
  EXPECT_TRUE(b.changes.empty());
}

TEST(LeaderElection, TakeoverAfterLeaseDurationWithoutRenewal) {
  auto store = std::make_shared<InMemoryKvStore>();
  Candidate a("a", store);
  Candidate b("b", store);
  Cluster cluster{{&a, &b}};
  a.elector->tick();
  cluster.advance(10s);
  b.elector->tick();
  EXPECT_FALSE(b.elector->isLeader()) << "10 s after a's renewal the lease still holds";
  cluster.advance(6s);  // 16 s: past the 15 s lease
  b.elector->tick();
  EXPECT_TRUE(b.elector->isLeader());
  EXPECT_EQ(b.elector->holder(), "b");
  EXPECT_FALSE(a.elector->isLeader());
  a.elector->tick();  // a finds b holding it
  EXPECT_FALSE(a.elector->isLeader());
  EXPECT_EQ(a.elector->holder(), "b");
  EXPECT_EQ(a.changes, (std::vector<bool>{true, false}));
  EXPECT_EQ(b.changes, std::vector<bool>{true});
}

TEST(LeaderElection, IsLeaderTurnsFalseByItselfWhenRenewalsStop) {
  auto store = std::make_shared<InMemoryKvStore>();
  Candidate a("a", store);
  a.elector->tick();
  a.context.manual_clock.advance(14s);
  EXPECT_TRUE(a.elector->isLeader());
  a.context.manual_clock.advance(1s);  // exactly lease_duration after the renewal
  EXPECT_FALSE(a.elector->isLeader());
  a.context.manual_clock.advance(10s);
  EXPECT_FALSE(a.elector->isLeader());
}

TEST(LeaderElection, StopReleasesSoTheOtherTakesOverOnItsNextTick) {
  auto store = std::make_shared<InMemoryKvStore>();
  Candidate a("a", store);
  Candidate b("b", store);
  a.elector->tick();
  b.elector->tick();
  ASSERT_FALSE(b.elector->isLeader());
  a.elector->stop();
  EXPECT_FALSE(a.elector->isLeader());
  EXPECT_EQ(a.changes, (std::vector<bool>{true, false}));
  EXPECT_TRUE(a.context.timers.names().empty()) << "stop() cancels the timers";
  b.elector->tick();  // no clock advance: the released lease is free at once
  EXPECT_TRUE(b.elector->isLeader());
  EXPECT_EQ(b.changes, std::vector<bool>{true});
  a.elector->tick();  // a stopped elector does nothing
  EXPECT_FALSE(a.elector->isLeader());
  EXPECT_TRUE(b.elector->isLeader());
  EXPECT_EQ(a.changes, (std::vector<bool>{true, false}));
}

TEST(LeaderElection, StopOfAFollowerLeavesTheLeaseAlone) {
  auto store = std::make_shared<InMemoryKvStore>();
  Candidate a("a", store);
  Candidate b("b", store);
  a.elector->tick();
  b.elector->tick();
  const auto before = leaseRecord(*store);
  b.elector->stop();
  const auto after = leaseRecord(*store);
  ASSERT_TRUE(before && after);
  EXPECT_EQ(before->version, after->version);
  EXPECT_TRUE(b.changes.empty());
  a.elector->tick();
  EXPECT_TRUE(a.elector->isLeader());
}

TEST(LeaderElection, OnChangeIsCalledExactlyOnTransitions) {
  auto store = std::make_shared<InMemoryKvStore>();
  Candidate a("a", store);
  Candidate b("b", store);
  Cluster cluster{{&a, &b}};
  a.elector->tick();  // a: gain
  for (int i = 0; i < 3; ++i) {
    cluster.advance(5s);
    a.elector->tick();  // renewals: no call
    b.elector->tick();  // follower: no call
  }
  cluster.advance(16s);  // a stalls
  b.elector->tick();     // b: gain
  a.elector->tick();     // a: loss (lapsed, and b holds it)
  a.elector->tick();     // still follower: no call
  cluster.advance(5s);
  b.elector->tick();
  b.elector->stop();  // b: loss
  a.elector->tick();  // a: gain
  EXPECT_EQ(a.changes, (std::vector<bool>{true, false, true}));
  EXPECT_EQ(b.changes, (std::vector<bool>{true, false}));

  // A lapse is a loss even when nobody else took over: the late renewal is a new gain.
  cluster.advance(20s);
  EXPECT_FALSE(a.elector->isLeader());
  a.elector->tick();
  EXPECT_TRUE(a.elector->isLeader());
  EXPECT_EQ(a.changes, (std::vector<bool>{true, false, true, false, true}));
}

TEST(LeaderElection, BackendOutageKeepsLeadershipOnlyUntilTheLeaseWouldExpire) {
  auto store = std::make_shared<InMemoryKvStore>();
  Candidate a("a", store);
  a.elector->tick();
  ASSERT_TRUE(a.elector->isLeader());
  store->setUnavailable(true);
  a.context.manual_clock.advance(5s);
  a.elector->tick();
  EXPECT_TRUE(a.elector->isLeader()) << "5 s into the outage the last renewal still holds";
  a.context.manual_clock.advance(5s);
  a.elector->tick();
  EXPECT_TRUE(a.elector->isLeader());
  EXPECT_EQ(a.changes, std::vector<bool>{true});
  a.context.manual_clock.advance(5s);  // 15 s since the last successful renewal
  EXPECT_FALSE(a.elector->isLeader());
  a.elector->tick();
  EXPECT_FALSE(a.elector->isLeader());
  EXPECT_EQ(a.changes, (std::vector<bool>{true, false}));
  // The failure is logged once, not once per tick.
  int warnings = 0;
  for (const auto& line : a.context.log.lines()) {
    if (line.message.find("lease backend failed") != std::string::npos) ++warnings;
  }
  EXPECT_EQ(warnings, 1);

  store->setUnavailable(false);
  a.context.manual_clock.advance(5s);
  a.elector->tick();  // the record still names a: renewed
  EXPECT_TRUE(a.elector->isLeader());
  EXPECT_EQ(a.changes, (std::vector<bool>{true, false, true}));
  EXPECT_TRUE(a.context.log.contains("answers again"));
}

TEST(LeaderElection, OutageOfAFollowerNeverMakesItLeader) {
  auto store = std::make_shared<InMemoryKvStore>();
  Candidate a("a", store);
  Candidate b("b", store);
  Cluster cluster{{&a, &b}};
  a.elector->tick();
  b.elector->tick();
  store->setUnavailable(true);
  for (int i = 0; i < 5; ++i) {
    cluster.advance(5s);
    b.elector->tick();
    EXPECT_FALSE(b.elector->isLeader());
  }
  EXPECT_TRUE(b.changes.empty());
}

TEST(LeaderElection, StartValidatesItsOptions) {
  FakeContext context;
  auto store = std::make_shared<InMemoryKvStore>();
  auto backend = std::make_shared<KvLeaseBackend>(store, kNs, kKey);
  LeaderElectionOptions options;
  options.name = "x";
  options.lease_duration = 10s;
  options.renew_period = 10s;
  auto same = LeaderElector::start(context, backend, options);
  EXPECT_EQ(same.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(same.status().message().find("renew_period"), std::string::npos);
  options.renew_period = 0s;
  EXPECT_EQ(LeaderElector::start(context, backend, options).status().code(),
            StatusCode::kInvalidArgument);
  options.renew_period = 3s;
  options.name = "";
  EXPECT_EQ(LeaderElector::start(context, backend, options).status().code(),
            StatusCode::kInvalidArgument);
  options.name = "x";
  EXPECT_EQ(LeaderElector::start(context, nullptr, options).status().code(),
            StatusCode::kInvalidArgument);
  // The identity defaults to the runtime's instance id.
  auto started = LeaderElector::start(context, backend, options);
  ASSERT_TRUE(started.isOk()) << started.status().message();
  started.value()->tick();
  EXPECT_EQ(started.value()->holder(), context.runtime().instance_id);
  context.runtime_info.instance_id.clear();
  EXPECT_EQ(LeaderElector::start(context, backend, options).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(KvLeaseBackend, RecordsRoundTripWithAnyIdentity) {
  auto store = std::make_shared<InMemoryKvStore>();
  KvLeaseBackend backend(store, kNs, kKey);
  EXPECT_EQ(backend.describe(), "kv_store:scaler/leader");
  auto empty = backend.read();
  ASSERT_TRUE(empty.isOk());
  EXPECT_FALSE(empty.value().has_value());

  LeaseRecord record{"pod 7: \"x\" 12 34", 1'700'000'000'000'000, 1'700'000'005'000'000, 15, 3, {}};
  auto created = backend.write(record, "");
  ASSERT_TRUE(created.isOk()) << created.status().message();
  EXPECT_FALSE(created->version.empty());
  EXPECT_EQ(backend.write(record, "").status().code(), StatusCode::kConflict)
      << "creating over an existing record";
  auto read = backend.read();
  ASSERT_TRUE(read.isOk() && read.value().has_value());
  EXPECT_EQ(read.value()->holder, record.holder);
  EXPECT_EQ(read.value()->acquired_at, record.acquired_at);
  EXPECT_EQ(read.value()->renewed_at, record.renewed_at);
  EXPECT_EQ(read.value()->duration_seconds, 15);
  EXPECT_EQ(read.value()->transitions, 3u);
  EXPECT_EQ(read.value()->version, created->version);

  auto replaced = backend.write(record, created->version);
  ASSERT_TRUE(replaced.isOk()) << replaced.status().message();
  EXPECT_EQ(backend.write(record, created->version).status().code(), StatusCode::kConflict)
      << "a stale version";
  EXPECT_EQ(backend.write(record, "not-a-number").status().code(), StatusCode::kInvalidArgument);

  ASSERT_TRUE(store->put(kNs, kKey, "garbage").isOk());
  EXPECT_EQ(backend.read().status().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace appliance
