#include "sqlite_migrations.h"

#include <array>
#include <memory>
#include <string>

namespace appliance::plugins::storage_sqlite {
namespace {

// Append new steps at the end; never edit a step that has shipped.
constexpr std::array<Migration, 4> kMigrations = {{
    {1, "create tasks",
     // Tombstones stay in the table (deleted = 1) so that late requests can be refused.
     // AUTOINCREMENT: an id is never reused, even for the newest task once it is deleted.
     R"sql(
CREATE TABLE tasks (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  title TEXT NOT NULL,
  content TEXT NOT NULL,
  due_date TEXT NOT NULL,
  done INTEGER NOT NULL DEFAULT 0 CHECK (done IN (0, 1)),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  last_request_at INTEGER NOT NULL,
  deleted INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1))
);
-- The create-replay rule: any task with this title and a last_request_at >= the request.
CREATE INDEX tasks_title_request ON tasks (title, last_request_at);
-- GET /tasks?done=...: live tasks by done state, newest first.
CREATE INDEX tasks_live_done ON tasks (done, id) WHERE deleted = 0;
PRAGMA user_version = 1;
)sql"},
    {2, "task counters",
     // counts() reads two rows instead of scanning; triggers keep them exact in the same
     // transaction as the write.
     R"sql(
CREATE TABLE task_counts (
  done INTEGER PRIMARY KEY CHECK (done IN (0, 1)),
  n INTEGER NOT NULL
);
INSERT INTO task_counts (done, n) VALUES
  (0, (SELECT count(*) FROM tasks WHERE deleted = 0 AND done = 0)),
  (1, (SELECT count(*) FROM tasks WHERE deleted = 0 AND done = 1));
CREATE TRIGGER tasks_count_insert AFTER INSERT ON tasks WHEN NEW.deleted = 0
BEGIN
  UPDATE task_counts SET n = n + 1 WHERE done = NEW.done;
END;
CREATE TRIGGER tasks_count_update AFTER UPDATE OF done, deleted ON tasks
  WHEN OLD.done IS NOT NEW.done OR OLD.deleted IS NOT NEW.deleted
BEGIN
  UPDATE task_counts SET n = n - 1 WHERE OLD.deleted = 0 AND done = OLD.done;
  UPDATE task_counts SET n = n + 1 WHERE NEW.deleted = 0 AND done = NEW.done;
END;
CREATE TRIGGER tasks_count_delete AFTER DELETE ON tasks WHEN OLD.deleted = 0
BEGIN
  UPDATE task_counts SET n = n - 1 WHERE done = OLD.done;
END;
PRAGMA user_version = 2;
)sql"},
    {3, "live and tombstone indexes",
     // GET /tasks without a done filter walked the primary key and stepped over every
     // tombstone ever left; this index holds live rows only (tasks_live_done already does for
     // the done filter). The purge finds expired tombstones, oldest first, in the second.
     R"sql(
CREATE INDEX tasks_live_id ON tasks (id) WHERE deleted = 0;
CREATE INDEX tasks_tombstones ON tasks (last_request_at) WHERE deleted = 1;
PRAGMA user_version = 3;
)sql"},
    {4, "kv store",
     // The kv_store service (kv_store.h). Keys compare as bytes (BINARY collation), which is
     // the order list() promises. Versions come from a one-row counter bumped inside the write
     // transaction: it only grows, so a key deleted and re-created never gets an old version
     // back. Expired rows stay until the purge timer deletes them; reads skip them.
     R"sql(
CREATE TABLE appliance_kv (
  ns TEXT NOT NULL,
  key TEXT NOT NULL,
  value BLOB NOT NULL,
  version INTEGER NOT NULL CHECK (version >= 1),
  expires_at INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (ns, key)
);
CREATE INDEX appliance_kv_expiry ON appliance_kv (expires_at) WHERE expires_at <> 0;
CREATE TABLE appliance_kv_version (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  last INTEGER NOT NULL
);
INSERT INTO appliance_kv_version (id, last) VALUES (1, 0);
PRAGMA user_version = 4;
)sql"},
}};

struct Finalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using OwnedStatement = std::unique_ptr<sqlite3_stmt, Finalizer>;

Status recordStep(Connection& db, const Migration& step, std::int64_t now) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(
      db.handle(), "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
      -1, &raw, nullptr);
  OwnedStatement stmt(raw);
  if (rc != SQLITE_OK) return db.error(rc, "recording a schema migration");
  sqlite3_bind_int(raw, 1, step.version);
  bindText(raw, 2, step.name);
  sqlite3_bind_int64(raw, 3, now);
  rc = sqlite3_step(raw);
  if (rc != SQLITE_DONE) return db.error(rc, "recording a schema migration");
  return Status::ok();
}

// Runs one step in its own transaction, unless another process applied it meanwhile.
Status applyStep(Connection& db, const Migration& step, std::int64_t now, bool& applied) {
  applied = false;
  std::string what =
      "schema migration " + std::to_string(step.version) + " (" + std::string(step.name) + ")";
  Status status = db.exec("BEGIN IMMEDIATE", what);
  if (!status.isOk()) return status;
  Result<int> version = schemaVersion(db);
  if (!version.isOk() || *version >= step.version) {
    (void)db.exec("ROLLBACK", what);
    return version.status();
  }
  if (*version != step.version - 1) {
    (void)db.exec("ROLLBACK", what);
    return Status::failedPrecondition(what + ": database is at version " +
                                      std::to_string(*version) + ", expected " +
                                      std::to_string(step.version - 1));
  }
  status = db.exec(step.sql, what);
  if (status.isOk()) status = recordStep(db, step, now);
  if (status.isOk()) status = db.exec("COMMIT", what);
  if (!status.isOk()) {
    if (db.inTransaction()) (void)db.exec("ROLLBACK", what);
    return status;
  }
  applied = true;
  return Status::ok();
}

}  // namespace

std::span<const Migration> migrations() { return kMigrations; }

Result<int> schemaVersion(Connection& db) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(
      db.handle(), "SELECT coalesce(max(version), 0) FROM schema_migrations", -1, &raw, nullptr);
  OwnedStatement stmt(raw);
  if (rc != SQLITE_OK) return db.error(rc, "reading the schema version");
  rc = sqlite3_step(raw);
  if (rc != SQLITE_ROW) return db.error(rc, "reading the schema version");
  return sqlite3_column_int(raw, 0);
}

Result<int> applyMigrations(Connection& db, std::int64_t now) {
  Status status = db.exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT "
      "NULL, applied_at INTEGER NOT NULL)",
      "creating the schema_migrations table");
  if (!status.isOk()) return status;
  Result<int> current = schemaVersion(db);
  if (!current.isOk()) return current.status();
  const int latest = kMigrations.back().version;
  if (*current > latest) {
    return Status::failedPrecondition("database schema version " + std::to_string(*current) +
                                      " is newer than this build supports (" +
                                      std::to_string(latest) +
                                      "); run a newer appliance or restore a matching backup");
  }
  int applied_count = 0;
  for (const Migration& step : kMigrations) {
    if (step.version <= *current) continue;
    bool applied = false;
    status = applyStep(db, step, now, applied);
    if (!status.isOk()) return status;
    if (applied) ++applied_count;
  }
  return applied_count;
}

}  // namespace appliance::plugins::storage_sqlite
