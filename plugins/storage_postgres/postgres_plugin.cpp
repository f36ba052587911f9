#include "postgres_plugin.h"

namespace appliance::plugins::storage_postgres {

Status StoragePostgresPlugin::configure(const ConfigNode& section) {
  auto parsed = parsePostgresConfig(section);
  if (!parsed.isOk()) return parsed.status();
  config_ = std::move(parsed).value();
  return Status::ok();
}

Status StoragePostgresPlugin::init(PluginContext& context) {
  store_ = std::make_shared<PostgresTaskStore>(config_, context.logger(), context.metrics());
  std::weak_ptr<PostgresTaskStore> weak = store_;
  context.health().addCheck("storage_postgres", [weak] {
    auto store = weak.lock();
    return store ? store->health() : HealthResult{false, "storage_postgres is not running"};
  });
  return context.services().provide<TaskStore>(store_);
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
