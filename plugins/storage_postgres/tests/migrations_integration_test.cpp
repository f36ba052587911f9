// Migrations against a real server: applied once under concurrency (threads and processes),
// and adoption of the seed FastAPI service's table without losing a row.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <latch>
#include <thread>
#include <vector>

#include "migrations.h"
#include "pg_connection.h"
#include "pg_test_support.h"

namespace appliance::plugins::storage_postgres {
namespace {

using testing::RunningStore;
using testing::Sql;
using testing::TestDatabase;

constexpr Timestamp kT0 = 1'700'000'000'000'000;

int migrationCount() { return static_cast<int>(embeddedMigrations().size()); }

// Opens a plain session and applies the embedded migrations; -1 on failure, else how many
// this call applied.
int migrateOnce(const std::string& url, const Logger& logger) {
  PostgresConfig config = testing::testConfig(url, "migration_test");
  ConnectionParams params(config);
  auto conn = PgConnection::open(params, config.statement_timeout,
                                 SteadyClock::now() + std::chrono::seconds(10), false);
  if (!conn.isOk()) return -1;
  auto outcome =
      applyMigrations(*conn.value(), embeddedMigrations(), logger, std::chrono::seconds(60));
  return outcome.isOk() ? static_cast<int>(outcome->applied.size()) : -1;
}

TEST(Migrations, EmbeddedFilesAreNumberedUpwardFromOne) {
  ASSERT_GE(migrationCount(), 1);
  int expected = 1;
  for (const Migration& m : embeddedMigrations()) {
    EXPECT_EQ(m.version, expected++) << m.name;
    EXPECT_FALSE(m.sql.empty());
  }
}

TEST(Migrations, FreshDatabaseGetsEachMigrationOnce) {
  TestDatabase db;
  appliance::testing::CapturingLogger logger;
  EXPECT_EQ(migrateOnce(db.url(), logger), migrationCount());
  EXPECT_EQ(migrateOnce(db.url(), logger), 0);
  Sql sql(db.url());
  EXPECT_EQ(sql.value("SELECT count(*) FROM schema_migrations"), std::to_string(migrationCount()));
  EXPECT_EQ(sql.value("SELECT to_regclass('tasks') IS NOT NULL"), "t");
}

TEST(Migrations, ConcurrentThreadsApplyEachMigrationOnce) {
  TestDatabase db;
  appliance::testing::CapturingLogger logger;
  constexpr int kThreads = 8;
  std::atomic<int> applied{0};
  std::atomic<int> failures{0};
  std::latch go(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      go.arrive_and_wait();
      const int n = migrateOnce(db.url(), logger);
      if (n < 0)
        ++failures;
      else
        applied += n;
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(applied.load(), migrationCount());
  EXPECT_EQ(Sql(db.url()).value("SELECT count(*) FROM schema_migrations"),
            std::to_string(migrationCount()));
}

TEST(Migrations, ConcurrentProcessesApplyEachMigrationOnce) {
  TestDatabase db;
  constexpr int kProcesses = 6;
  std::vector<pid_t> children;
  const auto start_at = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
  for (int i = 0; i < kProcesses; ++i) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {  // child: no gtest assertions; report through the exit code
      std::this_thread::sleep_until(start_at);
      appliance::testing::CapturingLogger logger;
      const int n = migrateOnce(db.url(), logger);
      ::_exit(n < 0 ? 100 : n);
    }
    children.push_back(pid);
  }
  int applied = 0;
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_NE(WEXITSTATUS(status), 100) << "a process failed to migrate";
    applied += WEXITSTATUS(status);
  }
  EXPECT_EQ(applied, migrationCount());
  EXPECT_EQ(Sql(db.url()).value("SELECT count(*) FROM schema_migrations"),
            std::to_string(migrationCount()));
}

// The seed's table, with a request timestamp column of a given type (or none).
void createSeedTable(Sql& sql, const std::string& request_column) {
  sql.exec(
      "CREATE TABLE tasks (id SERIAL PRIMARY KEY, title VARCHAR(200), content VARCHAR(2000), "
      "due_date DATE, done BOOLEAN, created_at TIMESTAMP, updated_at TIMESTAMP" +
      (request_column.empty() ? "" : ", " + request_column) + ")");
}

struct SeedCase {
  const char* name;
  const char* column;       // DDL of the seed's request timestamp column, or ""
  const char* row1_value;   // its value for row 1 (SQL literal)
  Timestamp row1_expected;  // the last_request_at row 1 must end up with
};

class SeedAdoption : public ::testing::TestWithParam<SeedCase> {};

TEST_P(SeedAdoption, KeepsEveryRowAndTheirRequestTimestamps) {
  const SeedCase& c = GetParam();
  TestDatabase db;
  Sql sql(db.url());
  createSeedTable(sql, c.column);
  const std::string value_column =
      *c.column
          ? std::string(", ") + std::string(c.column).substr(0, std::string(c.column).find(' '))
          : "";
  const std::string value = *c.column ? std::string(", ") + c.row1_value : "";
  sql.exec("INSERT INTO tasks (title, content, due_date, done, created_at, updated_at" +
           value_column +
           ") VALUES ('seed one', 'first', '2024-03-01', true, "
           "'2024-01-01 10:00:00', '2024-01-02 10:00:00'" +
           value + ")");
  sql.exec(
      "INSERT INTO tasks (title, content, due_date, done, created_at, updated_at) VALUES "
      "('seed two', 'second', '2024-03-02', false, '2024-01-01 11:00:00', NULL)");
  sql.exec("INSERT INTO tasks (title) VALUES ('seed three')");  // NULLs everywhere else
  sql.exec("DELETE FROM tasks WHERE title = 'nothing'");

  RunningStore store(db.url());
  ASSERT_TRUE(store.started.isOk()) << store.started.message();

  auto one = store->get(1);
  ASSERT_TRUE(one.isOk()) << one.status().message();
  EXPECT_EQ(one->title, "seed one");
  EXPECT_EQ(one->content, "first");
  EXPECT_EQ(one->due_date, "2024-03-01");
  EXPECT_TRUE(one->done);
  EXPECT_EQ(one->created_at, 1'704'103'200'000'000);  // 2024-01-01T10:00:00Z
  EXPECT_EQ(one->last_request_at, c.row1_expected);
  auto two = store->get(2);
  ASSERT_TRUE(two.isOk()) << two.status().message();
  EXPECT_EQ(two->updated_at, two->created_at);  // NULL updated_at backfilled
  EXPECT_EQ(two->last_request_at, 1'704'106'800'000'000);
  auto three = store->get(3);
  ASSERT_TRUE(three.isOk()) << three.status().message();
  EXPECT_EQ(three->content, "");
  EXPECT_FALSE(three->done);

  auto page = store->list({});
  ASSERT_TRUE(page.isOk());
  EXPECT_EQ(page->tasks.size(), 3u);
  // The ordering rules apply to adopted rows: a request older than the seed's is stale.
  TaskPatch stale;
  stale.request_at = c.row1_expected;
  EXPECT_EQ(store->update(1, stale).status().code(), StatusCode::kConflict);
  TaskPatch newer;
  newer.title = "seed one, edited";
  newer.request_at = c.row1_expected + 1;
  auto edited = store->update(1, newer);
  ASSERT_TRUE(edited.isOk()) << edited.status().message();
  EXPECT_EQ(edited->title, "seed one, edited");
  EXPECT_EQ(edited->content, "first");
  // New tasks continue the seed's id sequence.
  auto created = store->create({"after adoption", "c", "2030-01-01", kT0});
  ASSERT_TRUE(created.isOk()) << created.status().message();
  EXPECT_EQ(created->id, 4);
  // The seed's own column is left in place.
  if (*c.column) {
    EXPECT_EQ(sql.value("SELECT count(*) FROM information_schema.columns WHERE table_name = "
                        "'tasks' AND column_name = '" +
                        value_column.substr(2) + "'"),
              "1");
  }
}

// 2024-01-03T10:00:00Z, and row 1's updated_at (2024-01-02T10:00:00Z) as the fallback.
constexpr Timestamp kSeedRequest = 1'704'276'000'000'000;
constexpr Timestamp kSeedUpdated = 1'704'189'600'000'000;

INSTANTIATE_TEST_SUITE_P(
    SeedShapes, SeedAdoption,
    ::testing::Values(SeedCase{"no_request_column", "", "", kSeedUpdated},
                      SeedCase{"last_request_timestamp_timestamp",
                               "last_request_timestamp TIMESTAMP", "'2024-01-03 10:00:00'",
                               kSeedRequest},
                      SeedCase{"request_timestamp_timestamptz", "request_timestamp TIMESTAMPTZ",
                               "'2024-01-03 12:00:00+02'", kSeedRequest},
                      SeedCase{"request_timestamp_text", "request_timestamp VARCHAR(64)",
                               "'2024-01-03T10:00:00Z'", kSeedRequest},
                      SeedCase{"request_timestamp_unparseable_text", "request_timestamp TEXT",
                               "'yesterday-ish'", kSeedUpdated},
                      SeedCase{"request_timestamp_epoch_seconds",
                               "request_timestamp DOUBLE PRECISION", "1704276000", kSeedRequest}),
    [](const ::testing::TestParamInfo<SeedCase>& info) { return std::string(info.param.name); });

TEST(Migrations, AnIncompatibleTableFailsStartWithTheMigrationName) {
  TestDatabase db;
  Sql(db.url()).exec("CREATE TABLE tasks (id integer PRIMARY KEY, title integer)");
  Sql(db.url()).exec("INSERT INTO tasks VALUES (1, NULL)");
  RunningStore store(db.url());
  EXPECT_FALSE(store.started.isOk());
  EXPECT_NE(store.started.message().find("0001_tasks"), std::string::npos)
      << store.started.message();
  EXPECT_EQ(Sql(db.url()).value("SELECT count(*) FROM tasks"), "1");  // rolled back, row kept
}

}  // namespace
}  // namespace appliance::plugins::storage_postgres
