// Tombstones in SqliteTaskStore: the list queries walk indexes of live rows (their query plans
// are asserted, and a page's cost is measured with tombstones piled above it), and expired
// tombstones are purged in batches without ever letting a late replay resurrect a task.
#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "appliance/testing/fake_context.h"
#include "sqlite_connection.h"
#include "sqlite_kv_store.h"
#include "sqlite_migrations.h"
#include "sqlite_task_store.h"
#include "temp_dir.h"

namespace appliance::plugins::storage_sqlite {
namespace {

constexpr Timestamp kSecond = 1'000'000;

// A connection of its own, as another process would have.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    EXPECT_EQ(
        sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr),
        SQLITE_OK);
  }
  ~RawDb() { sqlite3_close_v2(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  void exec(const std::string& sql) {
    char* error = nullptr;
    EXPECT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
        << sql << ": " << (error ? error : "");
    sqlite3_free(error);
  }
  std::int64_t value(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sql;
    std::int64_t result = -1;
    if (stmt != nullptr && sqlite3_step(stmt) == SQLITE_ROW) result = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return result;
  }
  // The "detail" column of EXPLAIN QUERY PLAN, one line per step.
  std::string plan(std::string_view sql) {
    const std::string text = "EXPLAIN QUERY PLAN " + std::string(sql);
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, text.c_str(), -1, &stmt, nullptr), SQLITE_OK)
        << text << ": " << sqlite3_errmsg(db_);
    std::string lines;
    while (stmt != nullptr && sqlite3_step(stmt) == SQLITE_ROW) {
      lines += reinterpret_cast<const char*>(sqlite3_column_text(stmt, 3));
      lines += '\n';
    }
    sqlite3_finalize(stmt);
    return lines;
  }
  // Virtual machine steps to fetch the first `limit` rows of `sql` (?1 before id = max,
  // ?2, ?3 NULL, ?4 limit, ?5 done): the work a list page costs, independent of timing.
  int listSteps(std::string_view sql, int limit, int done = -1) {
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, std::string(sql).c_str(), -1, &stmt, nullptr), SQLITE_OK)
        << sql << ": " << sqlite3_errmsg(db_);
    if (stmt == nullptr) return -1;
    sqlite3_bind_int64(stmt, 1, INT64_MAX);
    sqlite3_bind_int64(stmt, 4, limit);
    if (done >= 0) sqlite3_bind_int(stmt, 5, done);
    int rows = 0;
    while (sqlite3_step(stmt) == SQLITE_ROW) ++rows;
    EXPECT_EQ(rows, limit);
    const int steps = sqlite3_stmt_status(stmt, SQLITE_STMTSTATUS_VM_STEP, 0);
    sqlite3_finalize(stmt);
    return steps;
  }

 private:
  sqlite3* db_ = nullptr;
};

struct StoreOnFile {
  explicit StoreOnFile(std::chrono::microseconds retention = std::chrono::hours(1),
                       std::int64_t purge_batch = 500) {
    StoreOptions options;
    options.path = dir.file("tasks.db");
    options.tombstone_retention = retention;
    options.purge_batch = purge_batch;
    options.synchronous = Synchronous::kOff;  // only the logic matters here
    store = std::make_unique<SqliteTaskStore>(options, &context.manual_clock, &context.metrics());
    Status status = store->open();
    EXPECT_TRUE(status.isOk()) << status.message();
  }
  Timestamp now() const {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               context.manual_clock.now().time_since_epoch())
        .count();
  }
  Task create(const std::string& title, Timestamp request_at) {
    NewTask task{title, "content", "2030-01-01", request_at};
    Result<Task> created = store->create(task);
    EXPECT_TRUE(created.isOk()) << created.status().message();
    return created.isOk() ? *created : Task{};
  }
  std::int64_t rows(const std::string& where) {
    return RawDb(dir.file("tasks.db")).value("SELECT count(*) FROM tasks WHERE " + where);
  }

  TempDir dir;
  appliance::testing::FakeContext context{"storage_sqlite"};
  std::unique_ptr<SqliteTaskStore> store;
};

// The GET /tasks statement's plan before schema 3: a rowid walk that steps over tombstones
// (NOT INDEXED: with tasks_live_id present the planner would take it).
constexpr std::string_view kListByRowid =
    "SELECT id, title, content, due_date, done, created_at, updated_at, last_request_at"
    " FROM tasks NOT INDEXED WHERE deleted = 0 AND id < ?1 AND (?2 IS NULL OR due_date < ?2)"
    " AND (?3 IS NULL OR due_date > ?3) ORDER BY id DESC LIMIT ?4";

