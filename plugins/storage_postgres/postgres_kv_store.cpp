#include "postgres_kv_store.h"

#include <algorithm>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace appliance::plugins::storage_postgres {
namespace {

constexpr auto kMaxStoredVersion =
    static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

// libpq sends a null pointer as SQL NULL: an empty value must stay an empty value.
std::string_view nonNull(std::string_view text) {
  return text.data() != nullptr ? text : std::string_view("", 0);
}

std::string bytesAt(const PGresult* result, int row, int column) {
  return std::string(PQgetvalue(result, row, column),
                     static_cast<std::size_t>(PQgetlength(result, row, column)));
}

Status versionConflict(std::string_view key, std::uint64_t expected, std::uint64_t actual) {
  std::string found = actual == 0          ? std::string("<absent>")
                      : actual == expected ? std::string("a newer version (written concurrently)")
                                           : std::to_string(actual);
  return Status::conflict(
      "kv key '" + std::string(key) + "': expected version " +
      (expected == kKvMustNotExist ? std::string("<absent>") : std::to_string(expected)) +
      ", found " + found);
}

// The live version in the conflict row's column (NULL: absent or expired).
std::uint64_t liveVersion(const PGresult* result, int column) {
  if (PQntuples(result) < 1 || PQgetisnull(result, 0, column)) return 0;
  return static_cast<std::uint64_t>(readInt(result, 0, column));
}

// false when longer than any key (a prefix that long matches nothing); the key rules else.
Result<bool> checkListBound(std::string_view ns, std::string_view what, std::string_view text) {
  if (text.empty()) return true;
  if (text.size() > kKvMaxKeyBytes) return false;
  if (Status s = validateKvKey(ns, text); !s.isOk()) {
    return Status::invalid("kv list " + std::string(what) + ": " + s.message());
  }
  return true;
}

// FNV-1a 64 of ns NUL key: a batch's advisory lock key (a collision only serialises more).
std::int64_t lockKey(std::string_view ns, std::string_view key) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  auto mix = [&](unsigned char c) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  };
  for (unsigned char c : ns) mix(c);
  mix(0);
  for (unsigned char c : key) mix(c);
  return static_cast<std::int64_t>(hash);
}

}  // namespace

PostgresKvStore::PostgresKvStore(std::shared_ptr<PostgresTaskStore> tasks, const Clock* clock)
    : tasks_(std::move(tasks)), clock_(clock) {}

Timestamp PostgresKvStore::now() const {
  auto tp = clock_ != nullptr ? clock_->now() : std::chrono::system_clock::now();
  return std::chrono::duration_cast<std::chrono::microseconds>(tp.time_since_epoch()).count();
}

Result<std::optional<KvEntry>> PostgresKvStore::get(std::string_view ns, std::string_view key) {
  if (Status s = validateKvKey(ns, key); !s.isOk()) return s;
  Params params;
  params.text(ns);
  params.text(key);
  params.int8(now());
  PgResult result;
  if (Status s = tasks_->runStatement(Statement::kKvGet, params, result, /*idempotent=*/true);
      !s.isOk()) {
    return s;
  }
  const PGresult* rows = result.get();
  if (PQntuples(rows) == 0) return std::optional<KvEntry>{};
  KvEntry entry;
  entry.key = std::string(key);
  entry.value = bytesAt(rows, 0, 0);
  entry.version = static_cast<std::uint64_t>(readInt(rows, 0, 1));
  entry.expires_at = readInt(rows, 0, 2);
  return std::optional<KvEntry>{std::move(entry)};
}

Status PostgresKvStore::applyWrite(const Runner& run, std::string_view ns, const KvWrite& w,
                                   Timestamp at, std::uint64_t* version_out, bool* deleted_live) {
  const std::uint64_t expected = w.expected_version;
  if (expected != kKvAnyVersion && expected > kMaxStoredVersion) {
    return versionConflict(w.key, expected, 0);  // no stored version is that large
  }
  Params params;
  params.text(ns);
  params.text(w.key);
  PgResult result;
  if (w.op == KvWrite::Op::kDelete) {
    if (expected == kKvAnyVersion) {
      params.null();
    } else {
      params.int8(static_cast<std::int64_t>(expected));
    }
    params.int8(at);
    if (Status s = run(Statement::kKvRemove, params, result); !s.isOk()) return s;
    const PGresult* rows = result.get();
    if (PQntuples(rows) != 1) return Status::internal("kv_remove returned no outcome row");
    if (readBool(rows, 0, 0)) {
      if (deleted_live != nullptr) *deleted_live = readBool(rows, 0, 1);
      return Status::ok();
    }
    const std::uint64_t actual = liveVersion(rows, 2);
    if (deleted_live != nullptr) *deleted_live = false;
    if (expected == kKvAnyVersion || (expected == kKvMustNotExist && actual == 0)) {
      return Status::ok();
    }
    tasks_->metrics().countFailure(FailureKind::kConflict);
    return versionConflict(w.key, expected, actual);
  }
  params.text(nonNull(w.value));
  const bool conditional = expected != kKvAnyVersion && expected != kKvMustNotExist;
  if (conditional) {
    params.int8(static_cast<std::int64_t>(expected));
  } else {
    params.boolean(expected == kKvMustNotExist);
  }
  params.int8(w.expires_at);
  params.int8(at);
  if (Status s = run(conditional ? Statement::kKvPutVersion : Statement::kKvPut, params, result);
      !s.isOk()) {
    return s;
  }
  const PGresult* rows = result.get();
  if (PQntuples(rows) != 1) return Status::internal("kv_put returned no outcome row");
  if (!readBool(rows, 0, 0)) {
    tasks_->metrics().countFailure(FailureKind::kConflict);
    return versionConflict(w.key, expected, liveVersion(rows, 1));
  }
  if (version_out != nullptr) *version_out = static_cast<std::uint64_t>(readInt(rows, 0, 1));
  return Status::ok();
}

