#include "scale_set_demand.h"

#include <algorithm>
#include <charconv>

namespace appliance::plugins::runner_scaler {

JobDemand demandFromStatistics(const scaleset::Statistics& s) {
  const std::int64_t assigned = std::max<std::int64_t>(0, s.total_assigned_jobs);
  const std::int64_t running = std::clamp<std::int64_t>(s.total_running_jobs, 0, assigned);
  constexpr std::int64_t kCap = 1'000'000;  // far above any pool's max; keeps int safe
  return JobDemand{static_cast<int>(std::min(assigned - running, kCap)),
                   static_cast<int>(std::min(running, kCap))};
}

std::int64_t jobKey(const scaleset::JobEvent& e) {
  if (e.runner_request_id > 0) return e.runner_request_id;
  std::int64_t id = 0;
  const char* end = e.job_id.data() + e.job_id.size();
  auto [ptr, ec] = std::from_chars(e.job_id.data(), end, id);
  if (ec == std::errc() && ptr == end && id > 0) return id;
  // FNV-1a of the job id, in the upper half of the positive range (apart from real ids).
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : e.job_id) h = (h ^ c) * 1099511628211ull;
  return static_cast<std::int64_t>((h >> 2) | (1ull << 61));
}

std::vector<JobObservation> observationsFrom(const scaleset::DemandUpdate& update) {
  std::vector<JobObservation> out;
  for (const auto& e : update.jobs) {
    JobObservation o;
    switch (e.type) {
      case scaleset::JobEventType::kAvailable:
      case scaleset::JobEventType::kAssigned:
        o.status = JobStatus::kQueued;
        break;
      case scaleset::JobEventType::kStarted:
        o.status = JobStatus::kInProgress;
        break;
      case scaleset::JobEventType::kCompleted:
        o.status = JobStatus::kCompleted;
        break;
      case scaleset::JobEventType::kOther:
        continue;
    }
    if (e.job_id.empty() && e.runner_request_id <= 0) continue;
    o.id = jobKey(e);
    o.run_id = e.workflow_run_id;
    o.repository =
        e.owner_name.empty() ? e.repository_name : e.owner_name + "/" + e.repository_name;
    o.labels = e.request_labels;
    o.runner_name = e.runner_name;
    o.pool = update.pool;
    out.push_back(std::move(o));
  }
  return out;
}

struct ScaleSetDemand::Term {
  scaleset::RealSleeper sleeper;
  std::shared_ptr<HttpClient> poll;
  std::unique_ptr<scaleset::ActionsClient> client;
  std::unique_ptr<scaleset::ScaleSetDemandSource> source;
};

ScaleSetDemand::ScaleSetDemand(scaleset::ActionsClientOptions options, AuthLoader auth,
                               std::shared_ptr<HttpClient> api, PollClientFactory poll_factory,
                               std::vector<scaleset::PoolSpec> pools,
                               scaleset::SourceOptions source_options, const Clock& clock,
                               const Logger& logger)
    : options_(std::move(options)),
      auth_(std::move(auth)),
      api_(std::move(api)),
      poll_factory_(std::move(poll_factory)),
      pools_(std::move(pools)),
      source_options_(std::move(source_options)),
      clock_(clock),
      logger_(logger) {
  for (const auto& p : pools_) max_capacity_[p.pool] = p.max_runners;
}

ScaleSetDemand::~ScaleSetDemand() { stop(); }

std::shared_ptr<ScaleSetDemand::Term> ScaleSetDemand::current() const {
  std::lock_guard lock(mutex_);
  return term_;
}

bool ScaleSetDemand::running() const { return current() != nullptr; }

Status ScaleSetDemand::start() {
  if (running()) return Status::ok();
  if (!sink_) return Status::failedPrecondition("scale-set demand: no sink set");
  auto auth = auth_();
  if (!auth) return auth.status();
  auto poll = poll_factory_();
  if (!poll) return poll.status();
  auto term = std::make_shared<Term>();
  term->poll = *poll;
  scaleset::ActionsClientOptions options = options_;
  options.auth = std::move(auth).value();
  term->client = std::make_unique<scaleset::ActionsClient>(options, api_, term->poll, clock_,
                                                           term->sleeper, logger_);
  std::vector<scaleset::PoolSpec> pools = pools_;
  {
    std::lock_guard lock(mutex_);
    for (auto& p : pools) p.max_runners = max_capacity_[p.pool];
  }
  DemandSink* sink = sink_;
  term->source = std::make_unique<scaleset::ScaleSetDemandSource>(
      *term->client, term->poll, std::move(pools), source_options_,
      [sink](const scaleset::DemandUpdate& u) {
        auto jobs = observationsFrom(u);
        if (!jobs.empty()) sink->observe(std::move(jobs));
        sink->statistics(u.pool, demandFromStatistics(u.statistics));
      },
      term->sleeper, logger_);
  if (Status s = term->source->start(); !s.isOk()) return s;
  std::lock_guard lock(mutex_);
  term_ = std::move(term);
  return Status::ok();
}

