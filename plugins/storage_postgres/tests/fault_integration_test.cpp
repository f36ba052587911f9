// Faults against a real server of their own (a private cluster, so stopping it does not
// disturb other tests): the database down at start, and restarted under load.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "pg_test_support.h"

namespace appliance::plugins::storage_postgres {
namespace {

using testing::eventually;
using testing::PrivateCluster;
using testing::RunningStore;
using testing::Sql;

constexpr Timestamp kT0 = 1'700'000'000'000'000;

TEST(Faults, DatabaseDownAtStartIsUnhealthyThenRecovers) {
  PrivateCluster cluster;
  ASSERT_FALSE(cluster.url().empty());
  ASSERT_TRUE(cluster.stopServer());
  RunningStore store(cluster.url());
  ASSERT_TRUE(store.started.isOk())
      << "start must not fail because the database is down: " << store.started.message();
  EXPECT_FALSE(store->health().healthy);
  EXPECT_EQ(store->ping().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store->get(1).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store->create({"t", "c", "2030-01-01", kT0}).status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(store.context.log.contains("not reachable at start"));

  ASSERT_TRUE(cluster.startServer());
  EXPECT_TRUE(eventually([&] { return store->health().healthy; }))
      << "did not recover: " << store->health().message;
  auto created = store->create({"after recovery", "c", "2030-01-01", kT0});
  EXPECT_TRUE(created.isOk()) << created.status().message();
  EXPECT_GE(
      store.context.metricValue("appliance_db_errors_total", {{"kind", "connection"}}).value_or(0),
      1);
}

class RestartUnderLoad : public ::testing::TestWithParam<const char*> {};

// Creates and reads in a loop on several threads while the server stops and comes back.
// Every answer is a success, a 409, or a 503 (kUnavailable/kTimeout); every acknowledged
// create survives (with `immediate`, through crash recovery: fsync is on); the store
// recovers by itself; no session leaks.
TEST_P(RestartUnderLoad, AnswersEveryCallKeepsAcknowledgedWritesAndRecovers) {
  PrivateCluster cluster;
  ASSERT_FALSE(cluster.url().empty());
  RunningStore store(cluster.url(), [](PostgresConfig& c) {
    c.pool.max = 6;
    c.pool.acquire_timeout = std::chrono::milliseconds(500);
    c.connect_timeout = std::chrono::seconds(2);
  });
  ASSERT_TRUE(store.started.isOk()) << store.started.message();

  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, unavailable{0}, unexpected{0};
  std::mutex mutex;
  std::vector<std::int64_t> acknowledged;
  std::string unexpected_message;
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; !stop; ++i) {
        const std::string title = "load " + std::to_string(t) + "/" + std::to_string(i);
        auto created = store->create({title, "c", "2030-01-01", kT0 + i});
        Status status = created.status();
        if (created.isOk()) {
          std::lock_guard lock(mutex);
          acknowledged.push_back(created->id);
          status = store->get(created->id).status();
        }
        switch (status.code()) {
          case StatusCode::kOk:
          case StatusCode::kConflict:
            ++ok;
            break;
          case StatusCode::kUnavailable:
          case StatusCode::kTimeout:
            ++unavailable;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
            break;
          default: {
            ++unexpected;
            std::lock_guard lock(mutex);
            unexpected_message = status.message();
          }
        }
      }
    });
  }
  ASSERT_TRUE(eventually([&] { return ok.load() > 200; }));
  ASSERT_TRUE(cluster.stopServer(GetParam()));
  ASSERT_TRUE(eventually([&] { return unavailable.load() > 0; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const int ok_before_restart = ok.load();
  ASSERT_TRUE(cluster.startServer());
  EXPECT_TRUE(eventually([&] { return ok.load() > ok_before_restart + 200; }))
      << "traffic did not recover after the server came back";
  stop = true;
  for (auto& thread : threads) thread.join();

  EXPECT_EQ(unexpected.load(), 0) << unexpected_message;
  EXPECT_GT(unavailable.load(), 0);
  EXPECT_TRUE(store->health().healthy) << store->health().message;
  for (std::int64_t id : acknowledged) {
    ASSERT_TRUE(store->get(id).isOk()) << "acknowledged create " << id << " was lost";
  }
  EXPECT_LE(store.serverSessions(cluster.url()), 6);
  store.store->stop();
  EXPECT_TRUE(eventually([&] { return store.serverSessions(cluster.url()) == 0; }))
      << "sessions left open after stop()";
}

INSTANTIATE_TEST_SUITE_P(StopModes, RestartUnderLoad, ::testing::Values("fast", "immediate"),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace appliance::plugins::storage_postgres
