#include "scaler_metrics.h"

namespace appliance::plugins::runner_scaler {
namespace {

// Named `family` with the name first so tests/chart/promql_checks.js finds what we export.
prometheus::Family<prometheus::Gauge>& family(const char* name, const char* help,
                                              prometheus::Registry& r) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(r);
}

}  // namespace

Result<std::shared_ptr<ScalerMetrics>> ScalerMetrics::create(
    prometheus::Registry& r, const std::vector<std::string>& pools) {
  std::shared_ptr<ScalerMetrics> m(new ScalerMetrics());
  try {
    auto& desired = family("appliance_runners_desired", "Runners the policy wants, per pool.", r);
    auto& current =
        family("appliance_runners_current", "Runners that exist (booting, idle, busy).", r);
    auto& idle = family("appliance_runners_idle", "Registered runners without a job.", r);
    auto& busy = family("appliance_runners_busy", "Runners running a job.", r);
    auto& booting = family("appliance_runners_booting", "Runners started but not yet ready.", r);
    auto& queued = family("appliance_jobs_queued", "Matching jobs waiting for a runner.", r);
    auto& running = family("appliance_jobs_in_progress", "Matching jobs running.", r);
    auto& exhausted =
        family("appliance_runner_budget_exhausted",
               "1 while the pool's daily runner-minute budget is spent (no growth).", r);
    auto& wait = prometheus::BuildHistogram()
                     .Name("appliance_job_queue_wait_seconds")
                     .Help("Time from a job queued to it starting on a runner.")
                     .Register(r);
    auto& duration = prometheus::BuildHistogram()
                         .Name("appliance_job_duration_seconds")
                         .Help("Time from a job starting to it completing.")
                         .Register(r);
    auto& minutes = prometheus::BuildCounter()
                        .Name("appliance_runner_minutes_total")
                        .Help("Runner-minutes spent (every existing runner, busy or not).")
                        .Register(r);
    auto& cost = prometheus::BuildCounter()
                     .Name("appliance_runner_cost_dollars_total")
                     .Help("Runner cost: runner-minutes x cost_per_runner_hour / 60.")
                     .Register(r);
    const prometheus::Histogram::BucketBoundaries wait_buckets{1,   5,   10,  20,   30,  60,
                                                               120, 300, 600, 1800, 3600};
    const prometheus::Histogram::BucketBoundaries run_buckets{10,   30,   60,   120,  300,  600,
                                                              1200, 1800, 3600, 7200, 21600};
    for (const auto& name : pools) {
      const prometheus::Labels l{{"pool", name}};
      m->pools_[name] = PoolMetrics{&desired.Add(l),
                                    &current.Add(l),
                                    &idle.Add(l),
                                    &busy.Add(l),
                                    &booting.Add(l),
                                    &queued.Add(l),
                                    &running.Add(l),
                                    &exhausted.Add(l),
                                    &wait.Add(l, wait_buckets),
                                    &duration.Add(l, run_buckets),
                                    &minutes.Add(l),
                                    &cost.Add(l)};
    }
    m->scale_events_ = &prometheus::BuildCounter()
                            .Name("appliance_scale_events_total")
                            .Help("Scaling decisions acted on or held, by direction and reason.")
                            .Register(r);
    m->deliveries_ = &prometheus::BuildCounter()
                          .Name("appliance_webhook_deliveries_total")
                          .Help("GitHub webhook deliveries by result.")
                          .Register(r);
    m->github_requests_ = &prometheus::BuildCounter()
                               .Name("appliance_github_requests_total")
                               .Help("GitHub REST requests by endpoint template and status.")
                               .Register(r);
    m->rate_limit_remaining_ = &family("appliance_github_rate_limit_remaining",
                                       "x-ratelimit-remaining of the last GitHub REST answer.", r)
                                    .Add({});
    m->rate_limit_remaining_->Set(-1);
    m->unmatched_ = &family("appliance_jobs_unmatched",
                            "Active self-hosted jobs whose labels no pool serves.", r)
                         .Add({});
    m->leader_ = &family("appliance_scaler_leader",
                         "1 while this replica is the leader that acts (creates and removes "
                         "runners, holds scale-set sessions); 0 on a follower.",
                         r)
                      .Add({});
    m->leader_->Set(1);
    m->store_sync_ =
        &prometheus::BuildHistogram()
             .Name("appliance_scaler_store_sync_seconds")
             .Help(
                 "One re-read of the job records every replica stores in "
                 "kv_store (list, decode, merge), every store_sync_interval.")
             .Register(r)
             .Add({}, prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                              0.025, 0.05, 0.1, 0.25, 0.5, 1});
    m->store_records_ = &family("appliance_scaler_store_job_records",
                                "Job records in kv_store at the last re-read (all replicas').", r)
                             .Add({});
  } catch (const std::exception& e) {
    return Status::internal(std::string("cannot register runner_scaler metrics: ") + e.what());
  }
  return m;
}

void ScalerMetrics::scaleEvent(const std::string& pool, const std::string& direction,
                               const std::string& reason) {
  scale_events_->Add({{"pool", pool}, {"direction", direction}, {"reason", reason}}).Increment();
}

void ScalerMetrics::delivery(const std::string& result) {
  deliveries_->Add({{"result", result}}).Increment();
}

void ScalerMetrics::githubRequest(const std::string& endpoint, int status) {
  github_requests_
      ->Add({{"endpoint", endpoint}, {"status", status == 0 ? "error" : std::to_string(status)}})
      .Increment();
}

}  // namespace appliance::plugins::runner_scaler
