#pragma once
// SqliteKvStore: the `kv_store` service (kv_store.h) in the storage_sqlite database file, next
// to the tasks (migration 4: tables appliance_kv and appliance_kv_version).
//
// Writes go through the task store's writer queue (SqliteTaskStore::runWrite): each put,
// remove or batch runs inside a group commit in a savepoint of its own, so it is all or
// nothing, serialised with every other write, and acknowledged only after the COMMIT (same
// durability as the tasks: synchronous=full by default). Compare-and-set is decided in that
// transaction from the row as it is. Versions come from the one-row counter
// appliance_kv_version, bumped in the same transaction, so they never repeat.
//
// Reads use the read-only connection pool and see the last committed state.
//
// Expiry is judged on `clock` (the plugin context's clock): an entry whose expires_at is at or
// before now is absent to every call. purgeExpired() deletes such rows in bounded batches
// (the storage_sqlite.kv_purge timer).
//
// Thread-safe. Open and closed with the task store it shares: kUnavailable while closed.

#include <memory>

#include "appliance/context.h"
#include "appliance/kv_store.h"
#include "sqlite_task_store.h"

namespace appliance::plugins::storage_sqlite {

class SqliteKvStore : public KvStore {
 public:
  // `clock` may be null (system clock); it must outlive the store.
  SqliteKvStore(std::shared_ptr<SqliteTaskStore> tasks, const Clock* clock);

  using KvStore::list;
  using KvStore::put;
  using KvStore::remove;
  Result<std::optional<KvEntry>> get(std::string_view ns, std::string_view key) override;
  Result<std::uint64_t> put(std::string_view ns, std::string_view key, std::string_view value,
                            std::uint64_t expected_version, Timestamp expires_at) override;
  Result<bool> remove(std::string_view ns, std::string_view key,
                      std::uint64_t expected_version) override;
  Result<std::vector<KvEntry>> list(std::string_view ns, std::string_view prefix,
                                    std::string_view start_after, std::size_t limit) override;
  Status write(std::string_view ns, std::span<const KvWrite> writes) override;

  // Deletes up to `limit` entries that expired more than kKvPurgeMargin ago, in one short
  // write transaction; returns how many.
  Result<std::int64_t> purgeExpired(std::int64_t limit = kKvPurgeBatch);

  static constexpr std::int64_t kKvPurgeBatch = 500;
  // Expired rows are left this long before they are deleted (readers already skip them).
  static constexpr std::chrono::minutes kKvPurgeMargin{1};

 private:
  Timestamp now() const;

  std::shared_ptr<SqliteTaskStore> tasks_;
  const Clock* clock_;
};

}  // namespace appliance::plugins::storage_sqlite
