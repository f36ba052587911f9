#include "scaler.h"

#include <algorithm>
#include <sstream>

#include "appliance/http.h"
#include "appliance/time.h"

namespace appliance::plugins::runner_scaler {
namespace {

constexpr std::string_view kNs = "runner_scaler";
constexpr auto kDeliveryKeep = std::chrono::hours(24);
constexpr auto kBudgetWriteEvery = std::chrono::seconds(30);

Timestamp micros(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}
TimePoint fromMicros(Timestamp us) { return TimePoint{std::chrono::microseconds{us}}; }
// The budget's day number: days since 1970-01-01 in the pool's budget_time_zone.
std::int64_t budgetDay(const PoolConfig& pool, TimePoint t) {
  const auto local = pool.budget_zone->toLocal(std::chrono::floor<std::chrono::seconds>(t));
  return std::chrono::floor<std::chrono::days>(local).time_since_epoch().count();
}

std::string joinLabels(const std::vector<std::string>& labels) {
  std::string out;
  for (const auto& l : labels) out += (out.empty() ? "" : ",") + l;
  return out;
}
std::vector<std::string> splitLabels(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string l; std::getline(in, l, ',');) {
    if (!l.empty()) out.push_back(l);
  }
  return out;
}

// One line of tab-separated fields: small, stable and free of JSON dependencies.
std::string encodeJob(const JobRecord& j) {
  std::ostringstream out;
  out << j.id << '\t' << j.run_id << '\t' << j.repository << '\t' << j.pool << '\t'
      << static_cast<int>(j.status) << '\t' << joinLabels(j.labels) << '\t' << j.runner_name << '\t'
      << micros(j.queued_at) << '\t' << micros(j.started_at) << '\t' << micros(j.updated_at);
  return out.str();
}
std::optional<JobRecord> decodeJob(const std::string& text) {
  std::vector<std::string> f;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, '\t');) f.push_back(part);
  if (f.size() == 9) f.insert(f.begin() + 6, "");  // an empty runner name
  if (f.size() != 10) return std::nullopt;
  try {
    JobRecord j;
    j.id = std::stoll(f[0]);
    j.run_id = std::stoll(f[1]);
    j.repository = f[2];
    j.pool = f[3];
    const int status = std::stoi(f[4]);
    if (status < 0 || status > 3) return std::nullopt;
    j.status = static_cast<JobStatus>(status);
    j.labels = splitLabels(f[5]);
    j.runner_name = f[6];
    j.queued_at = fromMicros(std::stoll(f[7]));
    j.started_at = fromMicros(std::stoll(f[8]));
    j.updated_at = fromMicros(std::stoll(f[9]));
    return j;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

const char* direction(Action a) {
  return a == Action::kScaleUp ? "up" : a == Action::kScaleDown ? "down" : "hold";
}

}  // namespace

Scaler::Scaler(ScalerConfig config, std::shared_ptr<Backend> backend,
               std::shared_ptr<ScalerMetrics> metrics, const Logger& logger, const Clock& clock)
    : config_(std::move(config)),
      backend_(std::move(backend)),
      metrics_(std::move(metrics)),
      logger_(logger),
      clock_(clock),
      tracker_([this] {
        std::vector<PoolLabels> pools;
        for (const auto& p : config_.pools) pools.push_back({p.policy.name, p.labels});
        return pools;
      }()) {
  for (const auto& p : config_.pools) pools_[p.policy.name];
}

Scaler::~Scaler() { stopThread(); }

void Scaler::attachStore(std::shared_ptr<KvStore> kv) {
  std::lock_guard step_lock(step_mutex_);
  std::lock_guard lock(mutex_);
  kv_ = std::move(kv);
  if (kv_) loadState();
}

