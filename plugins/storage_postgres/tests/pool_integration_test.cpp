// ConnectionPool against a real server: FIFO hand-over under contention, and failing queued
// callers fast when a replacement connection cannot be dialled.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "appliance/testing/fake_context.h"
#include "connection_pool.h"
#include "pg_test_support.h"

namespace appliance::plugins::storage_postgres {
namespace {

using testing::eventually;
using testing::TestDatabase;

// Pooled sessions prepare the store's statements, which need its tables.
struct MigratedDatabase : TestDatabase {
  MigratedDatabase() {
    testing::RunningStore store(url());
    EXPECT_TRUE(store.started.isOk()) << store.started.message();
  }
};

struct PoolUnderTest {
  explicit PoolUnderTest(const std::string& url, int max = 1,
                         std::chrono::milliseconds acquire_timeout = std::chrono::seconds(20))
      : config(testing::testConfig(url, "pool_test")),
        params(config),
        metrics(context.metrics()),
        pool(
            PoolConfig{0, max, acquire_timeout, std::chrono::minutes(5)}, std::chrono::seconds(5),
            [this](SteadyClock::time_point deadline) -> Result<std::unique_ptr<PgConnection>> {
              if (refuse_dials) return Status::unavailable("dial refused by the test");
              return PgConnection::open(params, std::chrono::seconds(5), deadline, true);
            },
            metrics, context.logger()) {}

  appliance::testing::FakeContext context{"storage_postgres"};
  PostgresConfig config;
  ConnectionParams params;
  DbMetrics metrics;
  std::atomic<bool> refuse_dials{false};
  ConnectionPool pool;
};

TEST(ConnectionPool, QueuedCallersGetConnectionsInArrivalOrder) {
  MigratedDatabase db;
  PoolUnderTest p(db.url());
  auto held = p.pool.acquire();
  ASSERT_TRUE(held.isOk()) << held.status().message();
  std::mutex order_mutex;
  std::vector<int> order;
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      auto lease = p.pool.acquire();
      ASSERT_TRUE(lease.isOk()) << lease.status().message();
      std::lock_guard lock(order_mutex);
      order.push_back(i);
    });  // the lease goes back here, to the next in line
    // Queued one after the other, so arrival order is known.
    ASSERT_TRUE(eventually([&] { return p.pool.stats().waiters == i + 1; }));
  }
  { auto released = std::move(held).value(); }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(p.pool.stats().waiters, 0);
  EXPECT_EQ(p.pool.stats().in_use, 0);
  EXPECT_EQ(p.pool.stats().idle, 1);
}

// A connection returned dirty is dropped; its slot goes to the oldest waiter, which dials.
// When that dial fails, every queued caller gets kUnavailable at once instead of waiting out
// acquire_timeout.
TEST(ConnectionPool, AFailedReplacementDialFailsEveryWaiterFast) {
  MigratedDatabase db;
  PoolUnderTest p(db.url());
  auto held = p.pool.acquire();
  ASSERT_TRUE(held.isOk()) << held.status().message();
  std::vector<StatusCode> outcomes(3, StatusCode::kOk);
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&, i] { outcomes[i] = p.pool.acquire().status().code(); });
    ASSERT_TRUE(eventually([&] { return p.pool.stats().waiters == i + 1; }));
  }
  p.refuse_dials = true;
  {
    auto dirty = std::move(held).value();
    static const Params kNone;
    PgResult ignored;
    ASSERT_TRUE(dirty
                    ->execute(Statement::kBegin, kNone, ignored,
                              SteadyClock::now() + std::chrono::seconds(5))
                    .isOk());
    ASSERT_TRUE(dirty->inTransaction());
  }  // returned inside a transaction: never lent again
  const auto start = SteadyClock::now();
  for (auto& thread : threads) thread.join();
  EXPECT_LT(SteadyClock::now() - start, std::chrono::seconds(10));  // not the 20 s timeout
  EXPECT_EQ(outcomes, (std::vector<StatusCode>(3, StatusCode::kUnavailable)));
  EXPECT_FALSE(p.pool.reachable());
  EXPECT_EQ(p.pool.stats().in_use, 0);
  EXPECT_EQ(p.pool.stats().waiters, 0);
  // The server is back for the pool once a dial succeeds.
  p.refuse_dials = false;
  ASSERT_TRUE(p.pool.tryConnect().isOk());
  EXPECT_TRUE(p.pool.acquire().isOk());
}

TEST(ConnectionPool, AWaiterTimesOutAndLeavesTheQueue) {
  MigratedDatabase db;
  PoolUnderTest p(db.url(), 1, std::chrono::milliseconds(200));
  auto held = p.pool.acquire();
  ASSERT_TRUE(held.isOk()) << held.status().message();
  auto late = p.pool.acquire();
  EXPECT_EQ(late.status().code(), StatusCode::kTimeout) << late.status().message();
  EXPECT_EQ(p.pool.stats().waiters, 0);
  { auto released = std::move(held).value(); }
  EXPECT_EQ(p.pool.stats().idle, 1);  // nobody queued: back to idle, not to a departed waiter
  EXPECT_TRUE(p.pool.acquire().isOk());
}

}  // namespace
}  // namespace appliance::plugins::storage_postgres
