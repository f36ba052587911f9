#pragma once
// Scaler: the runtime that joins demand, policy and backend. Demand sources report into it
// (DemandSink) from any thread; their observations queue up and one decision thread drains
// the queue and decides each pool once per drain, so a burst of webhooks yields one
// scale_up, not one per event. step() is that drain-and-decide; tests call it by hand with a
// ManualClock, the plugin's thread calls it when woken or every decision_interval.
//
// State that must survive a restart (budget used today, seen delivery ids, per-job state)
// is written through the optional KvStore; without one it lives in memory only.

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "appliance/context.h"
#include "appliance/kv_store.h"
#include "backend.h"
#include "config.h"
#include "jobs.h"
#include "scaler_metrics.h"

namespace appliance::plugins::runner_scaler {

struct DecisionRecord {
  TimePoint at;
  std::string action, reason, message;
};

class Scaler final : public DemandSink {
 public:
  Scaler(ScalerConfig config, std::shared_ptr<Backend> backend,
         std::shared_ptr<ScalerMetrics> metrics, const Logger& logger, const Clock& clock);
  ~Scaler() override;

  // Loads persisted state from `kv` (nullptr: memory only) and keeps writing to it.
  void attachStore(std::shared_ptr<KvStore> kv);

  // False when this delivery id was seen already (bounded memory, oldest forgotten first).
  bool rememberDelivery(const std::string& id);

  void observe(std::vector<JobObservation> jobs) override;
  void snapshot(const std::string& repository, std::vector<JobObservation> active,
                TimePoint started) override;
  void statistics(const std::string& pool, JobDemand demand) override;

  // Drains queued observations, then decides and acts for every pool.
  void step();

  // The decision thread: step() when woken by new demand or every decision_interval.
  void startThread();
  void stopThread();

  std::string runnersJson();
  std::string runnersHtml();
  const ScalerConfig& config() const { return config_; }

 private:
  struct PoolState {
    std::deque<DecisionRecord> decisions;  // newest last, bounded by recent_decisions
    std::string last_logged;               // action+reason of the last logged hold
    std::int64_t budget_day = -1;          // day number (budget_time_zone) the budget counts
    double budget_used = 0;                // runner-minutes that day
    Decision last;
  };
  struct Pending {
    std::vector<JobObservation> jobs;
    bool is_snapshot = false;
    std::string repository;
    TimePoint started;
    std::chrono::steady_clock::time_point received;
  };

  void applyLocked(const Pending& pending, TimePoint now);
  void onChange(const JobChange& change, TimePoint now, const char* source);
  void decideLocked(const PoolConfig& pool, TimePoint now, double elapsed_minutes);
  void record(const PoolConfig& pool, PoolState& state, const Decision& d, TimePoint now);
  void persistJob(const JobRecord& job);
  void persistBudget(const std::string& pool, const PoolState& state);
  void loadState();
  std::string poolJson(const PoolConfig& pool, TimePoint now);
  JobDemand demandLocked(const std::string& pool) const;

  ScalerConfig config_;
  std::shared_ptr<Backend> backend_;
  std::shared_ptr<ScalerMetrics> metrics_;
  const Logger& logger_;
  const Clock& clock_;
  std::shared_ptr<KvStore> kv_;

  std::mutex mutex_;  // guards everything below
  JobTracker tracker_;
  std::map<std::string, PoolState> pools_;
  std::map<std::string, JobDemand> absolute_demand_;  // pools fed by statistics()
  std::deque<Pending> pending_;
  std::deque<std::string> delivery_order_;
  std::unordered_set<std::string> deliveries_;
  std::vector<std::string> new_deliveries_;  // to persist on the next step
  std::optional<TimePoint> last_step_;
  // Receipt-to-decision latencies of the last kLatencySamples webhook batches, in ms.
  static constexpr std::size_t kLatencySamples = 10000;
  std::vector<double> latencies_ms_;
  std::size_t latency_next_ = 0;
  TimePoint last_budget_write_{};
  bool kv_failing_ = false;

  std::mutex wake_mutex_;
  std::condition_variable wake_;
  bool wake_flag_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace appliance::plugins::runner_scaler
