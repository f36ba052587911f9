#pragma once
// Connection: one sqlite3 handle with its cache of persistent prepared statements.
// A Connection is not thread-safe: the store hands each one to one thread at a time (the
// writer under its lock, readers through the pool), so SQLite runs in multi-thread mode
// (SQLITE_OPEN_NOMUTEX) without its own per-call mutex.

#include <sqlite3.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "appliance/status.h"

namespace appliance::plugins::storage_sqlite {

// Every statement the store runs; the SQL texts live in sqlite_connection.cpp. Values are
// always bound, never formatted into SQL.
enum class Sql : std::size_t {
  kBegin,
  kCommit,
  kRollback,
  kGetTask,
  kListAll,
  kListByDone,
  kFindReplay,
  kInsertTask,
  kUpdateTask,
  kDeleteTask,
  kTaskState,
  kCounts,
  kPing,
  kPurgeTombstones,
  kKvGet,
  kKvList,
  kKvCurrent,
  kKvNextVersion,
  kKvUpsert,
  kKvDelete,
  kKvPurge,
  kKvSavepoint,
  kKvRelease,
  kKvRollbackTo,
  kCount_,  // number of statements; keep last
};

// The SQL text of a statement (tests check its query plan).
std::string_view sqlText(Sql id);

class Connection {
 public:
  enum class Mode { kReadWrite, kReadOnly };

  // Opens `path` (created when kReadWrite) with the busy timeout set. Errors name the path
  // and carry SQLite's and the OS's message.
  static Result<std::unique_ptr<Connection>> open(const std::string& path, Mode mode,
                                                  std::chrono::milliseconds busy_timeout);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  sqlite3* handle() const { return db_; }

  // Runs fixed SQL text without values (pragmas, DDL). `what` prefixes the error message.
  Status exec(std::string_view sql, std::string_view what);
  // The cached statement for `id`, prepared on first use (SQLITE_PREPARE_PERSISTENT).
  Result<sqlite3_stmt*> statement(Sql id);
  // Maps a SQLite result code (and this connection's last error) to a Status:
  // busy/locked and I/O-like faults -> kUnavailable, the rest -> kInternal.
  Status error(int rc, std::string_view what) const;

  bool inTransaction() const { return sqlite3_get_autocommit(db_) == 0; }

 private:
  Connection(sqlite3* db, std::chrono::milliseconds busy_timeout)
      : db_(db), busy_timeout_(busy_timeout) {}

  sqlite3* db_;
  std::chrono::milliseconds busy_timeout_;
  std::array<sqlite3_stmt*, static_cast<std::size_t>(Sql::kCount_)> statements_{};
};

// Resets a cached statement when the scope ends, so it never holds a read snapshot or a
// lock after use. Bindings are always all rebound, so they are not cleared.
class StatementScope {
 public:
  explicit StatementScope(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~StatementScope() { sqlite3_reset(stmt_); }
  StatementScope(const StatementScope&) = delete;
  StatementScope& operator=(const StatementScope&) = delete;
  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_;
};

// Binding helpers (1-based parameter index, as in SQLite). Text is bound SQLITE_STATIC: the
// caller keeps it alive until the statement is reset.
int bindText(sqlite3_stmt* stmt, int index, std::string_view text);
int bindOptionalText(sqlite3_stmt* stmt, int index, const std::string* text);
std::string columnText(sqlite3_stmt* stmt, int column);
// The same text lent from SQLite's buffer: valid until the statement steps, resets or ends.
std::string_view columnView(sqlite3_stmt* stmt, int column);

}  // namespace appliance::plugins::storage_sqlite
