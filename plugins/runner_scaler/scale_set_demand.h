#pragma once
// The scaler's side of GitHub's runner scale-set protocol (`demand: scale_set`, issue #12).
//
// ScaleSetDemand owns one "term" at a time: a fresh Sleeper, long-poll HttpClient,
// ActionsClient and ScaleSetDemandSource, started when this replica gains leadership and
// stopped (sessions deleted) when it loses it or stops, since a source runs once. Its
// DemandUpdates go to the Scaler: statistics.totalAssignedJobs (never a count of messages)
// becomes the pool's absolute demand, and the job messages become JobObservations so the
// scaler knows which jobs started and ended on which runner.
//
// ScaleSetRunnerRegistrar registers runners of scale-set pools through the current term
// (generatejitconfig, runner removal); PerPoolRunnerRegistrar routes each pool to it or to
// the REST registrar (generate-jitconfig for webhook pools).

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "backend.h"
#include "runner_registration.h"
#include "scaleset/scale_set_source.h"

namespace appliance::plugins::runner_scaler {

// queued = assigned - running, in_progress = running: the policy then wants
// totalAssignedJobs + min_idle runners, clamped to the pool's min and max.
JobDemand demandFromStatistics(const scaleset::Statistics& statistics);
// The update's job messages for `pool` (JobAvailable/JobAssigned queued, JobStarted in
// progress on its runner, JobCompleted completed).
std::vector<JobObservation> observationsFrom(const scaleset::DemandUpdate& update);
// The tracker key of a job message: runnerRequestId, else a numeric jobId, else a hash of
// jobId (since 2025 some messages carry runnerRequestId 0).
std::int64_t jobKey(const scaleset::JobEvent& event);

// What a registrar needs from the scale-set side (ScaleSetDemand; fakes in tests).
class ScaleSetRunners {
 public:
  virtual ~ScaleSetRunners() = default;
  virtual Result<scaleset::JitConfig> generateJitConfig(const std::string& pool,
                                                        const std::string& runner_name) = 0;
  virtual Status removeRunner(const std::string& pool, std::int64_t runner_id) = 0;
};

class ScaleSetDemand final : public ScaleSetRunners {
 public:
  // A new client for one term's long poll (its shutdown() ends the term's polls for good).
  using PollClientFactory = std::function<Result<std::shared_ptr<HttpClient>>()>;
  // Re-read on every term: the PAT file or the App key may have been rotated.
  using AuthLoader = std::function<Result<scaleset::GitHubAuth>()>;

  ScaleSetDemand(scaleset::ActionsClientOptions options, AuthLoader auth,
                 std::shared_ptr<HttpClient> api, PollClientFactory poll_factory,
                 std::vector<scaleset::PoolSpec> pools, scaleset::SourceOptions source_options,
                 const Clock& clock, const Logger& logger);
  ~ScaleSetDemand() override;

  // Where updates go (the Scaler); set before start().
  void setSink(DemandSink* sink) { sink_ = sink; }
  const std::vector<scaleset::PoolSpec>& pools() const { return pools_; }

  // Starts a new term (a no-op while one runs). kUnavailable when credentials cannot be read.
  Status start();
  // Ends the term: long polls broken, sessions deleted. A no-op without one.
  void stop();
  bool running() const;

  // The pool's current max for X-ScaleSetMaxCapacity, kept across terms.
  void setMaxCapacity(const std::string& pool, std::int64_t max_runners);
  std::optional<scaleset::PoolStatus> status(const std::string& pool) const;

  // kUnavailable while no term runs (a follower) or the pool's scale set is not known yet.
  Result<scaleset::JitConfig> generateJitConfig(const std::string& pool,
                                                const std::string& runner_name) override;
  Status removeRunner(const std::string& pool, std::int64_t runner_id) override;

 private:
  struct Term;
  std::shared_ptr<Term> current() const;

  scaleset::ActionsClientOptions options_;
  AuthLoader auth_;
  std::shared_ptr<HttpClient> api_;
  PollClientFactory poll_factory_;
  std::vector<scaleset::PoolSpec> pools_;
  scaleset::SourceOptions source_options_;
  DemandSink* sink_ = nullptr;
  const Clock& clock_;
  const Logger& logger_;
  mutable std::mutex mutex_;
  std::shared_ptr<Term> term_;
  std::map<std::string, std::int64_t> max_capacity_;
};

// RunnerRegistrar for scale-set pools. AgentExistsException: ActionsClient already removes a
// same-named runner of this set and repeats once; a name held in another set comes back as
// kConflict (pick another name). JobStillRunningException on removal is kFailedPrecondition:
// the runner is busy, keep it. AgentNotFoundException counts as removed.
class ScaleSetRunnerRegistrar final : public RunnerRegistrar {
 public:
  explicit ScaleSetRunnerRegistrar(std::shared_ptr<ScaleSetRunners> runners)
      : runners_(std::move(runners)) {}
  Result<RunnerRegistration> registerRunner(const PoolConfig& pool,
                                            const std::string& runner_name) override;
  Status deregisterRunner(const PoolConfig& pool, std::int64_t runner_id) override;

 private:
  std::shared_ptr<ScaleSetRunners> runners_;
};

// Routes `demand: scale_set` pools to `scale_set` and the others to `rest` (either may be
// null: its pools then get kFailedPrecondition naming what is missing).
class PerPoolRunnerRegistrar final : public RunnerRegistrar {
 public:
  PerPoolRunnerRegistrar(std::shared_ptr<RunnerRegistrar> scale_set,
                         std::shared_ptr<RunnerRegistrar> rest)
      : scale_set_(std::move(scale_set)), rest_(std::move(rest)) {}
  Result<RunnerRegistration> registerRunner(const PoolConfig& pool,
                                            const std::string& runner_name) override;
  Status deregisterRunner(const PoolConfig& pool, std::int64_t runner_id) override;
  Result<std::vector<RegisteredRunner>> listRunners(const PoolConfig& pool) override;

 private:
  Result<RunnerRegistrar*> route(const PoolConfig& pool);
  std::shared_ptr<RunnerRegistrar> scale_set_;
  std::shared_ptr<RunnerRegistrar> rest_;
};

}  // namespace appliance::plugins::runner_scaler
