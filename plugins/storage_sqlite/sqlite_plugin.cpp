#include "sqlite_plugin.h"

#include <utility>

namespace appliance::plugins::storage_sqlite {

Status SqlitePlugin::configure(const ConfigNode& section) {
  Result<SqliteConfig> config = parseConfig(section);
  if (!config.isOk()) return config.status();
  config_ = std::move(config).value();
  return Status::ok();
}

Status SqlitePlugin::init(PluginContext& context) {
  context_ = &context;
  StoreOptions options =
      StoreOptions::from(config_, resolvedPath(config_, context.runtime().data_dir));
  store_ = std::make_shared<SqliteTaskStore>(std::move(options), &context.clock(),
                                             &context.metrics(), &context.logger());
  Status status = context.services().provide<TaskStore>(store_);
  if (!status.isOk()) return status;
  kv_store_ = std::make_shared<SqliteKvStore>(store_, &context.clock());
  status = context.services().provide<KvStore>(kv_store_);
  if (!status.isOk()) return status;
  std::weak_ptr<SqliteTaskStore> weak = store_;
  context.health().addCheck("storage_sqlite", [weak]() -> HealthResult {
    std::shared_ptr<SqliteTaskStore> store = weak.lock();
    if (!store) return {false, "storage_sqlite is stopped"};
    Status ping = store->ping();
    if (ping.isOk()) return {true, {}};
    return {false, ping.message()};
  });
  // Timers first fire once every plugin has started, and are cancelled before stop().
  if (config_.tombstone_retention.count() > 0) {
    context.scheduler().every("storage_sqlite.purge", kPurgeInterval,
                              [this] { purgeExpiredTombstones(); });
  }
  context.scheduler().every("storage_sqlite.kv_purge", kKvPurgeInterval,
                            [this] { purgeExpiredKv(); });
  context.scheduler().every("storage_sqlite.wal", kWalGaugeInterval, [weak] {
    if (auto store = weak.lock()) (void)store->walFileBytes();
  });
  return Status::ok();
}

// Each purge statement is one short write transaction queued behind the writes already
// waiting, so requests interleave with a long purge instead of waiting for all of it.
void SqlitePlugin::purgeExpiredTombstones() {
  std::int64_t total = 0;
  for (int i = 0; i < kPurgeBatches; ++i) {
    Result<std::int64_t> purged = store_->purgeTombstones();
    if (!purged.isOk()) {
      context_->logger().warn("cannot purge expired tombstones; retrying at the next run",
                              {{"error", purged.status().message()}});
      break;
    }
    total += *purged;
    if (*purged < store_->options().purge_batch) break;
  }
  if (total > 0) {
    context_->logger().info(
        "purged expired tombstones",
        {{"count", total},
         {"retention_ms", static_cast<std::int64_t>(config_.tombstone_retention.count())}});
  }
}

// Expired entries are already invisible; this only reclaims their space, a bounded batch at a
// time like the tombstone purge.
void SqlitePlugin::purgeExpiredKv() {
  std::int64_t total = 0;
  for (int i = 0; i < kPurgeBatches; ++i) {
    Result<std::int64_t> purged = kv_store_->purgeExpired();
    if (!purged.isOk()) {
      context_->logger().warn("cannot purge expired kv entries; retrying at the next run",
                              {{"error", purged.status().message()}});
      break;
    }
    total += *purged;
    if (*purged < SqliteKvStore::kKvPurgeBatch) break;
  }
  if (total > 0) context_->logger().debug("purged expired kv entries", {{"count", total}});
}

Status SqlitePlugin::start() {
  Status status = store_->open();
  if (!status.isOk()) return status;
  const StoreOptions& options = store_->options();
  context_->logger().info(
      "SQLite task store open",
      {{"path", options.path},
       {"synchronous", std::string(synchronousName(options.synchronous))},
       {"readers", options.readers},
       {"busy_timeout_ms", static_cast<std::int64_t>(options.busy_timeout.count())},
       {"tombstone_retention_ms", static_cast<std::int64_t>(config_.tombstone_retention.count())},
       {"wal_checkpoint_bytes", options.wal_checkpoint_bytes}});
  (void)store_->walFileBytes();
  return Status::ok();
}

void SqlitePlugin::stop(std::chrono::steady_clock::time_point deadline) {
  (void)deadline;  // close() waits only for the write batch in progress (bounded by busy_timeout)
  if (!store_) return;
  store_->close();
  if (context_)
    context_->logger().info("SQLite task store closed", {{"path", store_->options().path}});
}

}  // namespace appliance::plugins::storage_sqlite
