#include "dry_run_backend.h"

#include <cstdio>

namespace appliance::plugins::runner_scaler {

RunnerPhase DryRunBackend::phase(const VirtualRunner& r, TimePoint now) const {
  if (r.busy()) return RunnerPhase::kBusy;
  return now - r.created < boot_delay_ ? RunnerPhase::kBooting : RunnerPhase::kIdle;
}

std::vector<RunnerView> DryRunBackend::runners(const std::string& pool, TimePoint now) {
  std::lock_guard lock(mutex_);
  std::vector<RunnerView> out;
  for (const auto& [id, r] : pools_[pool]) {
    const RunnerPhase p = phase(r, now);
    // An idle runner is idle since it booted or since its last job ended.
    const TimePoint since =
        p == RunnerPhase::kIdle ? std::max(r.since, r.created + boot_delay_) : r.since;
    out.push_back({id, p, since});
  }
  return out;
}

Status DryRunBackend::createRunners(const PoolConfig& pool, int count, TimePoint now) {
  std::lock_guard lock(mutex_);
  auto& runners = pools_[pool.policy.name];
  for (int k = 0; k < count; ++k) {
    char id[96];
    std::snprintf(id, sizeof id, "%s-%06llu", pool.policy.name.c_str(),
                  static_cast<unsigned long long>(next_++));
    runners[id] = VirtualRunner{id, now, now, 0};
  }
  return Status::ok();
}

Status DryRunBackend::removeRunner(const std::string& pool, const std::string& id,
                                   TimePoint /*now*/) {
  std::lock_guard lock(mutex_);
  auto& runners = pools_[pool];
  auto it = runners.find(id);
  if (it == runners.end()) return Status::notFound("no runner " + id + " in pool " + pool);
  if (it->second.busy()) {
    return Status::failedPrecondition("runner " + id + " is running job " +
                                      std::to_string(it->second.job) + "; not removed");
  }
  runners.erase(it);
  return Status::ok();
}

void DryRunBackend::jobStarted(const std::string& pool, std::int64_t job_id,
                               const std::string& runner_name, TimePoint now) {
  std::lock_guard lock(mutex_);
  auto& runners = pools_[pool];
  for (const auto& [id, r] : runners) {
    if (r.job == job_id) return;  // already placed
  }
  // GitHub names the runner; otherwise the job lands on the longest-idle runner, else on a
  // booting one (it would pick the job up once registered). No runner: it ran elsewhere.
  VirtualRunner* chosen = nullptr;
  if (auto it = runners.find(runner_name); it != runners.end() && !it->second.busy()) {
    chosen = &it->second;
  }
  for (int pass = 0; pass < 2 && !chosen; ++pass) {
    for (auto& [id, r] : runners) {
      if (r.busy()) continue;
      const bool booting = phase(r, now) == RunnerPhase::kBooting;
      if ((pass == 0) == booting) continue;
      if (!chosen || r.since < chosen->since) chosen = &r;
    }
  }
  if (chosen) {
    chosen->job = job_id;
    chosen->since = now;
  }
}

void DryRunBackend::jobCompleted(const std::string& pool, std::int64_t job_id, TimePoint now) {
  std::lock_guard lock(mutex_);
  for (auto& [id, r] : pools_[pool]) {
    if (r.job == job_id) {
      r.job = 0;
      r.since = now;
      return;
    }
  }
}

}  // namespace appliance::plugins::runner_scaler
