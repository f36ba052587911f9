#include "postgres_plugin.h"

namespace appliance::plugins::storage_postgres {

Status StoragePostgresPlugin::configure(const ConfigNode& section) {
  auto parsed = parsePostgresConfig(section);
  if (!parsed.isOk()) return parsed.status();
  config_ = std::move(parsed).value();
  return Status::ok();
}

Status StoragePostgresPlugin::init(PluginContext& context) {
  context_ = &context;
  store_ = std::make_shared<PostgresTaskStore>(config_, context.logger(), context.metrics());
  std::weak_ptr<PostgresTaskStore> weak = store_;
  context.health().addCheck("storage_postgres", [weak] {
    auto store = weak.lock();
    return store ? store->health() : HealthResult{false, "storage_postgres is not running"};
  });
  // Timers first fire once every plugin has started, and are cancelled before stop().
  if (config_.tombstone_retention.count() > 0) {
    context.scheduler().every("storage_postgres.purge", kPurgeInterval,
                              [this] { purgeExpiredTombstones(); });
  }
  context.scheduler().every("storage_postgres.kv_purge", kKvPurgeInterval,
                            [this] { purgeExpiredKv(); });
  kv_store_ = std::make_shared<PostgresKvStore>(store_, &context.clock());
  if (Status s = context.services().provide<TaskStore>(store_); !s.isOk()) return s;
  if (Status s =
          context.services().provide<AsyncTaskStore>(std::shared_ptr<AsyncTaskStore>(store_));
      !s.isOk()) {
    return s;
  }
  if (Status s =
          context.services().provide<AsyncTaskLister>(std::shared_ptr<AsyncTaskLister>(store_));
      !s.isOk()) {
    return s;
  }
  return context.services().provide<KvStore>(kv_store_);
}

// Expired entries are already invisible; this reclaims their rows, a bounded batch at a time.
void StoragePostgresPlugin::purgeExpiredKv() {
  std::int64_t total = 0;
  for (int i = 0; i < kPurgeBatches; ++i) {
    Result<std::int64_t> purged = kv_store_->purgeExpired();
    if (!purged.isOk()) {
      context_->logger().debug("cannot purge expired kv entries",
                               {{"error", purged.status().message()}});
      break;
    }
    total += *purged;
    if (*purged < PostgresKvStore::kKvPurgeBatch) break;
  }
  if (total > 0) context_->logger().debug("purged expired kv entries", {{"count", total}});
}

// Every process runs this; they split the rows (SKIP LOCKED) rather than wait for each other.
// Each statement is one short transaction on a pooled connection.
void StoragePostgresPlugin::purgeExpiredTombstones() {
  std::int64_t total = 0;
  for (int i = 0; i < kPurgeBatches; ++i) {
    Result<std::int64_t> purged = store_->purgeTombstones();
    if (!purged.isOk()) {
      // Unreachable or not migrated yet: health says so already; the next run retries.
      context_->logger().debug("cannot purge expired tombstones",
                               {{"error", purged.status().message()}});
      break;
    }
    total += *purged;
    if (*purged < PostgresTaskStore::kPurgeBatch) break;
  }
  if (total > 0) {
    context_->logger().info(
        "purged expired tombstones",
        {{"count", total},
         {"retention_ms", static_cast<std::int64_t>(config_.tombstone_retention.count())}});
  }
}

Status StoragePostgresPlugin::start() {
  if (!store_) return Status::failedPrecondition("storage_postgres: start() before init()");
  return store_->start();
}

void StoragePostgresPlugin::stop(std::chrono::steady_clock::time_point /*deadline*/) {
  // The pool closes at once: the host stops task_api (our only caller) before us.
  if (store_) store_->stop();
}

}  // namespace appliance::plugins::storage_postgres