TEST(SqliteTombstones, ListQueriesUseTheIndexesOfLiveRows) {
  StoreOnFile s;
  RawDb db(s.dir.file("tasks.db"));
  const std::string all = db.plan(sqlText(Sql::kListAll));
  EXPECT_NE(all.find("USING INDEX tasks_live_id"), std::string::npos) << all;
  EXPECT_EQ(all.find("TEMP B-TREE"), std::string::npos) << "sorts instead of walking:\n" << all;
  const std::string by_done = db.plan(sqlText(Sql::kListByDone));
  EXPECT_NE(by_done.find("USING INDEX tasks_live_done (done=? AND id<?)"), std::string::npos)
      << by_done;
  EXPECT_EQ(by_done.find("TEMP B-TREE"), std::string::npos) << by_done;
  const std::string purge = db.plan(sqlText(Sql::kPurgeTombstones));
  EXPECT_NE(purge.find("USING INDEX tasks_tombstones (last_request_at<?)"), std::string::npos)
      << purge;
}

TEST(SqliteTombstones, APageCostsTheSameHoweverManyTombstonesLieAboveIt) {
  StoreOnFile s;
  RawDb db(s.dir.file("tasks.db"));
  // 200 live tasks (half done), then 20,000 tombstones above them.
  db.exec(
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20200) "
      "INSERT INTO tasks (title, content, due_date, done, created_at, updated_at, "
      "last_request_at, deleted) SELECT 't' || i, 'c', '2030-01-01', i % 2, 1, 1, 1, "
      "i > 200 FROM n");
  const int page = 20;
  const int live_all = db.listSteps(sqlText(Sql::kListAll), page);
  const int live_done = db.listSteps(sqlText(Sql::kListByDone), page, 1);
  const int by_rowid = db.listSteps(kListByRowid, page);
  // A page's work is a few dozen steps per row, not a walk over the tombstones.
  EXPECT_LT(live_all, 100 * page) << "steps for a page of " << page;
  EXPECT_LT(live_done, 100 * page) << "steps for a page of " << page;
  EXPECT_GT(by_rowid, 20 * live_all) << "the rowid walk should step over 20,000 tombstones";
  std::printf(
      "VM steps for a page of %d under 20000 tombstones: live index %d, done index %d, "
      "rowid walk %d\n",
      page, live_all, live_done, by_rowid);
}

TEST(SqliteTombstones, OnlyTombstonesPastTheWindowArePurged) {
  StoreOnFile s(std::chrono::hours(1));
  const Timestamp t0 = s.now();
  Task a = s.create("a", t0);
  Task b = s.create("b", t0);
  Task c = s.create("c", t0);
  s.create("live", t0);
  ASSERT_TRUE(s.store->remove(a.id, t0 + 1).isOk());
  ASSERT_TRUE(s.store->remove(b.id, t0 + 1).isOk());
  s.context.manual_clock.advance(std::chrono::minutes(30));
  ASSERT_TRUE(s.store->remove(c.id, s.now()).isOk());

  // One hour after a and b were deleted: within the margin, nothing goes yet.
  s.context.manual_clock.advance(std::chrono::minutes(30));
  EXPECT_EQ(s.store->purgeTombstones().value(), 0);
  s.context.manual_clock.advance(kPurgeMargin + std::chrono::seconds(1));
  EXPECT_EQ(s.store->purgeTombstones().value(), 2);
  EXPECT_EQ(s.store->purgeTombstones().value(), 0);
  EXPECT_EQ(s.rows("deleted = 1"), 1) << "c's tombstone is younger than the window";
  EXPECT_EQ(s.rows("deleted = 0"), 1);
  EXPECT_EQ(s.context.metricValue("appliance_sqlite_tombstones_purged_total"), 2.0);
  Result<TaskCounts> counts = s.store->counts();
  ASSERT_TRUE(counts.isOk());
  EXPECT_EQ(counts->open, 1);
}

TEST(SqliteTombstones, ALateReplayAfterThePurgeIsRefusedNotResurrected) {
  StoreOnFile s(std::chrono::hours(1));
  const Timestamp t0 = s.now();
  Task task = s.create("pay the invoice", t0);
  ASSERT_TRUE(s.store->remove(task.id, t0 + kSecond).isOk());
  s.context.manual_clock.advance(std::chrono::hours(1) + kPurgeMargin + std::chrono::seconds(2));
  ASSERT_EQ(s.store->purgeTombstones().value(), 1);
  ASSERT_EQ(s.rows("1"), 0);

  NewTask replay{"pay the invoice", "content", "2030-01-01", t0};
  Result<Task> created = s.store->create(replay);
  EXPECT_EQ(created.status().code(), StatusCode::kConflict);
  EXPECT_TRUE(created.status().message().starts_with(kRetentionConflictPrefix))
      << created.status().message();
  TaskPatch late;
  late.request_at = t0 + kSecond / 2;
  EXPECT_EQ(s.store->update(task.id, late).status().code(), StatusCode::kConflict);
  EXPECT_EQ(s.store->remove(task.id, t0 + kSecond / 2).code(), StatusCode::kConflict);
  EXPECT_EQ(s.rows("1"), 0) << "nothing came back";
}

