#pragma once
// SqlitePlugin: the storage_sqlite plugin. configure() parses `storage_sqlite`; init()
// resolves the file path (default <data.dir>/appliance.db), provides the `task_store` and
// `kv_store` services (one file, one writer) and the `storage_sqlite` health check, and adds
// three timers: `storage_sqlite.purge` (expired tombstones, when tombstone_retention is set),
// `storage_sqlite.kv_purge` (expired kv entries) and `storage_sqlite.wal` (the WAL size
// gauge); start() opens the file and migrates it; stop() closes.

#include <memory>
#include <optional>
#include <string>

#include "appliance/plugin.h"
#include "sqlite_config.h"
#include "sqlite_kv_store.h"
#include "sqlite_task_store.h"

namespace appliance::plugins::storage_sqlite {

class SqlitePlugin : public Plugin {
 public:
  Status configure(const ConfigNode& section) override;
  Status init(PluginContext& context) override;
  Status start() override;
  void stop(std::chrono::steady_clock::time_point deadline) override;

  // The store provided as `task_store` (null before init); for tests.
  std::shared_ptr<SqliteTaskStore> store() const { return store_; }
  // The store provided as `kv_store` (null before init); for tests.
  std::shared_ptr<SqliteKvStore> kvStore() const { return kv_store_; }

  // Purge statements per run of the purge timer at most (kPurgeBatches x purge_batch rows),
  // so that a large backlog is worked off over several runs, between other writes.
  static constexpr int kPurgeBatches = 40;
  static constexpr std::chrono::seconds kPurgeInterval{30};
  static constexpr std::chrono::seconds kWalGaugeInterval{5};
  static constexpr std::chrono::seconds kKvPurgeInterval{30};

 private:
  void purgeExpiredTombstones();
  void purgeExpiredKv();

  SqliteConfig config_;
  PluginContext* context_ = nullptr;
  std::shared_ptr<SqliteTaskStore> store_;
  std::shared_ptr<SqliteKvStore> kv_store_;
};

}  // namespace appliance::plugins::storage_sqlite