void Scaler::loadState() {
  auto deliveries = kv_->list(kNs, "delivery/");
  auto jobs = kv_->list(kNs, "job/");
  if (!deliveries.isOk() || !jobs.isOk()) {
    const Status& s = deliveries.isOk() ? jobs.status() : deliveries.status();
    logger_.warn("cannot load the scaler's saved state; starting empty", {{"error", s.message()}});
    return;
  }
  {
    std::lock_guard queue(queue_mutex_);
    for (const auto& e : *deliveries) {
      const std::string id = e.key.substr(9);
      if (deliveries_.insert(id).second) delivery_order_.push_back(id);
    }
  }
  int restored = 0;
  for (const auto& e : *jobs) {
    seen_versions_[e.key] = e.version;
    if (auto job = decodeJob(e.value)) {
      tracker_.restore(std::move(*job));
      ++restored;
    }
  }
  for (const auto& pool : config_.pools) {
    const std::string& name = pool.policy.name;
    PoolState& state = pools_[name];
    auto budget = kv_->get(kNs, "budget/" + name);
    if (!budget.isOk() || !budget->has_value()) continue;
    std::istringstream in((*budget)->value);
    std::int64_t day = -1;
    double used = 0;
    if (in >> day >> used && day == budgetDay(pool, clock_.now())) {
      state.budget_day = day;
      state.budget_used = used;
    }
  }
  last_sync_ = clock_.steadyNow();
  logger_.info("restored the scaler's state from kv_store",
               {{"jobs", std::to_string(restored)},
                {"deliveries", std::to_string(deliveries.value().size())}});
}

// A new leader takes the budget the previous one spent today and the last scale-set
// statistics it saw (used until this replica's own session reports).
void Scaler::loadLeaderState() {
  if (!kv_) return;
  for (const auto& pool : config_.pools) {
    const std::string& name = pool.policy.name;
    auto budget = kv_->get(kNs, "budget/" + name);
    if (budget.isOk() && budget->has_value()) {
      std::istringstream in((*budget)->value);
      std::int64_t day = -1;
      double used = 0;
      if (in >> day >> used && day == budgetDay(pool, clock_.now())) {
        std::lock_guard lock(mutex_);
        PoolState& st = pools_[name];
        if (st.budget_day != day || st.budget_used < used) {
          st.budget_day = day;
          st.budget_used = used;
        }
      }
    }
    if (!pool.scaleSet()) continue;  // only scale-set pools count from statistics
    auto stats = kv_->get(kNs, "stats/" + name);
    if (stats.isOk() && stats->has_value()) {
      std::istringstream in((*stats)->value);
      JobDemand d;
      if (in >> d.queued >> d.in_progress) {
        std::lock_guard lock(mutex_);
        absolute_demand_[name] = d;
      }
    }
  }
}

std::size_t Scaler::syncFromStore() {
  if (!kv_) return 0;
  last_sync_ = clock_.steadyNow();
  const auto started = std::chrono::steady_clock::now();  // a cost, not a decision input
  auto listed = kv_->list(kNs, "job/");
  if (!listed.isOk()) {
    if (!kv_failing_.exchange(true)) {
      logger_.warn("cannot read job records from kv_store; using what this replica knows",
                   {{"error", listed.status().message()}});
    }
    return 0;
  }
  std::vector<JobRecord> changed;
  std::set<std::string> live;
  for (const auto& e : *listed) {
    live.insert(e.key);
    auto& known = seen_versions_[e.key];
    if (known == e.version) continue;
    known = e.version;
    if (auto job = decodeJob(e.value)) changed.push_back(std::move(*job));
  }
  for (auto it = seen_versions_.begin(); it != seen_versions_.end();) {
    it = live.count(it->first) ? std::next(it) : seen_versions_.erase(it);
  }
  std::size_t applied = 0;
  const TimePoint now = clock_.now();
  std::unique_lock lock(mutex_);
  for (const auto& rec : changed) {
    JobObservation obs;
    obs.id = rec.id;
    obs.run_id = rec.run_id;
    obs.repository = rec.repository;
    obs.labels = rec.labels;
    obs.pool = rec.pool;
    obs.status = rec.status;
    obs.runner_name = rec.runner_name;
    obs.created_at = rec.queued_at;
    if (rec.status == JobStatus::kInProgress || rec.status == JobStatus::kCompleted) {
      if (rec.started_at.time_since_epoch().count() != 0) obs.started_at = rec.started_at;
    }
    if (rec.status == JobStatus::kCompleted) obs.completed_at = rec.completed_at;
    JobChange change = tracker_.apply(obs, now);
    if (change.kind != JobChange::Kind::kNone) ++applied;
    onChange(change, now, true);
  }
  lock.unlock();
  metrics_->storeRecords().Set(static_cast<double>(listed->size()));
  metrics_->storeSync().Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return applied;
}

