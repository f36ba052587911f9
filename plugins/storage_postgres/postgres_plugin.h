#pragma once
// StoragePostgresPlugin: configure parses `storage_postgres`, init creates the store and
// registers it as the `task_store` service and the kv store on the same pool as `kv_store`,
// with a `storage_postgres` health check, the `storage_postgres.kv_purge` timer and, when
// tombstone_retention is set, the `storage_postgres.purge` timer; start connects (or keeps
// retrying in the background), stop closes the pool.

#include <memory>

#include "appliance/plugin.h"
#include "postgres_config.h"
#include "postgres_kv_store.h"
#include "postgres_task_store.h"

namespace appliance::plugins::storage_postgres {

class StoragePostgresPlugin : public Plugin {
 public:
  Status configure(const ConfigNode& section) override;
  Status init(PluginContext& context) override;
  Status start() override;
  void stop(std::chrono::steady_clock::time_point deadline) override;

  // Purge statements per run of the purge timer at most (x PostgresTaskStore::kPurgeBatch).
  static constexpr int kPurgeBatches = 40;
  static constexpr std::chrono::seconds kPurgeInterval{30};
  static constexpr std::chrono::seconds kKvPurgeInterval{30};

 private:
  void purgeExpiredTombstones();
  void purgeExpiredKv();

  PluginContext* context_ = nullptr;
  PostgresConfig config_;
  std::shared_ptr<PostgresTaskStore> store_;
  std::shared_ptr<PostgresKvStore> kv_store_;
};

}  // namespace appliance::plugins::storage_postgres
