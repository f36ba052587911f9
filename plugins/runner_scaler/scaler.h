#pragma once
// Scaler: the runtime that joins demand, policy and backend. Demand sources report into it
// (DemandSink) from any thread; their observations queue up and one decision thread drains
// the queue and decides each pool once per drain, so a burst of webhooks yields one
// scale_up, not one per event. step() is that drain-and-decide; tests call it by hand with a
// ManualClock, the plugin's thread calls it when woken or every decision_interval.
//
// Locking: the queue has its own small mutex, so a webhook only ever waits for another
// enqueue. The state mutex is held while the policy decides, never across a backend call or a
// kv_store round trip: step() reads supply, decides under the lock, then creates and removes
// runners (slow HTTP for Kubernetes) with no lock held. Steps are serialised among themselves.
//
// State that must survive a restart (budget used today, seen delivery ids, per-job state)
// is written through the optional KvStore; without one it lives in memory only.
//
// High availability: every replica drains and records what it receives (job records in the
// kv_store, merged so a status never moves back), and re-reads the records other replicas
// wrote at least every second. Only the leader acts (setLeading): it creates and removes
// runners and runs the backend's maintenance. A replica that becomes leader first re-reads
// every record, its budget and the last scale-set statistics, runs the leadership hook (the
// plugin's reconciliation poll and scale-set source) and only then decides.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
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

  // Drains queued observations, then decides and acts for every pool (the leader only).
  void step();

  // Whether this replica should act; default true (one replica). Takes effect at the next
  // step, which it wakes. Thread-safe.
  void setLeading(bool leading);
  bool leading() const { return acting_.load(); }  // true once the leader acts
  // Asked at every step instead of setLeading's flag (LeaderElector::isLeader, which turns
  // false by itself when renewals stall). Set before start.
  void leaderCheck(std::function<bool()> check) { leader_check_ = std::move(check); }
  // Runs on the decision thread when leadership is gained (true: after the kv_store re-read,
  // before the first decision) or lost (false). Set before startThread().
  void onLeadership(std::function<void(bool leader)> hook) { leadership_hook_ = std::move(hook); }
  // Who leads, for GET /runners (the elector's view); "" when unknown. Set before start.
  void leaderInfo(std::function<std::string()> holder) { holder_ = std::move(holder); }
  // Each pool's active max after every acting step (scale-set X-ScaleSetMaxCapacity).
  void onLimits(std::function<void(const std::string& pool, int max)> hook) {
    limits_hook_ = std::move(hook);
  }
  // Extra per-pool detail for GET /runners (the scale-set session), asked without the lock:
  // `json` is a member appended to the pool's object (",\"scale_set\":{...}"), `text` a
  // line for the HTML page. Set before start.
  struct PoolDetail {
    std::string json, text;
  };
  void poolDetails(std::function<PoolDetail(const std::string& pool)> details) {
    details_ = std::move(details);
  }
  // Runs on the decision thread at the end of every acting step.
  void onActed(std::function<void()> hook) { acted_hook_ = std::move(hook); }
  // Re-reads job records other replicas stored; how many changed what this one knew.
  // Decision thread only (step() calls it at most every store_sync_interval).
  std::size_t syncFromStore();

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
  struct BackendNote {  // job start/end to tell the backend once the lock is released
    std::string pool, runner_name;
    std::int64_t job_id = 0;
    bool started = false;
  };
  struct Plan {  // one pool's decision, carried out with no lock held
    const PoolConfig* pool = nullptr;
    Decision decision;
    JobDemand demand;
  };
  struct Pending {
    std::vector<JobObservation> jobs;
    bool is_snapshot = false;
    std::string repository;
    TimePoint started;
    std::chrono::steady_clock::time_point received;
  };

  void applyLocked(const Pending& pending, TimePoint now);
  void onChange(const JobChange& change, TimePoint now, bool from_store);
  Plan decideLocked(const PoolConfig& pool, TimePoint now, double elapsed_minutes,
                    const std::vector<RunnerView>& before);
  void finishLocked(const Plan& plan, const std::vector<RunnerView>& after, TimePoint now);
  void record(const PoolConfig& pool, PoolState& state, const Decision& d, TimePoint now);
  void persistJobs(const std::vector<JobRecord>& jobs, TimePoint now);
  void persistBudget(const std::string& pool, double used, std::int64_t day);
  void loadState();
  void loadLeaderState();
  void changeLeadership(bool leading);
  void wake();
  std::string poolJson(const PoolConfig& pool, TimePoint now,
                       const std::vector<RunnerView>& runners, const std::string& detail);
  std::map<std::string, PoolDetail> details();
  std::map<std::string, std::vector<RunnerView>> supply(TimePoint now);
  std::string leaderJson();
  JobDemand demandLocked(const std::string& pool) const;

  ScalerConfig config_;
  std::shared_ptr<Backend> backend_;
  std::shared_ptr<ScalerMetrics> metrics_;
  const Logger& logger_;
  const Clock& clock_;
  std::shared_ptr<KvStore> kv_;

  std::mutex step_mutex_;  // one step at a time (held across backend calls; no webhook takes it)

  std::mutex queue_mutex_;  // the intake: webhooks and sources wait on nothing else
  std::deque<Pending> pending_;
  std::deque<std::string> delivery_order_;
  std::unordered_set<std::string> deliveries_;
  std::vector<std::string> new_deliveries_;  // to persist on the next step
  std::map<std::string, JobDemand> new_statistics_;

  // Decision thread only (under step_mutex_).
  std::map<std::string, std::uint64_t> seen_versions_;  // job record key -> version known
  std::chrono::steady_clock::time_point last_sync_{};
  std::map<std::string, std::string> saved_statistics_;  // pool -> last value written

  std::atomic<bool> want_leading_{true};
  std::atomic<bool> acting_{true};
  std::function<void(bool)> leadership_hook_;
  std::function<bool()> leader_check_;
  std::function<std::string()> holder_;
  std::function<void(const std::string&, int)> limits_hook_;
  std::function<void()> acted_hook_;
  std::function<PoolDetail(const std::string&)> details_;

  std::mutex mutex_;  // guards everything below
  JobTracker tracker_;
  std::map<std::string, PoolState> pools_;
  std::map<std::string, JobDemand> absolute_demand_;  // pools fed by statistics()
  std::optional<TimePoint> last_step_;
  std::vector<JobRecord> dirty_jobs_;  // changed by this replica: to store after the lock
  std::vector<BackendNote> notes_;     // to tell the backend after the lock
  // Receipt-to-decision latencies of the last kLatencySamples webhook batches, in ms.
  static constexpr std::size_t kLatencySamples = 10000;
  std::vector<double> latencies_ms_;
  std::size_t latency_next_ = 0;
  TimePoint last_budget_write_{};
  std::atomic<bool> kv_failing_{false};

  std::mutex wake_mutex_;
  std::condition_variable wake_;
  bool wake_flag_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace appliance::plugins::runner_scaler
