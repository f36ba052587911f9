// Tombstones on PostgreSQL: the list statements' plans use the partial indexes of live rows
// (generic and custom plans, on a table where most rows are tombstones), migration 0002, and
// the purge: only expired tombstones, in batches, from several processes at once, and never a
// late replay that brings a purged task back.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "pg_test_support.h"
#include "postgres_plugin.h"
#include "statements.h"

namespace appliance::plugins::storage_postgres {
namespace {

using testing::RunningStore;
using testing::Sql;
using testing::TestDatabase;

constexpr Timestamp kMillisecond = 1000;

Timestamp nowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

NewTask newTask(const std::string& title, Timestamp at) {
  return NewTask{title, "content of " + title, "2030-01-01", at};
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) out += line + "\n";
  return out;
}

// EXPLAIN of a store statement as the pooled sessions run it (a prepared statement), with
// the planner forced to a generic or a custom plan.
std::string planOf(Sql& sql, Statement statement, const std::string& types, const std::string& args,
                   const char* plan_cache_mode) {
  const StatementDef& def = statementDef(statement);
  sql.exec(std::string("SET plan_cache_mode = ") + plan_cache_mode);
  sql.exec(std::string("PREPARE ") + def.name + "(" + types + ") AS " + def.sql);
  std::string plan =
      joined(sql.rows(std::string("EXPLAIN EXECUTE ") + def.name + "(" + args + ")"));
  sql.exec(std::string("DEALLOCATE ") + def.name);
  return plan;
}

// The plan's "Filter:" lines: conditions checked on rows already read.
std::string filterLines(const std::string& plan) {
  std::string out;
  for (std::size_t at = 0; (at = plan.find("Filter:", at)) != std::string::npos;) {
    const auto end = plan.find('\n', at);
    out += plan.substr(at, end - at) + "\n";
    at = end;
  }
  return out;
}

class PostgresTombstones : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(store.started.isOk()) << store.started.message(); }

  TestDatabase db;
  RunningStore store{
      db.url(), [](PostgresConfig& config) { config.tombstone_retention = std::chrono::hours(1); }};
  Sql sql{db.url()};
};

TEST_F(PostgresTombstones, ListStatementsUseThePartialIndexesOfLiveRows) {
  // 20,000 live tasks (one in ten done) under 100,000 tombstones, as after months of deletes.
  sql.exec(
      "INSERT INTO tasks (title, content, due_date, done, last_request_at, deleted) "
      "SELECT 't' || i, 'c', DATE '2030-01-01', i % 10 = 0, now(), i > 20000 "
      "FROM generate_series(1, 120000) AS i");
  sql.exec("ANALYZE tasks");
  const std::string types = "int8, date, date, int8";
  const std::string first_page = "9223372036854775807, NULL, NULL, 101";
  const struct {
    Statement statement;
    const char* index;
  } lists[] = {{Statement::kList, "Index Scan Backward using tasks_live_id_idx on tasks"},
               {Statement::kListDone, "Index Scan Backward using tasks_live_done_idx on tasks"},
               {Statement::kListOpen, "Index Scan Backward using tasks_live_open_idx on tasks"}};
  for (const char* mode : {"force_generic_plan", "force_custom_plan"}) {
    for (const auto& list : lists) {
      const std::string plan = planOf(sql, list.statement, types, first_page, mode);
      const char* name = statementDef(list.statement).name;
      EXPECT_NE(plan.find(list.index), std::string::npos) << name << ", " << mode << "\n" << plan;
      const std::string filters = filterLines(plan);
      EXPECT_EQ(filters.find("deleted"), std::string::npos)
          << name << " filters tombstones out instead of never reading them\n"
          << plan;
      EXPECT_EQ(filters.find("done"), std::string::npos)
          << name << " filters on done instead of reading only its rows\n"
          << plan;
      std::printf("%s (%s):\n%s", name, mode, plan.c_str());
    }
    const std::string purge = planOf(sql, Statement::kPurge, "int8, int8", "3600000000, 500", mode);
    EXPECT_NE(purge.find("tasks_tombstone_age_idx"), std::string::npos) << mode << "\n" << purge;
  }
}

TEST_F(PostgresTombstones, MigrationTwoAddsTheIndexesAndTheVacuumSettings) {
  EXPECT_GE(store->schemaVersion(), 2);
  EXPECT_EQ(sql.value("SELECT count(*) FROM pg_indexes WHERE tablename = 'tasks' AND indexname IN "
                      "('tasks_live_id_idx', 'tasks_live_done_idx', 'tasks_live_open_idx', "
                      "'tasks_tombstone_age_idx')"),
            "4");
  EXPECT_NE(sql.value("SELECT array_to_string(reloptions, ',') FROM pg_class WHERE relname = "
                      "'tasks'")
                .find("autovacuum_vacuum_scale_factor=0.05"),
            std::string::npos);
}