bool Scaler::rememberDelivery(const std::string& id) {
  std::lock_guard lock(queue_mutex_);
  if (!deliveries_.insert(id).second) return false;
  delivery_order_.push_back(id);
  new_deliveries_.push_back(id);
  while (delivery_order_.size() > config_.dedupe_deliveries) {
    deliveries_.erase(delivery_order_.front());
    delivery_order_.pop_front();
  }
  return true;
}

void Scaler::wake() {
  std::lock_guard wl(wake_mutex_);
  wake_flag_ = true;
  wake_.notify_one();
}

void Scaler::observe(std::vector<JobObservation> jobs) {
  {
    std::lock_guard lock(queue_mutex_);
    pending_.push_back(Pending{std::move(jobs), false, {}, {}, clock_.steadyNow()});
  }
  wake();
}

void Scaler::snapshot(const std::string& repository, std::vector<JobObservation> active,
                      TimePoint started) {
  {
    std::lock_guard lock(queue_mutex_);
    pending_.push_back(Pending{std::move(active), true, repository, started, clock_.steadyNow()});
  }
  wake();
}

void Scaler::statistics(const std::string& pool, JobDemand demand) {
  if (!pools_.count(pool)) return;  // pools_ keys never change after construction
  {
    std::lock_guard lock(queue_mutex_);
    new_statistics_[pool] = demand;
  }
  wake();
}

void Scaler::setLeading(bool leading) {
  if (want_leading_.exchange(leading) != leading) wake();
}

JobDemand Scaler::demandLocked(const std::string& pool) const {
  auto it = absolute_demand_.find(pool);
  return it != absolute_demand_.end() ? it->second : tracker_.demand(pool);
}

std::map<std::string, std::vector<RunnerView>> Scaler::supply(TimePoint now) {
  std::map<std::string, std::vector<RunnerView>> out;
  for (const auto& pool : config_.pools) {
    out[pool.policy.name] = backend_->runners(pool.policy.name, now);
  }
  return out;
}

// On the decision thread, with no lock held. Gaining: re-read every record other replicas
// wrote, the budget and the last statistics, then the plugin's hook (reconciliation poll,
// scale-set source), and only then act. Losing: stop acting first, then the hook.
void Scaler::changeLeadership(bool leading) {
  if (leading) {
    logger_.info("this replica leads now: rebuilding its view before acting");
    seen_versions_.clear();     // read everything again
    saved_statistics_.clear();  // another leader may have written since
    syncFromStore();
    loadLeaderState();
    if (leadership_hook_) leadership_hook_(true);
    {
      std::lock_guard lock(mutex_);
      last_step_.reset();  // a follower spent no budget
    }
    acting_ = true;
  } else {
    acting_ = false;
    logger_.info("this replica no longer leads: it records demand and does not act");
    if (leadership_hook_) leadership_hook_(false);
  }
  metrics_->leader().Set(leading ? 1 : 0);
}

