// SQLite-specific behaviour of SqliteTaskStore: files and folders, migrations, reopening,
// locking by other processes, and failed write batches. The TaskStore rules themselves are
// covered by the conformance suite (sqlite_conformance_test.cpp).
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <latch>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "sqlite_migrations.h"
#include "sqlite_task_store.h"
#include "temp_dir.h"

namespace appliance::plugins::storage_sqlite {
namespace {

constexpr Timestamp kT0 = 1'700'000'000'000'000;

// A plain connection from "another process" (its own handle, no shared cache).
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  }
  ~RawDb() { sqlite3_close_v2(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  void exec(const std::string& sql) {
    char* error = nullptr;
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error);
    EXPECT_EQ(rc, SQLITE_OK) << sql << ": " << (error ? error : "");
    sqlite3_free(error);
  }
  // The first column of every row of `sql`, as text.
  std::vector<std::string> column(const std::string& sql) {
    std::vector<std::string> values;
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sql;
    while (stmt && sqlite3_step(stmt) == SQLITE_ROW) {
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
      values.emplace_back(text ? text : "NULL");
    }
    sqlite3_finalize(stmt);
    return values;
  }

 private:
  sqlite3* db_ = nullptr;
};

NewTask newTask(std::string title, Timestamp request_at) {
  NewTask task;
  task.title = std::move(title);
  task.content = "content";
  task.due_date = "2030-01-01";
  task.request_at = request_at;
  return task;
}

StoreOptions optionsFor(std::string path) {
  StoreOptions options;
  options.path = std::move(path);
  return options;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(SqliteStore, OpenCreatesTheMissingFolders) {
  TempDir dir;
  const std::string path = dir.file("a/b/c/tasks.db");
  SqliteTaskStore store(optionsFor(path));
  ASSERT_TRUE(store.open().isOk());
  EXPECT_TRUE(std::filesystem::exists(path));
  EXPECT_TRUE(store.ping().isOk());
}

TEST(SqliteStore, UsesWalMode) {
  TempDir dir;
  const std::string path = dir.file("tasks.db");
  SqliteTaskStore store(optionsFor(path));
  ASSERT_TRUE(store.open().isOk());
  RawDb raw(path);
  EXPECT_EQ(raw.column("PRAGMA journal_mode"), std::vector<std::string>{"wal"});
}

TEST(SqliteStore, MigrationsAreAppliedOnceAndReopeningChangesNothing) {
  TempDir dir;
  const std::string path = dir.file("tasks.db");
  const std::string latest = std::to_string(migrations().back().version);
  std::vector<std::string> applied;
  {
    SqliteTaskStore store(optionsFor(path));
    ASSERT_TRUE(store.open().isOk());
    RawDb raw(path);
    EXPECT_EQ(raw.column("SELECT version FROM schema_migrations ORDER BY version"),
              (std::vector<std::string>{"1", "2", "3", "4"}));
    EXPECT_EQ(raw.column("PRAGMA user_version"), std::vector<std::string>{latest});
    applied =
        raw.column("SELECT version || ':' || name || ':' || applied_at FROM schema_migrations");
  }
  for (int reopen = 0; reopen < 2; ++reopen) {
    SqliteTaskStore store(optionsFor(path));
    ASSERT_TRUE(store.open().isOk());
    RawDb raw(path);
    EXPECT_EQ(
        raw.column("SELECT version || ':' || name || ':' || applied_at FROM schema_migrations"),
        applied);
  }
  auto db = Connection::open(path, Connection::Mode::kReadWrite, std::chrono::seconds(1));
  ASSERT_TRUE(db.isOk()) << db.status().message();
  Result<int> again = applyMigrations(*db.value(), kT0);
  ASSERT_TRUE(again.isOk()) << again.status().message();
  EXPECT_EQ(*again, 0);
}

TEST(SqliteStore, MigrationsAreNumberedWithoutGaps) {
  int expected = 1;
  for (const Migration& step : migrations()) EXPECT_EQ(step.version, expected++) << step.name;
}

TEST(SqliteStore, RefusesADatabaseFromANewerBuild) {
  TempDir dir;
  const std::string path = dir.file("tasks.db");
  {
    SqliteTaskStore store(optionsFor(path));
    ASSERT_TRUE(store.open().isOk());
  }
  RawDb(path).exec("INSERT INTO schema_migrations VALUES (99, 'from the future', 0)");
  SqliteTaskStore store(optionsFor(path));
  Status status = store.open();
  ASSERT_FALSE(status.isOk());
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(contains(status.message(), "99")) << status.message();
  EXPECT_TRUE(contains(status.message(), path)) << status.message();
}

TEST(SqliteStore, DataSurvivesReopening) {
  TempDir dir;
  const std::string path = dir.file("tasks.db");
  std::int64_t kept_id = 0;
  std::int64_t deleted_id = 0;
  {
    SqliteTaskStore store(optionsFor(path));
    ASSERT_TRUE(store.open().isOk());
    Result<Task> kept = store.create(newTask("kept", kT0));
    Result<Task> deleted = store.create(newTask("deleted", kT0));
    ASSERT_TRUE(kept.isOk() && deleted.isOk());
    kept_id = kept->id;
    deleted_id = deleted->id;
    TaskPatch patch;
    patch.done = true;
    patch.request_at = kT0 + 10;
    ASSERT_TRUE(store.update(kept_id, patch).isOk());
    ASSERT_TRUE(store.remove(deleted_id, kT0 + 20).isOk());
  }
  SqliteTaskStore store(optionsFor(path));
  ASSERT_TRUE(store.open().isOk());
  Result<Task> kept = store.get(kept_id);
  ASSERT_TRUE(kept.isOk()) << kept.status().message();
  EXPECT_EQ(kept->title, "kept");
  EXPECT_TRUE(kept->done);
  EXPECT_EQ(kept->last_request_at, kT0 + 10);
  EXPECT_EQ(store.get(deleted_id).status().code(), StatusCode::kNotFound);
  // The tombstone survived too: a stale request still gets 409, not a resurrection.
  EXPECT_EQ(store.remove(deleted_id, kT0 + 15).code(), StatusCode::kConflict);
  EXPECT_EQ(store.create(newTask("deleted", kT0 + 20)).status().code(), StatusCode::kConflict);
  Result<TaskCounts> counts = store.counts();
  ASSERT_TRUE(counts.isOk());
  EXPECT_EQ(counts->done, 1);
  EXPECT_EQ(counts->open, 0);
  Result<Task> next = store.create(newTask("next", kT0));
  ASSERT_TRUE(next.isOk());
  EXPECT_GT(next->id, deleted_id);
}

TEST(SqliteStore, FolderBlockedByAFileFailsWithThePathAndTheOsError) {
  TempDir dir;
  std::ofstream(dir.file("blocker")) << "a file, not a folder";
  const std::string path = dir.file("blocker/sub/tasks.db");
  SqliteTaskStore store(optionsFor(path));
  Status status = store.open();
  ASSERT_FALSE(status.isOk());
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
  EXPECT_TRUE(contains(status.message(), path)) << status.message();
  EXPECT_TRUE(contains(status.message(), "Not a directory")) << status.message();
}

TEST(SqliteStore, PathThatIsAFolderFailsWithThePath) {
  TempDir dir;
  std::filesystem::create_directories(dir.file("folder.db"));
  const std::string path = dir.file("folder.db");
  SqliteTaskStore store(optionsFor(path));
  Status status = store.open();
  ASSERT_FALSE(status.isOk());
  EXPECT_TRUE(contains(status.message(), path)) << status.message();
  EXPECT_TRUE(contains(status.message(), "unable to open")) << status.message();
}

TEST(SqliteStore, FileThatIsNotADatabaseFailsWithThePath) {
  TempDir dir;
  const std::string path = dir.file("tasks.db");
  std::ofstream(path) << std::string(4096, 'x');
  SqliteTaskStore store(optionsFor(path));
  Status status = store.open();
  ASSERT_FALSE(status.isOk());
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
  EXPECT_TRUE(contains(status.message(), path)) << status.message();
  EXPECT_TRUE(contains(status.message(), "not a database")) << status.message();
}

TEST(SqliteStore, CallsBeforeOpenAndAfterCloseAreUnavailable) {
  TempDir dir;
  SqliteTaskStore store(optionsFor(dir.file("tasks.db")));
  EXPECT_EQ(store.get(1).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store.create(newTask("t", kT0)).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store.ping().code(), StatusCode::kUnavailable);
  ASSERT_TRUE(store.open().isOk());
  Result<Task> task = store.create(newTask("t", kT0));
  ASSERT_TRUE(task.isOk());
  store.close();
  EXPECT_FALSE(store.isOpen());
  EXPECT_EQ(store.get(task->id).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store.list({}).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store.counts().status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store.remove(task->id, kT0 + 1).code(), StatusCode::kUnavailable);
  // Reopening serves the same file again.
  ASSERT_TRUE(store.open().isOk());
  EXPECT_TRUE(store.get(task->id).isOk());
}

TEST(SqliteStore, WriteLockHeldByAnotherProcessGivesUnavailableAndChangesNothing) {
  TempDir dir;
  const std::string path = dir.file("tasks.db");
  StoreOptions options = optionsFor(path);
  options.busy_timeout = std::chrono::milliseconds(50);
  SqliteTaskStore store(options);
  ASSERT_TRUE(store.open().isOk());
  Result<Task> task = store.create(newTask("locked", kT0));
  ASSERT_TRUE(task.isOk());

  RawDb other(path);
  other.exec("BEGIN IMMEDIATE");
  TaskPatch patch;
  patch.content = "while locked";
  patch.request_at = kT0 + 10;
  Result<Task> updated = store.update(task->id, patch);
  ASSERT_FALSE(updated.isOk());
  EXPECT_EQ(updated.status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(contains(updated.status().message(), "locked")) << updated.status().message();
  EXPECT_TRUE(contains(updated.status().message(), "busy_timeout")) << updated.status().message();
  EXPECT_EQ(store.create(newTask("other", kT0)).status().code(), StatusCode::kUnavailable);
  // Readers are not blocked by a writer in WAL mode.
  Result<Task> read = store.get(task->id);
  ASSERT_TRUE(read.isOk()) << read.status().message();
  EXPECT_EQ(read->content, "content");
  other.exec("ROLLBACK");

  // The refused request left no trace: the same timestamp is accepted now.
  updated = store.update(task->id, patch);
  ASSERT_TRUE(updated.isOk()) << updated.status().message();
  EXPECT_EQ(updated->content, "while locked");
}

// A trigger that rolls back the whole transaction for one title: whatever batch that create
// lands in, no request of the batch may be reported as a success that was not committed.
TEST(SqliteStore, FailedBatchNeverReportsUncommittedSuccess) {
  TempDir dir;
  const std::string path = dir.file("tasks.db");
  SqliteTaskStore store(optionsFor(path));
  ASSERT_TRUE(store.open().isOk());
  RawDb(path).exec(
      "CREATE TRIGGER boom BEFORE INSERT ON tasks WHEN NEW.title LIKE 'boom%' "
      "BEGIN SELECT RAISE(ROLLBACK, 'injected failure'); END");

  constexpr int kThreads = 8;
  constexpr int kEach = 20;
  std::mutex mutex;
  std::vector<Task> accepted;
  std::atomic<int> boom_accepted{0};
  std::atomic<int> failed{0};
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < kEach; ++i) {
        const bool boom = (t + i) % 5 == 0;
        std::string title =
            (boom ? "boom " : "fine ") + std::to_string(t) + "-" + std::to_string(i);
        Result<Task> created = store.create(newTask(title, kT0));
        if (!created.isOk()) {
          ++failed;
          EXPECT_NE(created.status().code(), StatusCode::kConflict) << created.status().message();
          continue;
        }
        if (boom) ++boom_accepted;
        std::lock_guard lock(mutex);
        accepted.push_back(std::move(created).value());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  EXPECT_EQ(boom_accepted.load(), 0);
  EXPECT_GE(failed.load(), kThreads * kEach / 5);
  for (const Task& task : accepted) {
    Result<Task> stored = store.get(task.id);
    ASSERT_TRUE(stored.isOk()) << "acknowledged create of '" << task.title
                               << "' is missing: " << stored.status().message();
    EXPECT_EQ(stored->title, task.title);
  }
  Result<TaskCounts> counts = store.counts();
  ASSERT_TRUE(counts.isOk());
  EXPECT_EQ(counts->open, static_cast<std::int64_t>(accepted.size()));
}

// RAISE(ABORT) undoes only the failing statement: the rest of the batch commits.
TEST(SqliteStore, FailedStatementFailsOnlyItsOwnRequest) {
  TempDir dir;
  const std::string path = dir.file("tasks.db");
  SqliteTaskStore store(optionsFor(path));
  ASSERT_TRUE(store.open().isOk());
  RawDb(path).exec(
      "CREATE TRIGGER refuse BEFORE INSERT ON tasks WHEN NEW.title = 'refused' "
      "BEGIN SELECT RAISE(ABORT, 'injected refusal'); END");
  Result<Task> refused = store.create(newTask("refused", kT0));
  ASSERT_FALSE(refused.isOk());
  EXPECT_EQ(refused.status().code(), StatusCode::kInternal);
  EXPECT_TRUE(contains(refused.status().message(), "injected refusal"))
      << refused.status().message();
  EXPECT_TRUE(store.create(newTask("accepted", kT0)).isOk());
  Result<TaskCounts> counts = store.counts();
  ASSERT_TRUE(counts.isOk());
  EXPECT_EQ(counts->open, 1);
}

TEST(SqliteStore, EveryReaderServesConcurrentReadsDuringWrites) {
  TempDir dir;
  StoreOptions options = optionsFor(dir.file("tasks.db"));
  options.readers = 2;
  SqliteTaskStore store(options);
  ASSERT_TRUE(store.open().isOk());
  Result<Task> task = store.create(newTask("read me", kT0));
  ASSERT_TRUE(task.isOk());
  std::atomic<int> read_failures{0};
  std::atomic<bool> writing{true};
  std::vector<std::thread> readers;
  for (int r = 0; r < 6; ++r) {
    readers.emplace_back([&] {
      while (writing.load()) {
        if (!store.get(task->id).isOk()) ++read_failures;
      }
    });
  }
  for (int i = 1; i <= 50; ++i) {
    TaskPatch patch;
    patch.content = "v" + std::to_string(i);
    patch.request_at = kT0 + i;
    ASSERT_TRUE(store.update(task->id, patch).isOk());
  }
  writing = false;
  for (std::thread& reader : readers) reader.join();
  EXPECT_EQ(read_failures.load(), 0);
  Result<Task> last = store.get(task->id);
  ASSERT_TRUE(last.isOk());
  EXPECT_EQ(last->content, "v50");
}

// A sink that holds the read connection it was lent until told to let go.
class HoldingSink final : public TaskRowSink {
 public:
  void onRow(const TaskView&) override {
    if (held_) return;
    held_ = true;
    holding.count_down();
    release.wait();
  }
  std::latch holding{1};
  std::latch release{1};

 private:
  bool held_ = false;
};

// A sink that records who read, while that reader still holds the connection: the order
// of records is the order in which the one connection was handed over.
class RecordingSink final : public TaskRowSink {
 public:
  RecordingSink(std::mutex& mutex, std::vector<std::string>& order, std::string who)
      : mutex_(mutex), order_(order), who_(std::move(who)) {}
  void onRow(const TaskView&) override {
    if (recorded_) return;
    recorded_ = true;
    std::lock_guard lock(mutex_);
    order_.push_back(who_);
  }

 private:
  std::mutex& mutex_;
  std::vector<std::string>& order_;
  std::string who_;
  bool recorded_ = false;
};

TEST(SqliteStore, ReadConnectionsGoToTheLongestWaiterFirst) {
  TempDir dir;
  StoreOptions options = optionsFor(dir.file("tasks.db"));
  options.readers = 1;
  SqliteTaskStore store(options);
  ASSERT_TRUE(store.open().isOk());
  ASSERT_TRUE(store.create(newTask("a", kT0)).isOk());

  TaskQuery query;
  query.limit = 10;
  std::mutex order_mutex;
  std::vector<std::string> order;
  auto readAs = [&](std::string who) {
    RecordingSink sink(order_mutex, order, std::move(who));
    EXPECT_TRUE(store.listRows(query, sink).isOk());
  };
  // The holder keeps the only reader; two readers queue behind it, one after the other.
  HoldingSink holding;
  std::thread holder([&] {
    EXPECT_TRUE(store.listRows(query, holding).isOk());
    // Asks again the moment it lets go: it must queue behind the two already waiting,
    // not take the connection back before they wake.
    readAs("holder");
  });
  holding.holding.wait();
  std::thread first([&] { readAs("first"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  std::thread second([&] { readAs("second"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  holding.release.count_down();
  holder.join();
  first.join();
  second.join();
  EXPECT_EQ(order, (std::vector<std::string>{"first", "second", "holder"}));
}

}  // namespace
}  // namespace appliance::plugins::storage_sqlite
