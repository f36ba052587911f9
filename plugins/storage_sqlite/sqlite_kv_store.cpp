#include "sqlite_kv_store.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <limits>
#include <string>
#include <utility>

namespace appliance::plugins::storage_sqlite {
namespace {

bool isLive(Timestamp expires_at, Timestamp now) { return expires_at == 0 || expires_at > now; }

Status versionConflict(std::string_view key, std::uint64_t expected, std::uint64_t actual) {
  return Status::conflict(
      "kv key '" + std::string(key) + "': expected version " +
      (expected == kKvMustNotExist ? std::string("<absent>") : std::to_string(expected)) +
      ", found " + (actual == 0 ? std::string("<absent>") : std::to_string(actual)));
}

int bindBlob(sqlite3_stmt* stmt, int index, std::string_view bytes) {
  // A null pointer would bind SQL NULL; an empty value must stay an empty value.
  const char* data = bytes.data() != nullptr ? bytes.data() : "";
  return sqlite3_bind_blob64(stmt, index, data, bytes.size(), SQLITE_STATIC);
}

std::string columnBlob(sqlite3_stmt* stmt, int column) {
  const auto* data = static_cast<const char*>(sqlite3_column_blob(stmt, column));
  const int size = sqlite3_column_bytes(stmt, column);
  return data != nullptr ? std::string(data, static_cast<std::size_t>(size)) : std::string();
}

// list()'s prefix and start_after: false when longer than any key (a prefix that long matches
// nothing); otherwise the same text rules as keys.
Result<bool> checkListBound(std::string_view ns, std::string_view what, std::string_view text) {
  if (text.empty()) return true;
  if (text.size() > kKvMaxKeyBytes) return false;
  if (Status s = validateKvKey(ns, text); !s.isOk()) {
    return Status::invalid("kv list " + std::string(what) + ": " + s.message());
  }
  return true;
}

// One put or delete inside the writer transaction, with its compare-and-set.
struct KvApply {
  Connection& db;
  std::string_view ns;
  Timestamp now;

  Result<std::uint64_t> nextVersion() {
    Result<sqlite3_stmt*> stmt = db.statement(Sql::kKvNextVersion);
    if (!stmt.isOk()) return stmt.status();
    StatementScope scope(*stmt);
    int rc = sqlite3_step(*stmt);
    if (rc != SQLITE_ROW) return db.error(rc, "allocating a kv version");
    const auto version = static_cast<std::uint64_t>(sqlite3_column_int64(*stmt, 0));
    rc = sqlite3_step(*stmt);
    if (rc != SQLITE_DONE) return db.error(rc, "allocating a kv version");
    return version;
  }

  // The key's row: (version, live), or version 0 when there is none.
  Status current(std::string_view key, std::uint64_t& version, bool& live) {
    Result<sqlite3_stmt*> stmt = db.statement(Sql::kKvCurrent);
    if (!stmt.isOk()) return stmt.status();
    StatementScope scope(*stmt);
    bindText(*stmt, 1, ns);
    bindText(*stmt, 2, key);
    int rc = sqlite3_step(*stmt);
    version = 0;
    live = false;
    if (rc == SQLITE_DONE) return Status::ok();
    if (rc != SQLITE_ROW) return db.error(rc, "reading kv key '" + std::string(key) + "'");
    version = static_cast<std::uint64_t>(sqlite3_column_int64(*stmt, 0));
    live = isLive(sqlite3_column_int64(*stmt, 1), now);
    return Status::ok();
  }

