// PostgresKvStore beyond the conformance suite: through the plugin (service, metrics, purge
// timer), the upgrade of a database at migration 2, batches over the same keys in opposite
// orders from two stores (no deadlock), and a server that goes away (kUnavailable).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "migrations.h"
#include "pg_connection.h"
#include "pg_test_support.h"
#include "postgres_kv_store.h"
#include "postgres_plugin.h"

namespace appliance::plugins::storage_postgres {
namespace {

using testing::PrivateCluster;
using testing::RunningStore;
using testing::Sql;
using testing::TestDatabase;

// A kv store on `running`'s pool and manual clock; `running` must outlive it.
std::shared_ptr<PostgresKvStore> kvOn(RunningStore& running) {
  std::shared_ptr<PostgresTaskStore> tasks(std::shared_ptr<void>(), running.store.get());
  return std::make_shared<PostgresKvStore>(tasks, &running.context.manual_clock);
}

TEST(PostgresKv, PluginProvidesKvStoreWithMetricsAndAPurgeTimer) {
  TestDatabase db;
  auto root = ConfigNode::parse("storage_postgres:\n  url: " + db.url() + "\n  pool:\n    max: 2\n",
                                "test.yaml");
  ASSERT_TRUE(root.isOk());
  appliance::testing::FakeContext context("storage_postgres");
  StoragePostgresPlugin plugin;
  ASSERT_TRUE(plugin.configure(root->child("storage_postgres")).isOk());
  ASSERT_TRUE(plugin.init(context).isOk());
  auto kv = context.services().find<KvStore>();
  ASSERT_NE(kv, nullptr);
  EXPECT_EQ(kv->get("ns", "k").status().code(), StatusCode::kUnavailable) << "before start";
  ASSERT_TRUE(plugin.start().isOk());

  const Timestamp now = 1'700'000'000'000'000;  // the context's manual clock
  ASSERT_TRUE(kv->put("ns", "forever", "x").isOk());
  ASSERT_TRUE(kv->put("ns", "brief", "x", kKvAnyVersion, now + 1'000'000).isOk());
  EXPECT_TRUE(kv->get("ns", "brief").value().has_value());
  EXPECT_GE(context.metricValue("appliance_db_query_duration_seconds", {{"statement", "kv_put"}}),
            2.0);
  EXPECT_GE(context.metricValue("appliance_db_query_duration_seconds", {{"statement", "kv_get"}}),
            1.0);
  EXPECT_TRUE(kv->put("ns", "forever", "y", kKvMustNotExist, 0).status().code() ==
              StatusCode::kConflict);
  EXPECT_GE(context.metricValue("appliance_db_errors_total", {{"kind", "conflict"}}), 1.0);

  Sql sql(db.url());
  context.manual_clock.advance(std::chrono::seconds(2));
  EXPECT_FALSE(kv->get("ns", "brief").value().has_value()) << "expired: invisible at once";
  ASSERT_TRUE(context.timers.fire("storage_postgres.kv_purge"));
  EXPECT_EQ(sql.value("SELECT count(*) FROM appliance_kv"), "2") << "within the purge margin";
  context.manual_clock.advance(PostgresKvStore::kKvPurgeMargin);
  ASSERT_TRUE(context.timers.fire("storage_postgres.kv_purge"));
  EXPECT_EQ(sql.value("SELECT key FROM appliance_kv"), "forever");

  plugin.stop(std::chrono::steady_clock::now() + std::chrono::seconds(1));
  EXPECT_EQ(kv->put("ns", "late", "x").status().code(), StatusCode::kUnavailable);
}

TEST(PostgresKv, ADatabaseAtMigrationTwoGainsTheKvStore) {
  TestDatabase db;
  {
    PostgresConfig config = testing::testConfig(db.url(), "kv_migration_test");
    ConnectionParams params(config);
    auto conn = PgConnection::open(params, config.statement_timeout,
                                   SteadyClock::now() + std::chrono::seconds(10), false);
    ASSERT_TRUE(conn.isOk()) << conn.status().message();
    appliance::testing::CapturingLogger logger;
    auto outcome = applyMigrations(*conn.value(), embeddedMigrations().first(2), logger,
                                   std::chrono::seconds(10));
    ASSERT_TRUE(outcome.isOk()) << outcome.status().message();
    ASSERT_EQ(outcome->schema_version, 2);
  }
  Sql(db.url()).exec(
      "INSERT INTO tasks (title, content, due_date, done, created_at, updated_at, "
      "last_request_at) VALUES ('old', 'c', '2030-01-01', false, now(), now(), now())");
  RunningStore running(db.url());
  ASSERT_TRUE(running.started.isOk()) << running.started.message();
  EXPECT_EQ(running->schemaVersion(), 3);
  auto kv = kvOn(running);
  Result<std::uint64_t> first = kv->put("ns", "k", "v");
  ASSERT_TRUE(first.isOk()) << first.status().message();
  EXPECT_EQ(first.value(), 1u);
  Sql sql(db.url());
  EXPECT_EQ(sql.value("SELECT count(*) FROM tasks"), "1");
  EXPECT_EQ(sql.value("SELECT collation_name FROM information_schema.columns WHERE table_name = "
                      "'appliance_kv' AND column_name = 'key'"),
            "C");
}

TEST(PostgresKv, BatchesOverTheSameKeysInOppositeOrdersNeverDeadlock) {
  TestDatabase db;
  RunningStore one(db.url());
  RunningStore two(db.url());
  ASSERT_TRUE(one.started.isOk() && two.started.isOk());
  auto kv_one = kvOn(one);
  auto kv_two = kvOn(two);
  constexpr int kBatches = 30;
  std::atomic<int> failures{0};
  std::string first_failure;
  std::mutex mutex;
  auto run = [&](PostgresKvStore& kv, bool reversed, int thread) {
    for (int i = 0; i < kBatches; ++i) {
      std::vector<KvWrite> batch;
      for (const char* key : {"x", "y", "z"}) {
        batch.push_back({KvWrite::Op::kPut, key,
                         "t" + std::to_string(thread) + "/" + std::to_string(i), kKvAnyVersion, 0});
      }
      if (reversed) std::reverse(batch.begin(), batch.end());
      Status s = kv.write("ns", batch);
      if (!s.isOk() && failures++ == 0) {
        std::lock_guard lock(mutex);
        first_failure = s.message();
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back(run, std::ref(t % 2 == 0 ? *kv_one : *kv_two), t % 2 == 1, t);
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0) << first_failure;
  // Every batch applied as a whole: the three keys hold the same batch's value.
  auto entries = kv_one->list("ns");
  ASSERT_TRUE(entries.isOk());
  ASSERT_EQ(entries->size(), 3u);
  EXPECT_EQ((*entries)[0].value, (*entries)[1].value);
  EXPECT_EQ((*entries)[1].value, (*entries)[2].value);
}

TEST(PostgresKv, ServerGoneIsUnavailableAndRecovers) {
  PrivateCluster cluster;
  ASSERT_FALSE(cluster.url().empty());
  RunningStore running(cluster.url());
  ASSERT_TRUE(running.started.isOk()) << running.started.message();
  auto kv = kvOn(running);
  ASSERT_TRUE(kv->put("ns", "k", "v").isOk());
  ASSERT_TRUE(cluster.stopServer());
  EXPECT_EQ(kv->get("ns", "k").status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(kv->put("ns", "k", "w").status().code(), StatusCode::kUnavailable);
  const std::vector<KvWrite> batch = {{KvWrite::Op::kPut, "b", "v", kKvAnyVersion, 0}};
  EXPECT_EQ(kv->write("ns", batch).code(), StatusCode::kUnavailable);
  ASSERT_TRUE(cluster.startServer());
  EXPECT_TRUE(testing::eventually([&] {
    auto got = kv->get("ns", "k");
    return got.isOk() && got.value().has_value() && got.value()->value == "v";
  }));
}

}  // namespace
}  // namespace appliance::plugins::storage_postgres
