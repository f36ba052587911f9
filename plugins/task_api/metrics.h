#pragma once
// The task API's metrics on the shared registry:
//   appliance_tasks{done="true"|"false"}                 live tasks, refreshed on a timer
//   appliance_task_api_auth_failures_total{reason="missing"|"invalid"}
//   appliance_task_api_auth_reloads_total{result="ok"|"error"}  re-reads of a secret file
// Handles are resolved once; updating them is lock-free and thread-safe.

#include <atomic>
#include <memory>

#include "appliance/logger.h"
#include "appliance/status.h"
#include "appliance/task_store.h"
#include "auth.h"

namespace prometheus {
class Counter;
class Gauge;
class Registry;
}  // namespace prometheus

namespace appliance::plugins::task_api {

class TaskMetrics {
 public:
  static Result<std::shared_ptr<TaskMetrics>> create(prometheus::Registry& registry);

  // Reads TaskStore::counts() into the gauge. On failure keeps the last values and logs
  // once per failure streak (the store's own health check reports the outage).
  void refreshTaskCounts(TaskStore& store, const Logger& logger);
  void countAuthFailure(AuthResult result);
  void countAuthReload(bool ok);

 private:
  TaskMetrics() = default;

  prometheus::Gauge* done_ = nullptr;
  prometheus::Gauge* open_ = nullptr;
  prometheus::Counter* auth_missing_ = nullptr;
  prometheus::Counter* auth_invalid_ = nullptr;
  prometheus::Counter* reload_ok_ = nullptr;
  prometheus::Counter* reload_error_ = nullptr;
  std::atomic<bool> failing_{false};
};

}  // namespace appliance::plugins::task_api