TEST(SqliteTombstones, PurgeWorksInBatches) {
  StoreOnFile s(std::chrono::hours(1), /*purge_batch=*/10);
  const Timestamp t0 = s.now();
  for (int i = 0; i < 25; ++i) {
    Task task = s.create("t" + std::to_string(i), t0);
    ASSERT_TRUE(s.store->remove(task.id, t0 + 1).isOk());
  }
  s.context.manual_clock.advance(std::chrono::hours(2));
  EXPECT_EQ(s.store->purgeTombstones().value(), 10);
  EXPECT_EQ(s.store->purgeTombstones().value(), 10);
  EXPECT_EQ(s.store->purgeTombstones().value(), 5);
  EXPECT_EQ(s.store->purgeTombstones().value(), 0);
  EXPECT_EQ(s.context.metricValue("appliance_sqlite_tombstones_purged_total"), 25.0);
}

TEST(SqliteTombstones, ZeroRetentionNeverPurges) {
  StoreOnFile s(std::chrono::microseconds(0));
  Task task = s.create("kept", 1);
  ASSERT_TRUE(s.store->remove(task.id, 2).isOk());
  s.context.manual_clock.advance(std::chrono::hours(24 * 3650));
  EXPECT_EQ(s.store->purgeTombstones().value(), 0);
  EXPECT_EQ(s.rows("deleted = 1"), 1);
}

TEST(SqliteTombstones, MigrationThreeAddsTheIndexes) {
  StoreOnFile s;
  RawDb db(s.dir.file("tasks.db"));
  EXPECT_GE(db.value("SELECT max(version) FROM schema_migrations"), 3);
  EXPECT_EQ(db.value("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN "
                     "('tasks_live_id', 'tasks_live_done', 'tasks_tombstones')"),
            3);
}

TEST(SqliteTombstones, AFileAtVersionTwoIsUpgradedInPlace) {
  TempDir dir;
  const std::string path = dir.file("tasks.db");
  {
    RawDb db(path);
    db.exec("PRAGMA journal_mode = WAL");
    db.exec(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
        "applied_at INTEGER NOT NULL)");
    for (const Migration& step : migrations().first(2)) {
      db.exec(std::string(step.sql));
      db.exec("INSERT INTO schema_migrations VALUES (" + std::to_string(step.version) + ", '" +
              std::string(step.name) + "', 0)");
    }
    db.exec(
        "INSERT INTO tasks (title, content, due_date, done, created_at, updated_at, "
        "last_request_at, deleted) VALUES ('old', 'c', '2030-01-01', 0, 1, 1, 1, 0), "
        "('gone', 'c', '2030-01-01', 0, 1, 1, 1, 1)");
  }
  StoreOptions options;
  options.path = path;
  SqliteTaskStore store(options);
  ASSERT_TRUE(store.open().isOk());
  RawDb db(path);
  EXPECT_EQ(db.value("SELECT max(version) FROM schema_migrations"), migrations().back().version);
  Result<TaskPage> page = store.list(TaskQuery{});
  ASSERT_TRUE(page.isOk()) << page.status().message();
  ASSERT_EQ(page->tasks.size(), 1u);
  EXPECT_EQ(page->tasks[0].title, "old");
}

// Migration 4 (the kv store) on a file written by a build that stopped at migration 3: the
// tasks stay, the kv tables appear, and versions start at 1.
TEST(SqliteKvMigration, AFileAtVersionThreeGainsTheKvStore) {
  TempDir dir;
  const std::string path = dir.file("tasks.db");
  {
    RawDb db(path);
    db.exec("PRAGMA journal_mode = WAL");
    db.exec(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
        "applied_at INTEGER NOT NULL)");
    for (const Migration& step : migrations().first(3)) {
      db.exec(std::string(step.sql));
      db.exec("INSERT INTO schema_migrations VALUES (" + std::to_string(step.version) + ", '" +
              std::string(step.name) + "', 0)");
    }
    db.exec(
        "INSERT INTO tasks (title, content, due_date, done, created_at, updated_at, "
        "last_request_at, deleted) VALUES ('old', 'c', '2030-01-01', 0, 1, 1, 1, 0)");
  }
  StoreOptions options;
  options.path = path;
  auto store = std::make_shared<SqliteTaskStore>(options);
  ASSERT_TRUE(store->open().isOk());
  RawDb db(path);
  EXPECT_EQ(db.value("SELECT max(version) FROM schema_migrations"), 4);
  EXPECT_EQ(db.value("SELECT count(*) FROM tasks"), 1);
  SqliteKvStore kv(store, nullptr);
  Result<std::uint64_t> version = kv.put("ns", "key", "value");
  ASSERT_TRUE(version.isOk()) << version.status().message();
  EXPECT_EQ(version.value(), 1u);
  EXPECT_EQ(db.value("SELECT last FROM appliance_kv_version"), 1);
}

}  // namespace
}  // namespace appliance::plugins::storage_sqlite
