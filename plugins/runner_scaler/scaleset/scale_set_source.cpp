#include "scaleset/scale_set_source.h"

#include <algorithm>

namespace appliance::plugins::runner_scaler::scaleset {

ScaleSetDemandSource::ScaleSetDemandSource(ActionsClient& client,
                                           std::shared_ptr<HttpClient> poll_http,
                                           std::vector<PoolSpec> pools, SourceOptions options,
                                           Callback callback, Sleeper& sleeper,
                                           const Logger& logger)
    : client_(client),
      poll_http_(std::move(poll_http)),
      options_(std::move(options)),
      callback_(std::move(callback)),
      sleeper_(sleeper),
      logger_(logger) {
  for (auto& spec : pools) {
    auto run = std::make_unique<PoolRun>();
    run->max_capacity = spec.max_runners;
    run->spec = std::move(spec);
    pools_.push_back(std::move(run));
  }
}

ScaleSetDemandSource::~ScaleSetDemandSource() { stop(); }

Status ScaleSetDemandSource::start() {
  if (started_) return Status::failedPrecondition("scale-set source: start() called twice");
  started_ = true;
  for (auto& p : pools_) {
    PoolRun* pool = p.get();
    pool->thread = std::thread([this, pool] { run(*pool); });
  }
  return Status::ok();
}

void ScaleSetDemandSource::stop() {
  if (!started_ || stopping_.exchange(true)) return;
  sleeper_.interrupt();
  if (poll_http_) poll_http_->shutdown();  // breaks long polls in flight
  for (auto& p : pools_) {
    if (p->thread.joinable()) p->thread.join();
  }
  for (auto& p : pools_) {
    std::optional<Session> session;
    std::int64_t id = 0;
    {
      std::lock_guard lock(p->mutex);
      session = p->session;
      id = p->status.scale_set_id;
    }
    if (!session) continue;
    Status deleted = client_.deleteSession(id, session->session_id);
    if (deleted) {
      logger_.info("deleted message session", {{"pool", p->spec.pool}, {"scale_set_id", id}});
    } else {
      logger_.warn("could not delete message session; the service expires it",
                   {{"pool", p->spec.pool}, {"error", deleted.message()}});
    }
    std::lock_guard lock(p->mutex);
    p->session.reset();
    p->status.has_session = false;
  }
}

ScaleSetDemandSource::PoolRun* ScaleSetDemandSource::find(const std::string& pool) const {
  for (const auto& p : pools_) {
    if (p->spec.pool == pool) return p.get();
  }
  return nullptr;
}

void ScaleSetDemandSource::noteError(PoolRun& pool, const Status& error) {
  std::lock_guard lock(pool.mutex);
  pool.status.last_error = error.message();
}

void ScaleSetDemandSource::deliver(PoolRun& pool, DemandUpdate update) {
  {
    std::lock_guard lock(pool.mutex);
    pool.status.statistics = update.statistics;
    pool.status.last_error.clear();
  }
  if (callback_) callback_(update);
}

Result<ScaleSet> ScaleSetDemandSource::resolveScaleSet(const PoolRun& pool) {
  auto group = client_.runnerGroupByName(pool.spec.runner_group);
  if (!group) return group.status();
  ScaleSet wanted;
  wanted.name = pool.spec.scale_set_name;
  wanted.runner_group_id = group->id;
  wanted.labels = pool.spec.labels;
  if (wanted.labels.empty()) wanted.labels.push_back(pool.spec.scale_set_name);
  return client_.createOrAdoptScaleSet(wanted);
}

bool ScaleSetDemandSource::setUp(PoolRun& pool) {
  std::chrono::seconds backoff = options_.error_initial;
  while (!stopping_) {
    auto set = resolveScaleSet(pool);
    if (set) {
      std::lock_guard lock(pool.mutex);
      pool.status.has_scale_set = true;
      pool.status.scale_set_id = set->id;
      return true;
    }
    noteError(pool, set.status());
    logger_.warn("scale set set-up failed; retrying",
                 {{"pool", pool.spec.pool},
                  {"error", set.status().message()},
                  {"retry_in_s", static_cast<std::int64_t>(backoff.count())}});
    if (!sleeper_.sleepFor(backoff)) return false;
    backoff = std::min(backoff * 2, options_.error_max);
  }
  return false;
}

// Creates the session, waiting out the 409 a crashed predecessor's session causes instead of
// giving up (ARC's crash loop, §3): backoff conflict_initial → conflict_max, for ever.
bool ScaleSetDemandSource::openSession(PoolRun& pool, Session& session) {
  std::chrono::seconds conflict_wait = options_.conflict_initial;
  std::chrono::seconds error_wait = options_.error_initial;
  std::chrono::seconds waited{0};
  bool told_patience = false;
  std::int64_t id = pool.status.scale_set_id;
  while (!stopping_) {
    auto created = client_.createSession(id, options_.owner_name);
    if (created) {
      session = std::move(created).value();
      {
        std::lock_guard lock(pool.mutex);
        pool.session = session;
        pool.status.has_session = true;
      }
      logger_.info("message session opened",
                   {{"pool", pool.spec.pool},
                    {"scale_set_id", id},
                    {"assigned_jobs", session.statistics.total_assigned_jobs}});
      return true;
    }
    noteError(pool, created.status());
    std::chrono::seconds wait;
    if (created.status().code() == StatusCode::kConflict) {
      {
        std::lock_guard lock(pool.mutex);
        pool.status.conflict_retries++;
      }
      wait = conflict_wait;
      conflict_wait = std::min(conflict_wait * 2, options_.conflict_max);
      if (waited >= options_.conflict_patience && !told_patience) {
        told_patience = true;
        logger_.error("scale set still has another active session; still waiting",
                      {{"pool", pool.spec.pool},
                       {"scale_set_id", id},
                       {"waited_s", static_cast<std::int64_t>(waited.count())}});
      } else {
        logger_.warn("scale set has an active session (a previous listener?); waiting",
                     {{"pool", pool.spec.pool},
                      {"scale_set_id", id},
                      {"retry_in_s", static_cast<std::int64_t>(wait.count())}});
      }
    } else {
      wait = error_wait;
      error_wait = std::min(error_wait * 2, options_.error_max);
      logger_.warn("cannot open a message session; retrying",
                   {{"pool", pool.spec.pool},
                    {"error", created.status().message()},
                    {"retry_in_s", static_cast<std::int64_t>(wait.count())}});
    }
    waited += wait;
    if (!sleeper_.sleepFor(wait)) return false;
  }
  return false;
}

// One long poll and what follows it. False when the session must be reopened.
bool ScaleSetDemandSource::pollOnce(PoolRun& pool, Session& session) {
  std::int64_t id = pool.status.scale_set_id;
  std::int64_t last;
  {
    std::lock_guard lock(pool.mutex);
    last = pool.status.last_message_id;
  }
  auto got = client_.getMessage(session, id, last, pool.max_capacity.load());
  {
    std::lock_guard lock(pool.mutex);
    pool.session = session;  // a 401 may have refreshed it
  }
  if (!got) {
    if (stopping_) return true;
    noteError(pool, got.status());
    if (got.status().code() == StatusCode::kNotFound) return false;
    logger_.warn("message poll failed; polling again",
                 {{"pool", pool.spec.pool}, {"error", got.status().message()}});
    (void)sleeper_.sleepFor(options_.error_initial);
    return true;
  }
  DemandUpdate update;
  update.pool = pool.spec.pool;
  update.scale_set_id = id;
  if (!got.value()) {  // 202: nothing new; the last statistics still stand
    std::lock_guard lock(pool.mutex);
    update.origin = DemandUpdate::Origin::kIdlePoll;
    update.statistics = pool.status.statistics;
  } else {
    QueueMessage& m = *got.value();
    update.origin = DemandUpdate::Origin::kMessage;
    update.message_id = m.message_id;
    update.statistics = m.statistics;
    update.jobs = std::move(m.jobs);
    std::vector<std::int64_t> available;
    for (const auto& job : update.jobs) {
      if (job.type == JobEventType::kAvailable) available.push_back(job.runner_request_id);
    }
    if (!available.empty()) {
      auto acquired = client_.acquireJobs(session, id, available);
      if (!acquired) {
        logger_.warn("acquiring jobs failed; the message comes back unacked",
                     {{"pool", pool.spec.pool}, {"error", acquired.status().message()}});
        noteError(pool, acquired.status());
        (void)sleeper_.sleepFor(options_.error_initial);
        return true;
      }
      update.acquired = std::move(acquired).value();
    }
  }
  std::int64_t message_id = update.message_id;
  std::size_t jobs = update.jobs.size();
  deliver(pool, std::move(update));
  if (message_id > 0) {
    Status acked = client_.deleteMessage(session, id, message_id);
    if (!acked) {
      logger_.warn(
          "ack failed; the message may be delivered again",
          {{"pool", pool.spec.pool}, {"message_id", message_id}, {"error", acked.message()}});
    }
    std::lock_guard lock(pool.mutex);
    pool.status.last_message_id = message_id;
    logger_.debug("message processed", {{"pool", pool.spec.pool},
                                        {"message_id", message_id},
                                        {"jobs", static_cast<std::int64_t>(jobs)}});
  }
  return true;
}

void ScaleSetDemandSource::run(PoolRun& pool) {
  if (!setUp(pool)) return;
  while (!stopping_) {
    Session session;
    if (!openSession(pool, session)) return;
    DemandUpdate initial;
    initial.pool = pool.spec.pool;
    initial.scale_set_id = pool.status.scale_set_id;
    initial.origin = DemandUpdate::Origin::kSession;
    initial.statistics = session.statistics;
    deliver(pool, std::move(initial));
    while (!stopping_) {
      if (!pollOnce(pool, session)) break;
    }
    if (!stopping_) {
      logger_.warn("message session lost; opening a new one", {{"pool", pool.spec.pool}});
      std::lock_guard lock(pool.mutex);
      pool.session.reset();
      pool.status.has_session = false;
    }
  }
}

Result<JitConfig> ScaleSetDemandSource::generateJitConfig(const std::string& pool_name,
                                                          const std::string& runner_name) {
  PoolRun* pool = find(pool_name);
  if (!pool) return Status::notFound("scale-set source: no pool '" + pool_name + "'");
  std::int64_t id;
  {
    std::lock_guard lock(pool->mutex);
    if (!pool->status.has_scale_set) {
      return Status::unavailable("scale-set source: pool '" + pool_name + "' has no scale set yet");
    }
    id = pool->status.scale_set_id;
  }
  auto config = client_.generateJitConfig(id, runner_name, pool->spec.work_folder);
  if (config) {
    logger_.info("JIT config generated",
                 {{"pool", pool_name}, {"runner", runner_name}, {"runner_id", config->runner.id}});
  }
  return config;
}

Status ScaleSetDemandSource::removeRunner(const std::string& pool_name, std::int64_t runner_id) {
  if (!find(pool_name)) return Status::notFound("scale-set source: no pool '" + pool_name + "'");
  return client_.removeRunner(runner_id);
}

void ScaleSetDemandSource::setMaxCapacity(const std::string& pool_name, std::int64_t max) {
  if (PoolRun* pool = find(pool_name)) pool->max_capacity = max;
}

std::optional<PoolStatus> ScaleSetDemandSource::status(const std::string& pool_name) const {
  PoolRun* pool = find(pool_name);
  if (!pool) return std::nullopt;
  std::lock_guard lock(pool->mutex);
  return pool->status;
}

}  // namespace appliance::plugins::runner_scaler::scaleset
