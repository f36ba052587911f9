#pragma once
// The seams part 2 plugs into without touching the policy:
//   Backend      - where runners live: dry_run here, Kubernetes pods in part 2.
//   DemandSource - where jobs come from: webhooks and REST polls here, GitHub's scale-set
//                  long poll in part 2. Sources report into a DemandSink (the Scaler).
// The Scaler calls a backend's mutating methods from its one decision thread only, never
// under its own lock; runners() and name() may also come from an HTTP thread (GET /runners).
// Sources may call the sink from any thread.

#include <cstdint>
#include <string>
#include <vector>

#include "appliance/status.h"
#include "config.h"
#include "jobs.h"
#include "policy.h"

namespace appliance::plugins::runner_scaler {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  // The pool's runners as the policy sees them (booting, idle or busy, and since when).
  virtual std::vector<RunnerView> runners(const std::string& pool, TimePoint now) = 0;
  // Starts `count` runners from the pool's template.
  virtual Status createRunners(const PoolConfig& pool, int count, TimePoint now) = 0;
  // Stops an idle (or stuck booting) runner. A backend must refuse a busy one with
  // kFailedPrecondition rather than kill a job (part 2: GitHub's 422 on deregistration).
  virtual Status removeRunner(const std::string& pool, const std::string& id, TimePoint now) = 0;
  // Job lifecycle as the demand sources saw it. The dry run uses it to make its virtual
  // runners busy and idle; a real backend learns this from its runners and may ignore it.
  virtual void jobStarted(const std::string& pool, std::int64_t job_id,
                          const std::string& runner_name, TimePoint now) = 0;
  virtual void jobCompleted(const std::string& pool, std::int64_t job_id, TimePoint now) = 0;
  // Periodic cleanup (orphans, stuck pods, leftover Secrets), called by the leader on every
  // acting step after its creates and removals, with no scaler lock held.
  virtual void maintain(TimePoint /*now*/) {}
  // One scale decision worth recording where operators look (Kubernetes: an Event on the
  // scaler's own pod). reason: ScaledUp, ScaledDown or BudgetExhausted. Must not block on I/O.
  virtual void recordEvent(const std::string& /*pool*/, const std::string& /*reason*/,
                           const std::string& /*message*/) {}
};

class DemandSink {
 public:
  virtual ~DemandSink() = default;
  // Individual job observations (webhook deliveries, scale-set job messages).
  virtual void observe(std::vector<JobObservation> jobs) = 0;
  // A complete listing of one repository's queued and in-progress jobs, taken starting at
  // `started`: repairs jobs whose completion was never announced.
  virtual void snapshot(const std::string& repository, std::vector<JobObservation> active,
                        TimePoint started) = 0;
  // Absolute demand for one pool from a source that counts for us (part 2's scale-set
  // statistics: totalAssignedJobs); from then on it replaces the per-job count of that pool.
  virtual void statistics(const std::string& pool, JobDemand demand) = 0;
};

class DemandSource {
 public:
  virtual ~DemandSource() = default;
  virtual std::string name() const = 0;
  // Starts reporting into `sink` (threads, timers); stop() ends it and joins.
  virtual Status start(DemandSink& sink) = 0;
  virtual void stop() = 0;
};

}  // namespace appliance::plugins::runner_scaler
