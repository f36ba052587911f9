#pragma once
// PostgresKvStore: the `kv_store` service (kv_store.h) in the storage_postgres database, table
// appliance_kv and sequence appliance_kv_version (migration 0003_kv_store.sql).
//
// Each call is one prepared statement on a pooled connection of the task store (same pool,
// readiness, metrics appliance_db_query_duration_seconds{statement="kv_*"} and error mapping:
// kUnavailable while the server is unreachable or the schema is not in place), committed
// before the call returns. Compare-and-set is decided inside the statement: a conditional
// UPDATE (re-checked by PostgreSQL on the newest committed row) or an INSERT ... ON CONFLICT
// (which arbitrates concurrent creates), so concurrent writers never lose an update. A batch
// (write) is one explicit transaction: advisory locks on its keys in one global order (no
// deadlock between batches), then its writes in order (each sees the earlier ones), then
// COMMIT, or ROLLBACK at the first failure. Versions come from a sequence and never repeat.
//
// Expiry is judged on `clock` (the plugin context's clock, passed to every statement), so
// replicas should keep their clocks in sync (NTP) as for leader leases. purgeExpired()
// deletes rows expired more than kKvPurgeMargin ago, in bounded batches (the
// storage_postgres.kv_purge timer).
//
// Thread-safe.

#include <chrono>
#include <memory>

#include "appliance/context.h"
#include "appliance/kv_store.h"
#include "postgres_task_store.h"

namespace appliance::plugins::storage_postgres {

class PostgresKvStore : public KvStore {
 public:
  // `clock` may be null (system clock); it must outlive the store.
  PostgresKvStore(std::shared_ptr<PostgresTaskStore> tasks, const Clock* clock);

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

  // Deletes up to kKvPurgeBatch entries that expired more than kKvPurgeMargin ago; returns
  // how many. Safe to run from every process at once (SKIP LOCKED).
  Result<std::int64_t> purgeExpired();

  static constexpr std::int64_t kKvPurgeBatch = 500;
  static constexpr std::chrono::minutes kKvPurgeMargin{1};

 private:
  Timestamp now() const;
  // One put or delete; `step` runs it (a pooled statement, or a step of a batch).
  using Runner = std::function<Status(Statement, const Params&, PgResult&)>;
  Status applyWrite(const Runner& run, std::string_view ns, const KvWrite& write, Timestamp now,
                    std::uint64_t* version_out, bool* deleted_live);

  std::shared_ptr<PostgresTaskStore> tasks_;
  const Clock* clock_;
};

}  // namespace appliance::plugins::storage_postgres
