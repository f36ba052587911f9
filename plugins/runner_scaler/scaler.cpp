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
  for (const auto& e : *deliveries) {
    const std::string id = e.key.substr(9);
    if (deliveries_.insert(id).second) delivery_order_.push_back(id);
  }
  int restored = 0;
  for (const auto& e : *jobs) {
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
  logger_.info(
      "restored the scaler's state from kv_store",
      {{"jobs", std::to_string(restored)}, {"deliveries", std::to_string(deliveries_.size())}});
}

bool Scaler::rememberDelivery(const std::string& id) {
  std::lock_guard lock(mutex_);
  if (!deliveries_.insert(id).second) return false;
  delivery_order_.push_back(id);
  new_deliveries_.push_back(id);
  while (delivery_order_.size() > config_.dedupe_deliveries) {
    deliveries_.erase(delivery_order_.front());
    delivery_order_.pop_front();
  }
  return true;
}

void Scaler::observe(std::vector<JobObservation> jobs) {
  {
    std::lock_guard lock(mutex_);
    pending_.push_back(Pending{std::move(jobs), false, {}, {}, clock_.steadyNow()});
  }
  std::lock_guard wl(wake_mutex_);
  wake_flag_ = true;
  wake_.notify_one();
}

void Scaler::snapshot(const std::string& repository, std::vector<JobObservation> active,
                      TimePoint started) {
  {
    std::lock_guard lock(mutex_);
    pending_.push_back(Pending{std::move(active), true, repository, started, clock_.steadyNow()});
  }
  std::lock_guard wl(wake_mutex_);
  wake_flag_ = true;
  wake_.notify_one();
}

void Scaler::statistics(const std::string& pool, JobDemand demand) {
  {
    std::lock_guard lock(mutex_);
    if (!pools_.count(pool)) return;
    absolute_demand_[pool] = demand;
  }
  std::lock_guard wl(wake_mutex_);
  wake_flag_ = true;
  wake_.notify_one();
}

JobDemand Scaler::demandLocked(const std::string& pool) const {
  auto it = absolute_demand_.find(pool);
  return it != absolute_demand_.end() ? it->second : tracker_.demand(pool);
}

void Scaler::step() {
  std::lock_guard lock(mutex_);
  const TimePoint now = clock_.now();
  std::vector<std::chrono::steady_clock::time_point> received;
  while (!pending_.empty()) {
    Pending p = std::move(pending_.front());
    pending_.pop_front();
    applyLocked(p, now);
    if (!p.is_snapshot) received.push_back(p.received);
  }
  tracker_.prune(now);
  const double elapsed =
      last_step_ ? std::max(0.0, std::chrono::duration<double>(now - *last_step_).count() / 60)
                 : 0.0;
  last_step_ = now;
  for (const auto& pool : config_.pools) decideLocked(pool, now, elapsed);
  const auto decided = clock_.steadyNow();
  for (const auto& t : received) {
    const double ms = std::chrono::duration<double, std::milli>(decided - t).count();
    if (latencies_ms_.size() < kLatencySamples) {
      latencies_ms_.push_back(ms);
    } else {
      latencies_ms_[latency_next_++ % kLatencySamples] = ms;
    }
  }
  metrics_->unmatchedJobs().Set(tracker_.unmatched());
  if (kv_ && !new_deliveries_.empty()) {
    std::vector<KvWrite> writes;
    for (const auto& id : new_deliveries_) {
      writes.push_back(
          {KvWrite::Op::kPut, "delivery/" + id, "", kKvAnyVersion, micros(now + kDeliveryKeep)});
    }
    Status s = kv_->write(kNs, writes);
    if (!s.isOk() && !std::exchange(kv_failing_, true)) {
      logger_.warn("cannot save delivery ids to kv_store", {{"error", s.message()}});
    }
  }
  new_deliveries_.clear();
}

void Scaler::applyLocked(const Pending& pending, TimePoint now) {
  const char* source = pending.is_snapshot ? "poll" : "webhook";
  for (const auto& obs : pending.jobs) {
    JobChange change = tracker_.apply(obs, now);
    if (pending.is_snapshot && change.kind != JobChange::Kind::kNone) change.repaired = true;
    onChange(change, now, source);
  }
  if (!pending.is_snapshot) return;
  std::set<std::int64_t> active;
  for (const auto& obs : pending.jobs) active.insert(obs.id);
  for (const auto& change :
       tracker_.completeMissing(pending.repository, active, pending.started, now)) {
    onChange(change, now, source);
  }
}

void Scaler::onChange(const JobChange& change, TimePoint now, const char* source) {
  if (change.kind == JobChange::Kind::kNone || !change.job) return;
  const JobRecord& job = *change.job;
  if (change.first_unmatched) {
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
    if (change.queue_wait_seconds) m.queue_wait->Observe(*change.queue_wait_seconds);
    if (change.duration_seconds) m.duration->Observe(*change.duration_seconds);
    if (job.status == JobStatus::kInProgress) {
      backend_->jobStarted(job.pool, job.id, job.runner_name, now);
    } else if (job.status == JobStatus::kCompleted) {
      backend_->jobCompleted(job.pool, job.id, now);
    }
  }
  (void)source;
  persistJob(job);
}

