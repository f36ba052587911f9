// memory_store: provides the `task_store` service from process memory, so a role can run
// task_api without a database:  roles: {api: [memory_store, task_api]}
// An example of a plugin that provides an existing service; tasks are lost on restart.
#include <memory>

#include "appliance/sdk.h"
#include "memory_task_store.h"

namespace appliance::plugins::memory_store {

class MemoryStorePlugin final : public Plugin {
 public:
  Status configure(const ConfigNode& section) override {
    ConfigReader reader(section);
    max_tasks_ = reader.integer("max_tasks", 100'000, 1, 100'000'000);
    return reader.finish();
  }

  // Providers run init() before the plugins that require them (dependency order), so
  // task_api finds the store when its own init() runs.
  Status init(PluginContext& context) override {
    store_ =
        std::make_shared<MemoryTaskStore>(context.clock(), static_cast<std::size_t>(max_tasks_));
    context.logger().warn("tasks are kept in memory only and are lost when the process stops",
                          {{"max_tasks", max_tasks_}});
    return context.services().provide<TaskStore>(store_);
  }

 private:
  std::int64_t max_tasks_ = 0;
  std::shared_ptr<MemoryTaskStore> store_;
};

}  // namespace appliance::plugins::memory_store

// `provides` must list every service the plugin registers; the host refuses anything else.
APPLIANCE_PLUGIN(appliance::plugins::memory_store::MemoryStorePlugin, "memory_store", "1.0.0",
                 "task_store in process memory (not durable): demos and tests", "task_store", "")