void ScaleSetDemand::stop() {
  std::shared_ptr<Term> term;
  {
    std::lock_guard lock(mutex_);
    term.swap(term_);
  }
  if (term) term->source->stop();
}

void ScaleSetDemand::setMaxCapacity(const std::string& pool, std::int64_t max_runners) {
  std::shared_ptr<Term> term;
  {
    std::lock_guard lock(mutex_);
    auto it = max_capacity_.find(pool);
    if (it == max_capacity_.end()) return;
    it->second = max_runners;
    term = term_;
  }
  if (term) term->source->setMaxCapacity(pool, max_runners);
}

std::optional<scaleset::PoolStatus> ScaleSetDemand::status(const std::string& pool) const {
  auto term = current();
  if (!term) return std::nullopt;
  return term->source->status(pool);
}

Result<scaleset::JitConfig> ScaleSetDemand::generateJitConfig(const std::string& pool,
                                                              const std::string& runner_name) {
  auto term = current();
  if (!term) {
    return Status::unavailable("scale-set pool '" + pool +
                               "': this replica holds no scale-set session (not the leader)");
  }
  return term->source->generateJitConfig(pool, runner_name);
}

Status ScaleSetDemand::removeRunner(const std::string& pool, std::int64_t runner_id) {
  auto term = current();
  if (!term) {
    return Status::unavailable("scale-set pool '" + pool +
                               "': this replica holds no scale-set session (not the leader)");
  }
  return term->source->removeRunner(pool, runner_id);
}

Result<RunnerRegistration> ScaleSetRunnerRegistrar::registerRunner(const PoolConfig& pool,
                                                                   const std::string& name) {
  auto jit = runners_->generateJitConfig(pool.policy.name, name);
  if (!jit) {
    if (jit.status().code() == StatusCode::kConflict) {
      return Status(StatusCode::kConflict,
                    "runner name '" + name + "' is registered outside scale set '" +
                        pool.scale_set_name +
                        "' (AgentExistsException); use another name: " + jit.status().message());
    }
    return jit.status();
  }
  RunnerRegistration r;
  r.runner_id = jit->runner.id;
  r.runner_name = jit->runner.name.empty() ? name : jit->runner.name;
  r.encoded_jit_config = std::move(jit->encoded_jit_config);
  return r;
}

Status ScaleSetRunnerRegistrar::deregisterRunner(const PoolConfig& pool, std::int64_t runner_id) {
  Status s = runners_->removeRunner(pool.policy.name, runner_id);
  if (s.code() == StatusCode::kConflict) {
    return Status::failedPrecondition("runner " + std::to_string(runner_id) + " of pool '" +
                                      pool.policy.name +
                                      "' still runs a job (JobStillRunningException); keeping it");
  }
  if (s.code() == StatusCode::kNotFound) return Status::ok();
  return s;
}

Result<RunnerRegistrar*> PerPoolRunnerRegistrar::route(const PoolConfig& pool) {
  if (pool.scaleSet()) {
    if (!scale_set_) {
      return Status::failedPrecondition("pool '" + pool.policy.name +
                                        "' has demand: scale_set but no scale-set registrar");
    }
    return scale_set_.get();
  }
  if (!rest_) {
    return Status::failedPrecondition("pool '" + pool.policy.name +
                                      "' needs GitHub REST runner registration (github.token_file "
                                      "or github.app) and none is configured");
  }
  return rest_.get();
}

Result<RunnerRegistration> PerPoolRunnerRegistrar::registerRunner(const PoolConfig& pool,
                                                                  const std::string& name) {
  auto target = route(pool);
  if (!target) return target.status();
  return (*target)->registerRunner(pool, name);
}

Status PerPoolRunnerRegistrar::deregisterRunner(const PoolConfig& pool, std::int64_t runner_id) {
  auto target = route(pool);
  if (!target) return target.status();
  return (*target)->deregisterRunner(pool, runner_id);
}

Result<std::vector<RegisteredRunner>> PerPoolRunnerRegistrar::listRunners(const PoolConfig& pool) {
  auto target = route(pool);
  if (!target) return target.status();
  return (*target)->listRunners(pool);
}

}  // namespace appliance::plugins::runner_scaler