void Scaler::step() {
  std::lock_guard step_lock(step_mutex_);
  const bool want = leader_check_ ? leader_check_() : want_leading_.load();
  if (want != acting_.load()) changeLeadership(want);
  const TimePoint now = clock_.now();

  // Intake: take the queue, then apply it under the state lock (no I/O there).
  std::deque<Pending> pending;
  std::vector<std::string> deliveries;
  std::map<std::string, JobDemand> stats;
  {
    std::lock_guard queue(queue_mutex_);
    pending.swap(pending_);
    deliveries.swap(new_deliveries_);
    stats.swap(new_statistics_);
  }
  if (kv_ && clock_.steadyNow() - last_sync_ >= config_.store_sync_interval) syncFromStore();
  std::vector<std::chrono::steady_clock::time_point> received;
  std::vector<JobRecord> dirty;
  std::vector<BackendNote> notes;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [pool, demand] : stats) absolute_demand_[pool] = demand;
    for (const auto& p : pending) {
      applyLocked(p, now);
      if (!p.is_snapshot) received.push_back(p.received);
    }
    tracker_.prune(now);
    dirty.swap(dirty_jobs_);
    notes.swap(notes_);
    metrics_->unmatchedJobs().Set(tracker_.unmatched());
  }
  for (const auto& n : notes) {
    if (n.started) {
      backend_->jobStarted(n.pool, n.job_id, n.runner_name, now);
    } else {
      backend_->jobCompleted(n.pool, n.job_id, now);
    }
  }
  persistJobs(dirty, now);
  if (kv_) {
    std::vector<KvWrite> writes;
    for (const auto& id : deliveries) {
      writes.push_back(
          {KvWrite::Op::kPut, "delivery/" + id, "", kKvAnyVersion, micros(now + kDeliveryKeep)});
    }
    if (acting_) {
      for (const auto& [pool, d] : stats) {
        const std::string value = std::to_string(d.queued) + " " + std::to_string(d.in_progress);
        if (saved_statistics_[pool] == value) continue;
        saved_statistics_[pool] = value;
        writes.push_back({KvWrite::Op::kPut, "stats/" + pool, value, kKvAnyVersion, 0});
      }
    }
    if (!writes.empty()) {
      Status s = kv_->write(kNs, writes);
      if (!s.isOk() && !kv_failing_.exchange(true)) {
        logger_.warn("cannot save delivery ids to kv_store", {{"error", s.message()}});
      }
    }
  }

  if (!acting_) {
    // A follower keeps its demand gauges current and leaves supply to the leader.
    std::lock_guard lock(mutex_);
    for (const auto& pool : config_.pools) {
      const JobDemand d = demandLocked(pool.policy.name);
      PoolMetrics& m = metrics_->pool(pool.policy.name);
      m.queued->Set(d.queued);
      m.in_progress->Set(d.in_progress);
    }
    return;
  }

  // Decide under the lock on a supply snapshot read without it; act with no lock held.
  const auto before = supply(now);
  std::vector<Plan> plans;
  {
    std::lock_guard lock(mutex_);
    const double elapsed =
        last_step_ ? std::max(0.0, std::chrono::duration<double>(now - *last_step_).count() / 60)
                   : 0.0;
    last_step_ = now;
    for (const auto& pool : config_.pools) {
      plans.push_back(decideLocked(pool, now, elapsed, before.at(pool.policy.name)));
    }
  }
  for (const auto& plan : plans) {
    const std::string& name = plan.pool->policy.name;
    for (const auto& id : plan.decision.remove) {
      Status s = backend_->removeRunner(name, id, now);
      if (!s.isOk()) logger_.warn("runner not removed", {{"pool", name}, {"error", s.message()}});
    }
    if (plan.decision.create > 0) {
      Status s = backend_->createRunners(*plan.pool, plan.decision.create, now);
      if (!s.isOk()) {
        logger_.error("cannot create runners", {{"pool", name}, {"error", s.message()}});
      }
    }
  }
  backend_->maintain(now);
  const auto after = supply(now);
  struct BudgetWrite {
    std::string pool;
    double used;
    std::int64_t day;
  };
  std::vector<BudgetWrite> budgets;
  {
    std::lock_guard lock(mutex_);
    for (const auto& plan : plans) finishLocked(plan, after.at(plan.pool->policy.name), now);
    const auto decided = clock_.steadyNow();
    for (const auto& t : received) {
      const double ms = std::chrono::duration<double, std::milli>(decided - t).count();
      if (latencies_ms_.size() < kLatencySamples) {
        latencies_ms_.push_back(ms);
      } else {
        latencies_ms_[latency_next_++ % kLatencySamples] = ms;
      }
    }
    if (now - last_budget_write_ >= kBudgetWriteEvery) {
      last_budget_write_ = now;
      for (const auto& [name, st] : pools_)
        budgets.push_back({name, st.budget_used, st.budget_day});
    }
  }
  for (const auto& b : budgets) persistBudget(b.pool, b.used, b.day);
  if (limits_hook_) {
    for (const auto& plan : plans) {
      limits_hook_(plan.pool->policy.name, plan.decision.limits.limits.max);
    }
  }
  if (acted_hook_) acted_hook_();
}

