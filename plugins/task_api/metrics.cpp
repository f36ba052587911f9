#include "metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

namespace appliance::plugins::task_api {

Result<std::shared_ptr<TaskMetrics>> TaskMetrics::create(prometheus::Registry& registry) {
  std::shared_ptr<TaskMetrics> metrics(new TaskMetrics());
  try {
    auto& tasks = prometheus::BuildGauge()
                      .Name("appliance_tasks")
                      .Help(
                          "Live (not deleted) tasks by done state, refreshed every "
                          "task_api.metrics_refresh.")
                      .Register(registry);
    metrics->done_ = &tasks.Add({{"done", "true"}});
    metrics->open_ = &tasks.Add({{"done", "false"}});
    auto& failures = prometheus::BuildCounter()
                         .Name("appliance_task_api_auth_failures_total")
                         .Help("Requests to /tasks refused with 401, by reason.")
                         .Register(registry);
    metrics->auth_missing_ = &failures.Add({{"reason", "missing"}});
    metrics->auth_invalid_ = &failures.Add({{"reason", "invalid"}});
    auto& reloads = prometheus::BuildCounter()
                        .Name("appliance_task_api_auth_reloads_total")
                        .Help(
                            "Re-reads of a changed auth secret file (tokens_file, JWT key "
                            "files), by result; on error the previous credentials stay.")
                        .Register(registry);
    metrics->reload_ok_ = &reloads.Add({{"result", "ok"}});
    metrics->reload_error_ = &reloads.Add({{"result", "error"}});
  } catch (const std::exception& e) {
    return Status::internal(std::string("cannot register task_api metrics: ") + e.what());
  }
  return metrics;
}

void TaskMetrics::refreshTaskCounts(TaskStore& store, const Logger& logger) {
  const Result<TaskCounts> counts = store.counts();
  if (!counts.isOk()) {
    if (!failing_.exchange(true)) {
      logger.warn(
          "cannot refresh appliance_tasks; keeping the last values",
          {{"code", statusCodeName(counts.status().code())}, {"error", counts.status().message()}});
    }
    return;
  }
  if (failing_.exchange(false)) logger.info("appliance_tasks refreshed again");
  done_->Set(static_cast<double>(counts->done));
  open_->Set(static_cast<double>(counts->open));
}

void TaskMetrics::countAuthFailure(AuthResult result) {
  (result == AuthResult::kInvalid ? auth_invalid_ : auth_missing_)->Increment();
}

void TaskMetrics::countAuthReload(bool ok) { (ok ? reload_ok_ : reload_error_)->Increment(); }

}  // namespace appliance::plugins::task_api
