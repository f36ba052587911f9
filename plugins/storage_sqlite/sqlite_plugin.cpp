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
  store_ = std::make_shared<SqliteTaskStore>(std::move(options), &context.clock());
  Status status = context.services().provide<TaskStore>(store_);
  if (!status.isOk()) return status;
  std::weak_ptr<SqliteTaskStore> weak = store_;
  context.health().addCheck("storage_sqlite", [weak]() -> HealthResult {
    std::shared_ptr<SqliteTaskStore> store = weak.lock();
    if (!store) return {false, "storage_sqlite is stopped"};
    Status ping = store->ping();
    if (ping.isOk()) return {true, {}};
    return {false, ping.message()};
  });
  return Status::ok();
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
       {"busy_timeout_ms", static_cast<std::int64_t>(options.busy_timeout.count())}});
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
