#pragma once
// TaskApiPlugin: the seed-compatible Task Manager HTTP API. Requires the `task_store`
// service; provides none. configure() parses `task_api.*` (and reads the token/key files it
// names); init() registers the routes, metrics, the gauge timer and the watch on the secret
// files (a reload_interval timer and a host-reload hook); start() fills the gauge.

#include <memory>
#include <optional>

#include "appliance/plugin.h"
#include "appliance/task_store.h"
#include "config.h"
#include "metrics.h"

namespace appliance::plugins::task_api {

inline constexpr const char* kPluginVersion = "0.1.0";

class TaskApiPlugin final : public Plugin {
 public:
  Status configure(const ConfigNode& section) override;
  Status init(PluginContext& context) override;
  Status start() override;

 private:
  void watchAuthFiles(PluginContext& context, std::shared_ptr<AuthenticatorSlot> slot);
  void logAuthMode(const Logger& logger) const;
  std::string docsDir(const PluginContext& context) const;

  std::optional<TaskApiConfig> config_;
  PluginContext* context_ = nullptr;
  std::shared_ptr<TaskStore> store_;
  std::shared_ptr<TaskMetrics> metrics_;
};

}  // namespace appliance::plugins::task_api