Result<std::uint64_t> PostgresKvStore::put(std::string_view ns, std::string_view key,
                                           std::string_view value, std::uint64_t expected_version,
                                           Timestamp expires_at) {
  KvWrite write{KvWrite::Op::kPut, std::string(key), std::string(value), expected_version,
                expires_at};
  if (Status s = validateKvWrite(ns, write); !s.isOk()) return s;
  std::uint64_t version = 0;
  const Runner run = [this](Statement statement, const Params& params, PgResult& result) {
    return tasks_->runStatement(statement, params, result, /*idempotent=*/false);
  };
  if (Status s = applyWrite(run, ns, write, now(), &version, nullptr); !s.isOk()) return s;
  return version;
}

Result<bool> PostgresKvStore::remove(std::string_view ns, std::string_view key,
                                     std::uint64_t expected_version) {
  KvWrite write{KvWrite::Op::kDelete, std::string(key), {}, expected_version, 0};
  if (Status s = validateKvWrite(ns, write); !s.isOk()) return s;
  bool deleted = false;
  const Runner run = [this](Statement statement, const Params& params, PgResult& result) {
    return tasks_->runStatement(statement, params, result, /*idempotent=*/false);
  };
  if (Status s = applyWrite(run, ns, write, now(), nullptr, &deleted); !s.isOk()) return s;
  return deleted;
}

Status PostgresKvStore::write(std::string_view ns, std::span<const KvWrite> writes) {
  for (const KvWrite& w : writes) {
    if (Status s = validateKvWrite(ns, w); !s.isOk()) return s;
  }
  if (writes.empty()) return Status::ok();
  std::vector<std::int64_t> keys;
  keys.reserve(writes.size());
  for (const KvWrite& w : writes) keys.push_back(lockKey(ns, w.key));
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  std::string key_buffer;
  const Timestamp at = now();
  return tasks_->runTransaction([&](const PostgresTaskStore::TransactionStep& step) -> Status {
    Params lock;
    lock.int8Array(keys, key_buffer);
    PgResult locked;
    if (Status s = step(Statement::kKvLock, lock, locked); !s.isOk()) return s;
    for (const KvWrite& w : writes) {
      if (Status s = applyWrite(step, ns, w, at, nullptr, nullptr); !s.isOk()) return s;
    }
    return Status::ok();
  });
}

Result<std::vector<KvEntry>> PostgresKvStore::list(std::string_view ns, std::string_view prefix,
                                                   std::string_view start_after,
                                                   std::size_t limit) {
  if (Status s = validateKvKey(ns, "x"); !s.isOk()) return s;
  std::vector<KvEntry> out;
  Result<bool> usable_prefix = checkListBound(ns, "prefix", prefix);
  if (!usable_prefix.isOk()) return usable_prefix.status();
  if (!*usable_prefix) return out;  // longer than any key: nothing starts with it
  Result<bool> usable_after = checkListBound(ns, "start_after", start_after);
  if (!usable_after.isOk()) return usable_after.status();
  const std::string upper = kvPrefixUpperBound(prefix);
  Params params;
  params.text(ns);
  params.text(nonNull(prefix));
  params.text(upper);
  params.text(nonNull(start_after));
  params.int8(now());
  if (limit == 0) {
    params.null();
  } else {
    params.int8(static_cast<std::int64_t>(
        std::min<std::size_t>(limit, static_cast<std::size_t>(kMaxStoredVersion))));
  }
  PgResult result;
  if (Status s = tasks_->runStatement(Statement::kKvList, params, result, /*idempotent=*/true);
      !s.isOk()) {
    return s;
  }
  const PGresult* rows = result.get();
  const int count = PQntuples(rows);
  out.reserve(static_cast<std::size_t>(count));
  for (int row = 0; row < count; ++row) {
    KvEntry entry;
    entry.key = bytesAt(rows, row, 0);
    entry.value = bytesAt(rows, row, 1);
    entry.version = static_cast<std::uint64_t>(readInt(rows, row, 2));
    entry.expires_at = readInt(rows, row, 3);
    out.push_back(std::move(entry));
  }
  return out;
}

Result<std::int64_t> PostgresKvStore::purgeExpired() {
  Params params;
  params.int8(now() -
              std::chrono::duration_cast<std::chrono::microseconds>(kKvPurgeMargin).count());
  params.int8(kKvPurgeBatch);
  PgResult result;
  if (Status s = tasks_->runStatement(Statement::kKvPurge, params, result, /*idempotent=*/true);
      !s.isOk()) {
    return s;
  }
  return readInt(result.get(), 0, 0);
}

}  // namespace appliance::plugins::storage_postgres