  // Applies `w` (already validated). `version_out`: the new version of a put; `deleted_live`:
  // whether a delete removed a live entry.
  Status apply(const KvWrite& w, std::uint64_t* version_out, bool* deleted_live) {
    std::uint64_t version = 0;
    bool live = false;
    if (Status s = current(w.key, version, live); !s.isOk()) return s;
    const std::uint64_t actual = live ? version : 0;
    if (w.expected_version != kKvAnyVersion && w.expected_version != actual) {
      return versionConflict(w.key, w.expected_version, actual);
    }
    if (w.op == KvWrite::Op::kDelete) {
      if (deleted_live != nullptr) *deleted_live = live;
      if (version == 0) return Status::ok();
      Result<sqlite3_stmt*> stmt = db.statement(Sql::kKvDelete);
      if (!stmt.isOk()) return stmt.status();
      StatementScope scope(*stmt);
      bindText(*stmt, 1, ns);
      bindText(*stmt, 2, w.key);
      int rc = sqlite3_step(*stmt);
      return rc == SQLITE_DONE ? Status::ok() : db.error(rc, "deleting kv key '" + w.key + "'");
    }
    Result<std::uint64_t> next = nextVersion();
    if (!next.isOk()) return next.status();
    Result<sqlite3_stmt*> stmt = db.statement(Sql::kKvUpsert);
    if (!stmt.isOk()) return stmt.status();
    StatementScope scope(*stmt);
    bindText(*stmt, 1, ns);
    bindText(*stmt, 2, w.key);
    bindBlob(*stmt, 3, w.value);
    sqlite3_bind_int64(*stmt, 4, static_cast<std::int64_t>(*next));
    sqlite3_bind_int64(*stmt, 5, w.expires_at);
    int rc = sqlite3_step(*stmt);
    if (rc != SQLITE_DONE) return db.error(rc, "writing kv key '" + w.key + "'");
    if (version_out != nullptr) *version_out = *next;
    return Status::ok();
  }
};

}  // namespace

SqliteKvStore::SqliteKvStore(std::shared_ptr<SqliteTaskStore> tasks, const Clock* clock)
    : tasks_(std::move(tasks)), clock_(clock) {}

Timestamp SqliteKvStore::now() const {
  auto tp = clock_ != nullptr ? clock_->now() : std::chrono::system_clock::now();
  return std::chrono::duration_cast<std::chrono::microseconds>(tp.time_since_epoch()).count();
}

Result<std::optional<KvEntry>> SqliteKvStore::get(std::string_view ns, std::string_view key) {
  if (Status s = validateKvKey(ns, key); !s.isOk()) return s;
  std::optional<KvEntry> found;
  const Timestamp at = now();
  Status status = tasks_->runRead([&](Connection& db) -> Status {
    Result<sqlite3_stmt*> stmt = db.statement(Sql::kKvGet);
    if (!stmt.isOk()) return stmt.status();
    StatementScope scope(*stmt);
    bindText(*stmt, 1, ns);
    bindText(*stmt, 2, key);
    sqlite3_bind_int64(*stmt, 3, at);
    int rc = sqlite3_step(*stmt);
    if (rc == SQLITE_DONE) return Status::ok();
    if (rc != SQLITE_ROW) return db.error(rc, "reading kv key '" + std::string(key) + "'");
    KvEntry entry;
    entry.key = std::string(key);
    entry.value = columnBlob(*stmt, 0);
    entry.version = static_cast<std::uint64_t>(sqlite3_column_int64(*stmt, 1));
    entry.expires_at = sqlite3_column_int64(*stmt, 2);
    found = std::move(entry);
    return Status::ok();
  });
  if (!status.isOk()) return status;
  return found;
}

Result<std::uint64_t> SqliteKvStore::put(std::string_view ns, std::string_view key,
                                         std::string_view value, std::uint64_t expected_version,
                                         Timestamp expires_at) {
  KvWrite write{KvWrite::Op::kPut, std::string(key), std::string(value), expected_version,
                expires_at};
  if (Status s = validateKvWrite(ns, write); !s.isOk()) return s;
  std::uint64_t version = 0;
  const Timestamp at = now();
  Status status = tasks_->runWrite([&](Connection& db) {
    return KvApply{db, ns, at}.apply(write, &version, nullptr);
  });
  if (!status.isOk()) return status;
  return version;
}

Result<bool> SqliteKvStore::remove(std::string_view ns, std::string_view key,
                                   std::uint64_t expected_version) {
  KvWrite write{KvWrite::Op::kDelete, std::string(key), {}, expected_version, 0};
  if (Status s = validateKvWrite(ns, write); !s.isOk()) return s;
  bool deleted = false;
  const Timestamp at = now();
  Status status = tasks_->runWrite([&](Connection& db) {
    return KvApply{db, ns, at}.apply(write, nullptr, &deleted);
  });
  if (!status.isOk()) return status;
  return deleted;
}

Status SqliteKvStore::write(std::string_view ns, std::span<const KvWrite> writes) {
  for (const KvWrite& w : writes) {
    if (Status s = validateKvWrite(ns, w); !s.isOk()) return s;
  }
  if (writes.empty()) return Status::ok();
  const Timestamp at = now();
  // One savepoint for the whole batch: the first failure rolls every write of it back.
  return tasks_->runWrite([&](Connection& db) -> Status {
    KvApply applier{db, ns, at};
    for (const KvWrite& w : writes) {
      if (Status s = applier.apply(w, nullptr, nullptr); !s.isOk()) return s;
    }
    return Status::ok();
  });
}

Result<std::vector<KvEntry>> SqliteKvStore::list(std::string_view ns, std::string_view prefix,
                                                 std::string_view start_after, std::size_t limit) {
  if (Status s = validateKvKey(ns, "x"); !s.isOk()) return s;
  std::vector<KvEntry> out;
  Result<bool> usable_prefix = checkListBound(ns, "prefix", prefix);
  if (!usable_prefix.isOk()) return usable_prefix.status();
  if (!*usable_prefix) return out;  // longer than any key: nothing starts with it
  // A start_after longer than any key is still a bound that orders correctly.
  Result<bool> usable_after = checkListBound(ns, "start_after", start_after);
  if (!usable_after.isOk()) return usable_after.status();
  const std::string upper = kvPrefixUpperBound(prefix);
  const Timestamp at = now();
  const std::int64_t max_rows =
      limit == 0 ? -1
                 : static_cast<std::int64_t>(std::min<std::size_t>(
                       limit, static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max())));
  Status status = tasks_->runRead([&](Connection& db) -> Status {
    Result<sqlite3_stmt*> stmt = db.statement(Sql::kKvList);
    if (!stmt.isOk()) return stmt.status();
    StatementScope scope(*stmt);
    bindText(*stmt, 1, ns);
    bindText(*stmt, 2, prefix);
    bindText(*stmt, 3, upper);
    bindText(*stmt, 4, start_after);
    sqlite3_bind_int64(*stmt, 5, at);
    sqlite3_bind_int64(*stmt, 6, max_rows);
    int rc;
    while ((rc = sqlite3_step(*stmt)) == SQLITE_ROW) {
      KvEntry entry;
      entry.key = columnText(*stmt, 0);
      entry.value = columnBlob(*stmt, 1);
      entry.version = static_cast<std::uint64_t>(sqlite3_column_int64(*stmt, 2));
      entry.expires_at = sqlite3_column_int64(*stmt, 3);
      out.push_back(std::move(entry));
    }
    return rc == SQLITE_DONE ? Status::ok() : db.error(rc, "listing kv keys");
  });
  if (!status.isOk()) return status;
  return out;
}

Result<std::int64_t> SqliteKvStore::purgeExpired(std::int64_t limit) {
  const Timestamp cutoff =
      now() - std::chrono::duration_cast<std::chrono::microseconds>(kKvPurgeMargin).count();
  std::int64_t purged = 0;
  Status status = tasks_->runWrite([&](Connection& db) -> Status {
    Result<sqlite3_stmt*> stmt = db.statement(Sql::kKvPurge);
    if (!stmt.isOk()) return stmt.status();
    StatementScope scope(*stmt);
    sqlite3_bind_int64(*stmt, 1, cutoff);
    sqlite3_bind_int64(*stmt, 2, limit);
    int rc = sqlite3_step(*stmt);
    if (rc != SQLITE_DONE) return db.error(rc, "purging expired kv entries");
    purged = sqlite3_changes(db.handle());
    return Status::ok();
  });
  if (!status.isOk()) return status;
  return purged;
}

}  // namespace appliance::plugins::storage_sqlite