void Scaler::applyLocked(const Pending& pending, TimePoint now) {
  for (const auto& obs : pending.jobs) {
    JobChange change = tracker_.apply(obs, now);
    if (pending.is_snapshot && change.kind != JobChange::Kind::kNone) change.repaired = true;
    onChange(change, now, false);
  }
  if (!pending.is_snapshot) return;
  std::set<std::int64_t> active;
  for (const auto& obs : pending.jobs) active.insert(obs.id);
  for (const auto& change :
       tracker_.completeMissing(pending.repository, active, pending.started, now)) {
    onChange(change, now, false);
  }
}

// `from_store`: a record another replica stored; it observed the metrics and wrote the record.
void Scaler::onChange(const JobChange& change, TimePoint now, bool from_store) {
  (void)now;
  if (change.kind == JobChange::Kind::kNone || !change.job) return;
  const JobRecord& job = *change.job;
  if (change.first_unmatched && !from_store) {
    logger_.warn("job matches no runner pool; it is counted as unmatched",
                 {{"job", std::to_string(job.id)},
                  {"repository", job.repository},
                  {"labels", joinLabels(job.labels)}});
  }
  if (change.repaired) {
    logger_.info("poll repaired a job state no webhook announced",
                 {{"job", std::to_string(job.id)},
                  {"status", jobStatusName(job.status)},
                  {"pool", job.pool}});
  }
  if (!job.pool.empty()) {
    PoolMetrics& m = metrics_->pool(job.pool);
    if (!from_store) {
      if (change.queue_wait_seconds) m.queue_wait->Observe(*change.queue_wait_seconds);
      if (change.duration_seconds) m.duration->Observe(*change.duration_seconds);
    }
    if (job.status == JobStatus::kInProgress) {
      notes_.push_back({job.pool, job.runner_name, job.id, true});
    } else if (job.status == JobStatus::kCompleted) {
      notes_.push_back({job.pool, "", job.id, false});
    }
  }
  if (!from_store) dirty_jobs_.push_back(job);
}

namespace {
// Status ranks for merging records written by several replicas: queued and waiting move
// both ways (an environment approval), everything else only forward.
int rank(JobStatus s) {
  return s == JobStatus::kInProgress ? 1 : s == JobStatus::kCompleted ? 2 : 0;
}
}  // namespace

// Writes each changed job with compare-and-set on its version, so a replica that heard less
// (a late "queued" after another replica stored "in_progress") never moves a record back.
// Completed jobs stay for kJobKeep (late deliveries to any replica), then expire.
void Scaler::persistJobs(const std::vector<JobRecord>& jobs, TimePoint now) {
  if (!kv_) return;
  for (const auto& job : jobs) {
    const std::string key = "job/" + std::to_string(job.id);
    const Timestamp expires =
        job.status == JobStatus::kCompleted ? micros(now + std::chrono::hours(1)) : 0;
    Status s;
    for (int attempt = 0; attempt < 3; ++attempt) {
      auto current = kv_->get(kNs, key);
      if (!current.isOk()) {
        s = current.status();
        break;
      }
      std::uint64_t expected = kKvMustNotExist;
      if (current->has_value()) {
        expected = (*current)->version;
        auto stored = decodeJob((*current)->value);
        if (stored && (rank(stored->status) > rank(job.status) ||
                       (stored->status == job.status && !job.runner_name.empty() &&
                        stored->runner_name == job.runner_name) ||
                       (stored->status == job.status && job.runner_name.empty()))) {
          seen_versions_[key] = expected;  // the store knows as much or more
          s = Status::ok();
          break;
        }
      }
      auto put = kv_->put(kNs, key, encodeJob(job), expected, expires);
      if (put.isOk()) {
        seen_versions_[key] = *put;
        s = Status::ok();
        break;
      }
      s = put.status();
      if (s.code() != StatusCode::kConflict) break;
    }
    if (!s.isOk() && !kv_failing_.exchange(true)) {
      logger_.warn("cannot save job state to kv_store; keeping it in memory",
                   {{"error", s.message()}});
    }
  }
}