void Scaler::persistJob(const JobRecord& job) {
  if (!kv_) return;
  const std::string key = "job/" + std::to_string(job.id);
  Status s = job.status == JobStatus::kCompleted ? kv_->remove(kNs, key).status()
                                                 : kv_->put(kNs, key, encodeJob(job)).status();
  if (!s.isOk() && !std::exchange(kv_failing_, true)) {
    logger_.warn("cannot save job state to kv_store; keeping it in memory",
                 {{"error", s.message()}});
  }
}

void Scaler::persistBudget(const std::string& pool, const PoolState& state) {
  if (!kv_) return;
  std::ostringstream value;
  value << state.budget_day << ' ' << state.budget_used;
  Status s = kv_->put(kNs, "budget/" + pool, value.str()).status();
  if (!s.isOk() && !std::exchange(kv_failing_, true)) {
    logger_.warn("cannot save budget usage to kv_store", {{"error", s.message()}});
  }
}

void Scaler::decideLocked(const PoolConfig& pool, TimePoint now, double elapsed_minutes) {
  const std::string& name = pool.policy.name;
  PoolState& st = pools_[name];
  PoolMetrics& m = metrics_->pool(name);
  if (const std::int64_t today = budgetDay(pool, now); st.budget_day != today) {
    st.budget_day = today;
    st.budget_used = 0;
  }
  const auto before = backend_->runners(name, now);
  const double spent = countSupply(before).current() * elapsed_minutes;
  st.budget_used += spent;
  m.runner_minutes->Increment(spent);
  m.cost_dollars->Increment(spent / 60 * pool.cost_per_runner_hour);

  const JobDemand demand = demandLocked(name);
  Decision d = decide(pool.policy, now, demand, before, st.budget_used);
  for (const auto& id : d.remove) {
    Status s = backend_->removeRunner(name, id, now);
    if (!s.isOk()) logger_.warn("runner not removed", {{"pool", name}, {"error", s.message()}});
  }
  if (d.create > 0) {
    Status s = backend_->createRunners(pool, d.create, now);
    if (!s.isOk()) logger_.error("cannot create runners", {{"pool", name}, {"error", s.message()}});
  }
  record(pool, st, d, now);
  const SupplyCounts after = countSupply(backend_->runners(name, now));
  m.desired->Set(d.desired);
  m.current->Set(after.current());
  m.idle->Set(after.idle);
  m.busy->Set(after.busy);
  m.booting->Set(after.booting);
  m.queued->Set(demand.queued);
  m.in_progress->Set(demand.in_progress);
  m.budget_exhausted->Set(d.budget_exhausted ? 1 : 0);
  if (now - last_budget_write_ >= kBudgetWriteEvery) {
    persistBudget(name, st);
    if (&pool == &config_.pools.back()) last_budget_write_ = now;
  }
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

std::string Scaler::poolJson(const PoolConfig& pool, TimePoint now) {
  const std::string& name = pool.policy.name;
  const PoolState& st = pools_[name];
  const ActiveLimits active = activeLimits(pool.policy, now);
  const JobDemand demand = demandLocked(name);
  const auto runners = backend_->runners(name, now);
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
  o += ",\"desired\":" + std::to_string(st.last.desired);
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

std::string Scaler::runnersJson() {
  std::lock_guard lock(mutex_);
  const TimePoint now = clock_.now();
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
                  ",\"webhook_to_decision_ms\":" + latency.str() + ",\"pools\":[";
  for (std::size_t k = 0; k < config_.pools.size(); ++k) {
    o += (k ? "," : "") + poolJson(config_.pools[k], now);
  }
  return o + "]}";
}

std::string Scaler::runnersHtml() {
  std::lock_guard lock(mutex_);
  const TimePoint now = clock_.now();
  std::string h =
      "<!doctype html><html><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" "
      "content=\"2\"><title>Runners</title><style>body{font-family:sans-serif;margin:2em}"
      "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;"
      "text-align:left}</style></head><body><h1>Runner pools (" +
      htmlEscape(backend_->name()) +
      ")</h1><p>Unmatched jobs: " + std::to_string(tracker_.unmatched()) + "</p>";
  for (const auto& pool : config_.pools) {
    const std::string& name = pool.policy.name;
    const PoolState& st = pools_[name];
    const ActiveLimits a = activeLimits(pool.policy, now);
    const JobDemand d = demandLocked(name);
    const SupplyCounts s = countSupply(backend_->runners(name, now));
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
         "</td></tr></table><h3>Recent decisions</h3><ul>";
    for (auto it = st.decisions.rbegin(); it != st.decisions.rend(); ++it) {
      h += "<li>" + formatTimestamp(micros(it->at)) + " " + htmlEscape(it->message) + "</li>";
    }
    h += "</ul>";
  }
  return h + "</body></html>";
}

}  // namespace appliance::plugins::runner_scaler
