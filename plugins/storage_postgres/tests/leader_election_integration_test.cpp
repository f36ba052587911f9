// Two LeaderElectors, each on its own store (its own pool, as two replicas), sharing one
// PostgreSQL database through the kv_store: at no point do both lead. Their manual clocks
// move together (replicas with synchronised clocks); ticks run concurrently, and one candidate
// now and then stalls past the lease so that the other takes over.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "appliance/leader_election.h"
#include "pg_test_support.h"
#include "postgres_kv_store.h"

namespace appliance::plugins::storage_postgres {
namespace {

using namespace std::chrono_literals;

struct Replica {
  Replica(const std::string& url, std::string id) : store(url), identity(std::move(id)) {}

  bool start() {
    if (!store.started.isOk()) {
      ADD_FAILURE() << "store did not start: " << store.started.message();
      return false;
    }
    std::shared_ptr<PostgresTaskStore> tasks(std::shared_ptr<void>(), store.store.get());
    kv = std::make_shared<PostgresKvStore>(tasks, &store.context.manual_clock);
    LeaderElectionOptions options;
    options.name = "it-leader";
    options.identity = identity;
    options.lease_duration = 15s;
    options.renew_period = 5s;
    options.on_change = [this](bool leader) { changes.push_back(leader); };
    auto started = LeaderElector::start(
        store.context, std::make_shared<KvLeaseBackend>(kv, "it", "leader"), options);
    if (!started.isOk()) {
      ADD_FAILURE() << started.status().message();
      return false;
    }
    elector = started.value();
    return true;
  }

  testing::RunningStore store;
  std::string identity;
  std::shared_ptr<PostgresKvStore> kv;
  std::shared_ptr<LeaderElector> elector;
  std::vector<bool> changes;
};

TEST(LeaderElectionIntegration, ExactlyOneLeaderAtAnyTimeAcrossManyTicks) {
  testing::TestDatabase db;
  Replica a(db.url(), "replica-a");
  Replica b(db.url(), "replica-b");
  ASSERT_TRUE(a.start());
  ASSERT_TRUE(b.start());
  Replica* replicas[] = {&a, &b};
  auto advance = [&](std::chrono::seconds by) {
    for (Replica* r : replicas) r->store.context.manual_clock.advance(by);
  };
  auto leaders = [&] { return int(a.elector->isLeader()) + int(b.elector->isLeader()); };

  std::mt19937 random(20261203);
  int stalled = -1;      // the candidate that does not tick, or -1
  int stall_rounds = 0;  // rounds left in the stall
  int rounds_with_a_leader = 0;
  constexpr int kRounds = 240;
  for (int round = 0; round < kRounds; ++round) {
    if (stalled < 0 && random() % 25 == 0) {
      stalled = static_cast<int>(random() % 2);
      stall_rounds = 5 + static_cast<int>(random() % 4);  // 20-32 s: past the lease
    }
    std::vector<std::thread> ticks;
    for (int i = 0; i < 2; ++i) {
      if (i == stalled) continue;
      ticks.emplace_back([r = replicas[i]] { r->elector->tick(); });
    }
    for (std::thread& t : ticks) t.join();
    ASSERT_LE(leaders(), 1) << "round " << round << ": both lead";
    if (leaders() == 1) ++rounds_with_a_leader;
    advance(4s);
    ASSERT_LE(leaders(), 1) << "round " << round << " after the clock moved: both lead";
    if (stalled >= 0 && --stall_rounds == 0) stalled = -1;
  }
  // Leadership moved during the stalls, and a ticking candidate never went long leaderless.
  EXPECT_GE(a.changes.size() + b.changes.size(), 3u);
  EXPECT_GE(rounds_with_a_leader, kRounds / 2);

  // Graceful hand-over: the leader stops, the other takes over on its next tick.
  Replica* leader = a.elector->isLeader() ? &a : &b;
  Replica* other = leader == &a ? &b : &a;
  if (!leader->elector->isLeader()) {
    leader->elector->tick();
    other->elector->tick();
    leader = a.elector->isLeader() ? &a : &b;
    other = leader == &a ? &b : &a;
  }
  ASSERT_TRUE(leader->elector->isLeader());
  leader->elector->stop();
  EXPECT_FALSE(leader->elector->isLeader());
  other->elector->tick();
  EXPECT_TRUE(other->elector->isLeader());
  EXPECT_EQ(leaders(), 1);
  other->elector->stop();
}

}  // namespace
}  // namespace appliance::plugins::storage_postgres