void Scaler::persistBudget(const std::string& pool, double used, std::int64_t day) {
  if (!kv_) return;
  std::ostringstream value;
  value << day << ' ' << used;
  Status s = kv_->put(kNs, "budget/" + pool, value.str()).status();
  if (!s.isOk() && !kv_failing_.exchange(true)) {
    logger_.warn("cannot save budget usage to kv_store", {{"error", s.message()}});
  }
}

Scaler::Plan Scaler::decideLocked(const PoolConfig& pool, TimePoint now, double elapsed_minutes,
                                  const std::vector<RunnerView>& before) {
  const std::string& name = pool.policy.name;
  PoolState& st = pools_[name];
  PoolMetrics& m = metrics_->pool(name);
  if (const std::int64_t today = budgetDay(pool, now); st.budget_day != today) {
    st.budget_day = today;
    st.budget_used = 0;
  }
  const double spent = countSupply(before).current() * elapsed_minutes;
  st.budget_used += spent;
  m.runner_minutes->Increment(spent);
  m.cost_dollars->Increment(spent / 60 * pool.cost_per_runner_hour);
  Plan plan;
  plan.pool = &pool;
  plan.demand = demandLocked(name);
  plan.decision = decide(pool.policy, now, plan.demand, before, st.budget_used);
  return plan;
}

void Scaler::finishLocked(const Plan& plan, const std::vector<RunnerView>& after, TimePoint now) {
  const std::string& name = plan.pool->policy.name;
  PoolState& st = pools_[name];
  PoolMetrics& m = metrics_->pool(name);
  const Decision& d = plan.decision;
  record(*plan.pool, st, d, now);
  const SupplyCounts s = countSupply(after);
  m.desired->Set(d.desired);
  m.current->Set(s.current());
  m.idle->Set(s.idle);
  m.busy->Set(s.busy);
  m.booting->Set(s.booting);
  m.queued->Set(plan.demand.queued);
  m.in_progress->Set(plan.demand.in_progress);
  m.budget_exhausted->Set(d.budget_exhausted ? 1 : 0);
}

void Scaler::record(const PoolConfig& pool, PoolState& st, const Decision& d, TimePoint now) {
  st.last = d;
  if (d.action == Action::kNone) {
    st.last_logged.clear();
    return;
  }
  const std::string key = std::string(actionName(d.action)) + "/" + d.reason;
  if (d.action == Action::kHold && key == st.last_logged) return;  // once per hold episode
  st.last_logged = d.action == Action::kHold ? key : "";
  const std::string demand = std::to_string(d.demand), current = std::to_string(d.current),
                    desired = std::to_string(d.desired);
  if (d.budget_exhausted && d.action == Action::kHold) {
    logger_.warn(d.message + " (daily budget of " +
                     std::to_string(static_cast<long long>(pool.policy.budget_minutes_per_day)) +
                     " runner-minutes spent; no new runners until 00:00 " +
                     pool.budget_zone->name() + ")",
                 {{"pool", pool.policy.name},
                  {"reason", d.reason},
                  {"demand", demand},
                  {"current", current},
                  {"desired", desired}});
  } else {
    logger_.info(d.message, {{"pool", pool.policy.name},
                             {"action", actionName(d.action)},
                             {"reason", d.reason},
                             {"demand", demand},
                             {"current", current},
                             {"desired", desired}});
  }
  metrics_->scaleEvent(pool.policy.name, direction(d.action), d.reason);
  // Also where operators look (Kubernetes: an Event on the scaler's pod); queued, never blocks.
  if (d.action == Action::kScaleUp) {
    backend_->recordEvent(pool.policy.name, "ScaledUp", d.message);
  } else if (d.action == Action::kScaleDown) {
    backend_->recordEvent(pool.policy.name, "ScaledDown", d.message);
  } else if (d.budget_exhausted) {
    backend_->recordEvent(pool.policy.name, "BudgetExhausted", d.message);
  }
  st.decisions.push_back({now, actionName(d.action), d.reason, d.message});
  while (st.decisions.size() > config_.recent_decisions) st.decisions.pop_front();
}