TEST_F(PostgresTombstones, OnlyExpiredTombstonesArePurgedAndCounted) {
  const Timestamp now = nowMicros();
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 5; ++i) {
    auto task = store->create(newTask("t" + std::to_string(i), now));
    ASSERT_TRUE(task.isOk()) << task.status().message();
    ids.push_back(task->id);
  }
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(store->remove(ids[i], now + kMillisecond).isOk());
  // Two tombstones expired long ago, one just inside the margin, one fresh; one live task.
  sql.exec("UPDATE tasks SET last_request_at = last_request_at - interval '2 hours' WHERE id IN (" +
           std::to_string(ids[0]) + ", " + std::to_string(ids[1]) + ")");
  sql.exec(
      "UPDATE tasks SET last_request_at = last_request_at - interval '1 hour 30 seconds' "
      "WHERE id = " +
      std::to_string(ids[2]));
  auto purged = store->purgeTombstones();
  ASSERT_TRUE(purged.isOk()) << purged.status().message();
  EXPECT_EQ(*purged, 2);
  EXPECT_EQ(store->purgeTombstones().value(), 0);
  EXPECT_EQ(sql.value("SELECT count(*) FROM tasks WHERE deleted"), "2");
  EXPECT_EQ(sql.value("SELECT count(*) FROM tasks WHERE NOT deleted"), "1");
  EXPECT_EQ(store.context.metricValue("appliance_db_tombstones_purged_total"), 2.0);
}

TEST_F(PostgresTombstones, ALateReplayAfterThePurgeIsRefusedNotResurrected) {
  const Timestamp now = nowMicros();
  auto task = store->create(newTask("pay the invoice", now));
  ASSERT_TRUE(task.isOk()) << task.status().message();
  ASSERT_TRUE(store->remove(task->id, now + kMillisecond).isOk());
  // As if all this happened two hours ago.
  sql.exec("UPDATE tasks SET last_request_at = last_request_at - interval '2 hours'");
  ASSERT_EQ(store->purgeTombstones().value(), 1);
  ASSERT_EQ(sql.value("SELECT count(*) FROM tasks"), "0");

  const Timestamp original = now - 7'200'000'000;  // the create's timestamp, two hours back
  auto replay = store->create(newTask("pay the invoice", original));
  EXPECT_EQ(replay.status().code(), StatusCode::kConflict);
  EXPECT_TRUE(replay.status().message().starts_with(kRetentionConflictPrefix))
      << replay.status().message();
  TaskPatch late;
  late.request_at = original + kMillisecond / 2;
  EXPECT_EQ(store->update(task->id, late).status().code(), StatusCode::kConflict);
  EXPECT_EQ(store->remove(task->id, original + kMillisecond / 2).code(), StatusCode::kConflict);
  EXPECT_EQ(sql.value("SELECT count(*) FROM tasks"), "0") << "nothing came back";
}

TEST_F(PostgresTombstones, PurgesFromSeveralProcessesSplitTheWork) {
  // 2,600 expired tombstones; three stores (three pods) purge them at once.
  sql.exec(
      "INSERT INTO tasks (title, content, due_date, last_request_at, deleted) "
      "SELECT 't' || i, 'c', DATE '2030-01-01', now() - interval '3 hours', true "
      "FROM generate_series(1, 2600) AS i");
  sql.exec(
      "INSERT INTO tasks (title, content, due_date, last_request_at) "
      "VALUES ('live', 'c', DATE '2030-01-01', now() - interval '3 hours')");
  RunningStore other1{db.url(),
                      [](PostgresConfig& c) { c.tombstone_retention = std::chrono::hours(1); }};
  RunningStore other2{db.url(),
                      [](PostgresConfig& c) { c.tombstone_retention = std::chrono::hours(1); }};
  std::atomic<std::int64_t> total{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (RunningStore* s : {&store, &other1, &other2}) {
    threads.emplace_back([s, &total, &errors] {
      for (;;) {
        auto purged = (*s)->purgeTombstones();
        if (!purged.isOk()) {
          ++errors;
          return;
        }
        total += *purged;
        if (*purged == 0) return;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(total.load(), 2600);
  EXPECT_EQ(sql.value("SELECT count(*) FROM tasks"), "1");
}

TEST(PostgresTombstonePlugin, ThePurgeTimerRunsWhenRetentionIsSet) {
  TestDatabase db;
  auto root = ConfigNode::parse(
      "storage_postgres:\n  url: " + db.url() + "\n  tombstone_retention: 1h\n", "test.yaml");
  ASSERT_TRUE(root.isOk());
  appliance::testing::FakeContext context("storage_postgres");
  StoragePostgresPlugin plugin;
  ASSERT_TRUE(plugin.configure(root->child("storage_postgres")).isOk());
  ASSERT_TRUE(plugin.init(context).isOk());
  ASSERT_TRUE(plugin.start().isOk());
  auto store = context.services().find<TaskStore>();
  auto task = store->create(newTask("short-lived", nowMicros()));
  ASSERT_TRUE(task.isOk()) << task.status().message();
  ASSERT_TRUE(store->remove(task->id, nowMicros()).isOk());
  Sql(db.url()).exec("UPDATE tasks SET last_request_at = last_request_at - interval '2 hours'");
  ASSERT_TRUE(context.timers.fire("storage_postgres.purge"));
  EXPECT_EQ(context.metricValue("appliance_db_tombstones_purged_total"), 1.0);
  EXPECT_TRUE(context.log.contains("purged expired tombstones"));
  plugin.stop(std::chrono::steady_clock::now() + std::chrono::seconds(1));

  appliance::testing::FakeContext keep_context("storage_postgres");
  StoragePostgresPlugin keep;
  auto keep_root = ConfigNode::parse(
      "storage_postgres:\n  url: " + db.url() + "\n  tombstone_retention: 0\n", "test.yaml");
  ASSERT_TRUE(keep.configure(keep_root->child("storage_postgres")).isOk());
  ASSERT_TRUE(keep.init(keep_context).isOk());
  EXPECT_FALSE(keep_context.timers.fire("storage_postgres.purge"));
}

}  // namespace
}  // namespace appliance::plugins::storage_postgres
