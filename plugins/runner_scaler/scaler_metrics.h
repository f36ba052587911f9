#pragma once
// The scaler's metrics in the shared registry, named close to ARC's gha-runner-scale-set so
// dashboards carry over. Per pool gauges/counters are created once per configured pool.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <map>
#include <memory>
#include <string>

#include "appliance/status.h"

namespace appliance::plugins::runner_scaler {

struct PoolMetrics {
  prometheus::Gauge *desired, *current, *idle, *busy, *booting, *queued, *in_progress;
  prometheus::Gauge* budget_exhausted;
  prometheus::Histogram *queue_wait, *duration;
  prometheus::Counter *runner_minutes, *cost_dollars;
};

class ScalerMetrics {
 public:
  static Result<std::shared_ptr<ScalerMetrics>> create(prometheus::Registry& registry,
                                                       const std::vector<std::string>& pools);
  PoolMetrics& pool(const std::string& name) { return pools_.at(name); }
  void scaleEvent(const std::string& pool, const std::string& direction, const std::string& reason);
  void delivery(const std::string& result);
  void githubRequest(const std::string& endpoint, int status);  // 0 = no answer
  prometheus::Gauge& rateLimitRemaining() { return *rate_limit_remaining_; }
  prometheus::Gauge& unmatchedJobs() { return *unmatched_; }
  prometheus::Gauge& leader() { return *leader_; }  // 1 while this replica acts
  // One re-read of the job records other replicas stored (list + decode + merge).
  prometheus::Histogram& storeSync() { return *store_sync_; }
  prometheus::Gauge& storeRecords() { return *store_records_; }

 private:
  ScalerMetrics() = default;
  std::map<std::string, PoolMetrics> pools_;
  prometheus::Family<prometheus::Counter>* scale_events_ = nullptr;
  prometheus::Family<prometheus::Counter>* deliveries_ = nullptr;
  prometheus::Family<prometheus::Counter>* github_requests_ = nullptr;
  prometheus::Gauge* rate_limit_remaining_ = nullptr;
  prometheus::Gauge* unmatched_ = nullptr;
  prometheus::Gauge* leader_ = nullptr;
  prometheus::Histogram* store_sync_ = nullptr;
  prometheus::Gauge* store_records_ = nullptr;
};

}  // namespace appliance::plugins::runner_scaler