void Scaler::startThread() {
  thread_ = std::thread([this] {
    for (;;) {
      {
        std::unique_lock wl(wake_mutex_);
        wake_.wait_for(wl, config_.decision_interval, [this] { return wake_flag_ || stopping_; });
        // Let a burst of deliveries land before deciding (one decision per burst): wait for a
        // quiet gap of `coalesce`, but never longer than 5 x coalesce in all.
        const auto deadline = std::chrono::steady_clock::now() + 5 * config_.coalesce;
        while (wake_flag_ && !stopping_ && config_.coalesce.count() > 0) {
          wake_flag_ = false;
          const auto until =
              std::min(std::chrono::steady_clock::now() + config_.coalesce, deadline);
          if (!wake_.wait_until(wl, until, [this] { return wake_flag_ || stopping_; })) break;
          if (std::chrono::steady_clock::now() >= deadline) break;
        }
        if (stopping_) return;
        wake_flag_ = false;
      }
      step();
    }
  });
}

void Scaler::stopThread() {
  {
    std::lock_guard wl(wake_mutex_);
    stopping_ = true;
    wake_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

std::map<std::string, Scaler::PoolDetail> Scaler::details() {
  std::map<std::string, PoolDetail> out;
  if (!details_) return out;
  for (const auto& pool : config_.pools) out[pool.policy.name] = details_(pool.policy.name);
  return out;
}

std::string Scaler::poolJson(const PoolConfig& pool, TimePoint now,
                             const std::vector<RunnerView>& runners, const std::string& detail) {
  const std::string& name = pool.policy.name;
  const PoolState& st = pools_[name];
  const ActiveLimits active = activeLimits(pool.policy, now);
  const JobDemand demand = demandLocked(name);
  const SupplyCounts s = countSupply(runners);
  std::string o = "{\"name\":" + jsonQuote(name) + ",\"labels\":[\"self-hosted\"";
  for (const auto& l : pool.labels) o += "," + jsonQuote(l);
  o += "],\"limits\":{\"min\":" + std::to_string(active.limits.min) +
       ",\"max\":" + std::to_string(active.limits.max) +
       ",\"min_idle\":" + std::to_string(active.limits.min_idle) + "},\"schedule\":" +
       (active.schedule.empty() ? std::string("null") : jsonQuote(active.schedule));
  o += ",\"demand\":{\"queued\":" + std::to_string(demand.queued) +
       ",\"in_progress\":" + std::to_string(demand.in_progress) + "}";
  o += ",\"supply\":{\"current\":" + std::to_string(s.current()) +
       ",\"idle\":" + std::to_string(s.idle) + ",\"busy\":" + std::to_string(s.busy) +
       ",\"booting\":" + std::to_string(s.booting) + "}";
  o += ",\"desired\":" + std::to_string(st.last.desired) + detail;
  std::ostringstream budget;
  budget << ",\"budget\":{\"minutes_per_day\":" << pool.policy.budget_minutes_per_day
         << ",\"used_minutes\":" << st.budget_used
         << ",\"exhausted\":" << (st.last.budget_exhausted ? "true" : "false") << "}";
  o += budget.str() + ",\"runners\":[";
  for (std::size_t k = 0; k < runners.size(); ++k) {
    o += std::string(k ? "," : "") + "{\"id\":" + jsonQuote(runners[k].id) + ",\"phase\":\"" +
         phaseName(runners[k].phase) + "\",\"since\":\"" +
         formatTimestamp(micros(runners[k].since)) + "\"}";
  }
  o += "],\"decisions\":[";
  bool first = true;
  for (auto it = st.decisions.rbegin(); it != st.decisions.rend(); ++it) {
    o += std::string(first ? "" : ",") + "{\"at\":\"" + formatTimestamp(micros(it->at)) +
         "\",\"action\":" + jsonQuote(it->action) + ",\"reason\":" + jsonQuote(it->reason) +
         ",\"message\":" + jsonQuote(it->message) + "}";
    first = false;
  }
  return o + "]}";
}

std::string Scaler::leaderJson() {
  const std::string holder = holder_ ? holder_() : "";
  return std::string(",\"leader\":{\"this_replica\":") + (acting_ ? "true" : "false") +
         ",\"holder\":" + (holder.empty() ? std::string("null") : jsonQuote(holder)) + "}";
}

std::string Scaler::runnersJson() {
  const TimePoint now = clock_.now();
  const auto runners = supply(now);  // the backend, before the lock
  const std::string leader = leaderJson();
  auto extra = details();
  std::lock_guard lock(mutex_);
  std::vector<double> sorted = latencies_ms_;
  std::sort(sorted.begin(), sorted.end());
  const auto pct = [&](double p) {
    if (sorted.empty()) return 0.0;
    const auto i = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1));
    return sorted[i];
  };
  std::ostringstream latency;
  latency << "{\"samples\":" << sorted.size() << ",\"p50\":" << pct(0.5) << ",\"p99\":" << pct(0.99)
          << "}";
  std::string o = "{\"backend\":" + jsonQuote(backend_->name()) +
                  ",\"unmatched_jobs\":" + std::to_string(tracker_.unmatched()) +
                  ",\"webhook_to_decision_ms\":" + latency.str() + leader + ",\"pools\":[";
  for (std::size_t k = 0; k < config_.pools.size(); ++k) {
    const auto& pool = config_.pools[k];
    o += (k ? "," : "") +
         poolJson(pool, now, runners.at(pool.policy.name), extra[pool.policy.name].json);
  }
  return o + "]}";
}

