#include "jobs.h"

#include <algorithm>

namespace appliance::plugins::runner_scaler {
namespace {

constexpr std::size_t kMaxUnmatchedSets = 1000;

double secondsBetween(TimePoint from, TimePoint to) {
  return std::max(0.0, std::chrono::duration<double>(to - from).count());
}

}  // namespace

const char* jobStatusName(JobStatus status) {
  switch (status) {
    case JobStatus::kQueued:
      return "queued";
    case JobStatus::kWaiting:
      return "waiting";
    case JobStatus::kInProgress:
      return "in_progress";
    case JobStatus::kCompleted:
      return "completed";
  }
  return "unknown";
}

std::optional<JobStatus> parseJobStatus(std::string_view text) {
  if (text == "queued" || text == "pending" || text == "requested") return JobStatus::kQueued;
  if (text == "waiting") return JobStatus::kWaiting;
  if (text == "in_progress") return JobStatus::kInProgress;
  if (text == "completed") return JobStatus::kCompleted;
  return std::nullopt;
}

JobTracker::JobTracker(std::vector<PoolLabels> pools) : pools_(std::move(pools)) {}

JobChange JobTracker::apply(const JobObservation& obs, TimePoint now) {
  auto it = jobs_.find(obs.id);
  if (it != jobs_.end()) return advance(it->second, obs, now);
  JobRecord job;
  job.id = obs.id;
  job.run_id = obs.run_id;
  job.repository = obs.repository;
  job.labels = normalizeLabels(obs.labels);
  const bool known = std::any_of(pools_.begin(), pools_.end(),
                                 [&](const PoolLabels& p) { return p.name == obs.pool; });
  if (!obs.pool.empty() && known) {
    job.pool = obs.pool;
  } else if (auto idx = matchPool(pools_, job.labels)) {
    job.pool = pools_[*idx].name;
  }
  job.queued_at = obs.created_at.value_or(now);
  job.status = JobStatus::kQueued;
  job.updated_at = now;
  auto& stored = jobs_.emplace(obs.id, std::move(job)).first->second;
  JobChange change = advance(stored, obs, now);
  if (change.kind == JobChange::Kind::kNone) change.kind = JobChange::Kind::kNew;
  change.job = &stored;
  if (stored.pool.empty() && unmatched_label_sets_.size() < kMaxUnmatchedSets) {
    change.first_unmatched = unmatched_label_sets_.insert(stored.labels).second;
  }
  // A job first seen already running or finished was never counted as queued: nothing to
  // undo, and its queue wait is still known from GitHub's timestamps.
  if (obs.status == JobStatus::kCompleted) change.kind = JobChange::Kind::kCompleted;
  return change;
}

JobChange JobTracker::advance(JobRecord& job, const JobObservation& obs, TimePoint now) {
  JobChange change;
  change.job = &job;
  if (obs.status <= job.status &&
      !(job.status == JobStatus::kWaiting && obs.status == JobStatus::kQueued)) {
    return change;  // replayed or late: status never moves back
  }
  if (job.status == JobStatus::kCompleted) return change;
  if (!obs.runner_name.empty()) job.runner_name = obs.runner_name;
  job.updated_at = now;
  const bool was_started = job.status == JobStatus::kInProgress;
  job.status = obs.status;
  if (obs.status == JobStatus::kInProgress ||
      (obs.status == JobStatus::kCompleted && !was_started && obs.started_at)) {
    job.started_at = obs.started_at.value_or(now);
    change.kind = JobChange::Kind::kStarted;
    change.queue_wait_seconds = secondsBetween(job.queued_at, job.started_at);
  }
  if (obs.status == JobStatus::kCompleted) {
    job.completed_at = obs.completed_at.value_or(now);
    change.kind = JobChange::Kind::kCompleted;
    if (was_started || obs.started_at) {
      change.duration_seconds = secondsBetween(job.started_at, job.completed_at);
    }
  }
  return change;
}

std::vector<JobChange> JobTracker::completeMissing(const std::string& repository,
                                                   const std::set<std::int64_t>& active,
                                                   TimePoint poll_started, TimePoint now) {
  std::vector<JobChange> out;
  for (auto& [id, job] : jobs_) {
    if (job.repository != repository || job.status == JobStatus::kCompleted) continue;
    if (active.count(id) || job.updated_at >= poll_started) continue;
    JobObservation done;
    done.id = id;
    done.status = JobStatus::kCompleted;
    JobChange change = advance(job, done, now);
    change.repaired = true;
    out.push_back(change);
  }
  return out;
}

JobDemand JobTracker::demand(const std::string& pool) const {
  JobDemand d;
  for (const auto& [id, job] : jobs_) {
    if (job.pool != pool) continue;
    if (job.status == JobStatus::kQueued) ++d.queued;
    if (job.status == JobStatus::kInProgress) ++d.in_progress;
  }
  return d;
}

int JobTracker::unmatched() const {
  int n = 0;
  for (const auto& [id, job] : jobs_) {
    if (job.pool.empty() && job.status != JobStatus::kCompleted) ++n;
  }
  return n;
}

void JobTracker::prune(TimePoint now, std::chrono::seconds keep) {
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    // Completed jobs only guard against late events; an active one silent for a week (past
    // GitHub's 5-day job and 24-hour queue limits) lost its completion with no poll to repair it.
    const auto age = now - it->second.updated_at;
    if ((it->second.status == JobStatus::kCompleted && age > keep) ||
        age > std::chrono::hours(24 * 7)) {
      it = jobs_.erase(it);
    } else {
      ++it;
    }
  }
}

void JobTracker::restore(JobRecord record) {
  const auto id = record.id;
  jobs_[id] = std::move(record);
}

}  // namespace appliance::plugins::runner_scaler
