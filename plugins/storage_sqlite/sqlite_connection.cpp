#include "sqlite_connection.h"

#include <cerrno>
#include <cstring>
#include <string>

namespace appliance::plugins::storage_sqlite {
namespace {

// The task columns every task-returning statement yields, in readTask() order.
#define TASK_COLUMNS "id, title, content, due_date, done, created_at, updated_at, last_request_at"

constexpr std::array<const char*, static_cast<std::size_t>(Sql::kCount_)> kSqlText = {
    // kBegin: IMMEDIATE takes the write lock up front, so a transaction never fails half-way
    // on a lock upgrade.
    "BEGIN IMMEDIATE",
    // kCommit
    "COMMIT",
    // kRollback
    "ROLLBACK",
    // kGetTask (?1 id)
    "SELECT " TASK_COLUMNS " FROM tasks WHERE id = ?1 AND deleted = 0",
    // kListAll (?1 before id, ?2 due_before, ?3 due_after, ?4 limit): walks the partial index
    // of live rows tasks_live_id backwards, so a page never steps over tombstones. INDEXED BY:
    // without statistics the planner prefers the rowid range, which does; and a schema that
    // lost the index fails to prepare instead of silently slowing down.
    "SELECT " TASK_COLUMNS
    " FROM tasks INDEXED BY tasks_live_id WHERE deleted = 0 AND id < ?1"
    " AND (?2 IS NULL OR due_date < ?2) AND (?3 IS NULL OR due_date > ?3)"
    " ORDER BY id DESC LIMIT ?4",
    // kListByDone (as kListAll, ?5 done): the partial index of live rows tasks_live_done.
    "SELECT " TASK_COLUMNS
    " FROM tasks INDEXED BY tasks_live_done WHERE deleted = 0 AND done = ?5 AND id < ?1"
    " AND (?2 IS NULL OR due_date < ?2) AND (?3 IS NULL OR due_date > ?3)"
    " ORDER BY id DESC LIMIT ?4",
    // kFindReplay (?1 title, ?2 request_at): a task (tombstones included) with this title whose
    // last accepted request is not older than this one makes a create a replay.
    "SELECT 1 FROM tasks WHERE title = ?1 AND last_request_at >= ?2 LIMIT 1",
    // kInsertTask (?1 title, ?2 content, ?3 due_date, ?4 now, ?5 request_at)
    "INSERT INTO tasks (title, content, due_date, done, created_at, updated_at, last_request_at,"
    " deleted) VALUES (?1, ?2, ?3, 0, ?4, ?4, ?5, 0) RETURNING id",
    // kUpdateTask (?1 title, ?2 content, ?3 due_date, ?4 done: NULL keeps the value; ?5 now,
    // ?6 request_at, ?7 id): applies only when strictly newer than the last accepted write.
    "UPDATE tasks SET title = coalesce(?1, title), content = coalesce(?2, content),"
    " due_date = coalesce(?3, due_date), done = coalesce(?4, done), updated_at = ?5,"
    " last_request_at = ?6 WHERE id = ?7 AND deleted = 0 AND last_request_at < ?6"
    " RETURNING " TASK_COLUMNS,
    // kDeleteTask (?1 now, ?2 request_at, ?3 id): leaves a tombstone keeping last_request_at.
    "UPDATE tasks SET deleted = 1, updated_at = ?1, last_request_at = ?2"
    " WHERE id = ?3 AND deleted = 0 AND last_request_at < ?2",
    // kTaskState (?1 id): why a conditional write changed nothing (404 or 409).
    "SELECT last_request_at, deleted FROM tasks WHERE id = ?1",
    // kCounts
    "SELECT done, n FROM task_counts",
    // kPing
    "SELECT max(version) FROM schema_migrations",
    // kPurgeTombstones (?1 cutoff, ?2 limit): the oldest tombstones whose last request is
    // before the cutoff, found through the partial index tasks_tombstones.
    "DELETE FROM tasks WHERE id IN (SELECT id FROM tasks WHERE deleted = 1"
    " AND last_request_at < ?1 ORDER BY last_request_at LIMIT ?2) AND deleted = 1",
    // kKvGet (?1 ns, ?2 key, ?3 now): the live entry.
    "SELECT value, version, expires_at FROM appliance_kv WHERE ns = ?1 AND key = ?2"
    " AND (expires_at = 0 OR expires_at > ?3)",
    // kKvList (?1 ns, ?2 prefix, ?3 first string after every key with the prefix, ?4 start
    // after, ?5 now, ?6 limit; -1: all): a range of the primary key, in byte order.
    "SELECT key, value, version, expires_at FROM appliance_kv WHERE ns = ?1 AND key >= ?2"
    " AND key < ?3 AND key > ?4 AND (expires_at = 0 OR expires_at > ?5) ORDER BY key LIMIT ?6",
    // kKvCurrent (?1 ns, ?2 key): the row, live or expired, inside the write transaction.
    "SELECT version, expires_at FROM appliance_kv WHERE ns = ?1 AND key = ?2",
    // kKvNextVersion: the store-wide version counter, which never goes back.
    "UPDATE appliance_kv_version SET last = last + 1 WHERE id = 1 RETURNING last",
    // kKvUpsert (?1 ns, ?2 key, ?3 value, ?4 version, ?5 expires_at)
    "INSERT INTO appliance_kv (ns, key, value, version, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)"
    " ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, version = excluded.version,"
    " expires_at = excluded.expires_at",
    // kKvDelete (?1 ns, ?2 key)
    "DELETE FROM appliance_kv WHERE ns = ?1 AND key = ?2",
    // kKvPurge (?1 cutoff, ?2 limit): expired rows, oldest first, through appliance_kv_expiry.
    "DELETE FROM appliance_kv WHERE rowid IN (SELECT rowid FROM appliance_kv"
    " WHERE expires_at <> 0 AND expires_at <= ?1 ORDER BY expires_at LIMIT ?2)",
    // kKvSavepoint, kKvRelease, kKvRollbackTo: one kv call inside a group commit applies
    // entirely or not at all, whatever the other requests of the batch do.
    "SAVEPOINT kv",
    "RELEASE kv",
    "ROLLBACK TO kv",
};

#undef TASK_COLUMNS

std::string osError(sqlite3* db) {
  int err = db ? sqlite3_system_errno(db) : 0;
  if (err == 0) return {};
  return std::string(" (OS error: ") + std::strerror(err) + ")";
}

}  // namespace

std::string_view sqlText(Sql id) { return kSqlText[static_cast<std::size_t>(id)]; }

Result<std::unique_ptr<Connection>> Connection::open(const std::string& path, Mode mode,
                                                     std::chrono::milliseconds busy_timeout) {
  int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_PRIVATECACHE;
  flags |= mode == Mode::kReadWrite ? (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
                                    : SQLITE_OPEN_READONLY;
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = "cannot open SQLite database '" + path +
                          "': " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)) + osError(db);
    sqlite3_close_v2(db);
    return Status::unavailable(std::move(message));
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, static_cast<int>(busy_timeout.count()));
  return std::unique_ptr<Connection>(new Connection(db, busy_timeout));
}