std::string Scaler::runnersHtml() {
  const TimePoint now = clock_.now();
  const auto runners = supply(now);  // the backend, before the lock
  const std::string holder = holder_ ? holder_() : "";
  auto extra = details();
  std::lock_guard lock(mutex_);
  std::string h =
      "<!doctype html><html><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" "
      "content=\"2\"><title>Runners</title><style>body{font-family:sans-serif;margin:2em}"
      "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;"
      "text-align:left}</style></head><body><h1>Runner pools (" +
      htmlEscape(backend_->name()) +
      ")</h1><p>Leader: " + (holder.empty() ? std::string("unknown") : htmlEscape(holder)) +
      (acting_ ? " (this replica)" : " (this replica follows)") +
      "</p><p>Unmatched jobs: " + std::to_string(tracker_.unmatched()) + "</p>";
  for (const auto& pool : config_.pools) {
    const std::string& name = pool.policy.name;
    const PoolState& st = pools_[name];
    const ActiveLimits a = activeLimits(pool.policy, now);
    const JobDemand d = demandLocked(name);
    const SupplyCounts s = countSupply(runners.at(name));
    h += "<h2>" + htmlEscape(name) + "</h2><table><tr><th>limits</th><td>min " +
         std::to_string(a.limits.min) + ", max " + std::to_string(a.limits.max) + ", min_idle " +
         std::to_string(a.limits.min_idle) +
         (a.schedule.empty() ? "" : " (" + htmlEscape(a.schedule) + ")") +
         "</td></tr><tr><th>demand</th><td>" + std::to_string(d.queued) + " queued, " +
         std::to_string(d.in_progress) + " in progress</td></tr><tr><th>supply</th><td>" +
         std::to_string(s.current()) + " (" + std::to_string(s.idle) + " idle, " +
         std::to_string(s.busy) + " busy, " + std::to_string(s.booting) +
         " booting)</td></tr><tr><th>desired</th><td>" + std::to_string(st.last.desired) +
         "</td></tr><tr><th>budget used</th><td>" +
         std::to_string(static_cast<long long>(st.budget_used)) + " runner-minutes" +
         (pool.policy.budget_minutes_per_day > 0
              ? " of " + std::to_string(static_cast<long long>(pool.policy.budget_minutes_per_day))
              : "") +
         "</td></tr>" +
         (extra[name].text.empty()
              ? std::string()
              : "<tr><th>scale set</th><td>" + htmlEscape(extra[name].text) + "</td></tr>") +
         "</table><h3>Recent decisions</h3><ul>";
    for (auto it = st.decisions.rbegin(); it != st.decisions.rend(); ++it) {
      h += "<li>" + formatTimestamp(micros(it->at)) + " " + htmlEscape(it->message) + "</li>";
    }
    h += "</ul>";
  }
  return h + "</body></html>";
}

}  // namespace appliance::plugins::runner_scaler