Connection::~Connection() {
  for (sqlite3_stmt* stmt : statements_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

Status Connection::exec(std::string_view sql, std::string_view what) {
  std::string text(sql);
  char* message = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return Status::ok();
  sqlite3_free(message);  // error() reads the same text from the connection
  return error(rc, what);
}

Result<sqlite3_stmt*> Connection::statement(Sql id) {
  auto index = static_cast<std::size_t>(id);
  if (statements_[index] != nullptr) return statements_[index];
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, kSqlText[index], -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return error(rc, "preparing a statement");
  statements_[index] = stmt;
  return stmt;
}

Status Connection::error(int rc, std::string_view what) const {
  std::string message(what);
  message += ": ";
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      message += "database is locked by another connection or process for longer than ";
      message += "busy_timeout (" + std::to_string(busy_timeout_.count()) + "ms): ";
      message += sqlite3_errmsg(db_);
      return Status::unavailable(std::move(message));
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PROTOCOL:
    case SQLITE_NOMEM:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_PERM:
      message += sqlite3_errmsg(db_);
      message += osError(db_);
      return Status::unavailable(std::move(message));
    default:
      message += sqlite3_errmsg(db_);
      message += " (SQLite code " + std::to_string(rc) + ")";
      return Status::internal(std::move(message));
  }
}

int bindText(sqlite3_stmt* stmt, int index, std::string_view text) {
  // A null pointer would bind SQL NULL; an empty string must stay an empty string.
  const char* data = text.data() != nullptr ? text.data() : "";
  return sqlite3_bind_text64(stmt, index, data, text.size(), SQLITE_STATIC, SQLITE_UTF8);
}

int bindOptionalText(sqlite3_stmt* stmt, int index, const std::string* text) {
  return text ? bindText(stmt, index, *text) : sqlite3_bind_null(stmt, index);
}

std::string_view columnView(sqlite3_stmt* stmt, int column) {
  // sqlite3_column_text before sqlite3_column_bytes: the documented order for a stable length.
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, column));
  if (text == nullptr) return {};
  return std::string_view(text, static_cast<std::size_t>(sqlite3_column_bytes(stmt, column)));
}

std::string columnText(sqlite3_stmt* stmt, int column) {
  return std::string(columnView(stmt, column));
}

}  // namespace appliance::plugins::storage_sqlite
