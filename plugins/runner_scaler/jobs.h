#pragma once
// JobTracker: what the scaler believes about each workflow job, merged from every demand
// source (webhooks, REST polls, part 2's scale-set messages) without double counting: a job
// is keyed by its GitHub id and its status only moves forward (queued/waiting -> in_progress
// -> completed), so a replayed, late or polled observation of a known job changes nothing.
// Not thread-safe; the Scaler owns it under its lock.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "labels.h"
#include "policy.h"

namespace appliance::plugins::runner_scaler {

// waiting = held by an environment's protection rules: needs no runner yet, so no demand.
enum class JobStatus { kQueued = 0, kWaiting = 1, kInProgress = 2, kCompleted = 3 };
const char* jobStatusName(JobStatus status);
std::optional<JobStatus> parseJobStatus(std::string_view text);  // GitHub's action/status

struct JobObservation {
  std::int64_t id = 0;
  std::int64_t run_id = 0;
  std::string repository;  // owner/name
  std::vector<std::string> labels;
  JobStatus status = JobStatus::kQueued;
  std::string runner_name;
  std::optional<TimePoint> created_at, started_at, completed_at;  // GitHub's, when given
  // Set when the source already knows the pool (a scale set's job messages, a record another
  // replica stored): the labels are then not matched.
  std::string pool;
};

struct JobRecord {
  std::int64_t id = 0;
  std::int64_t run_id = 0;
  std::string repository;
  std::vector<std::string> labels;  // normalized
  std::string pool;                 // "" = unmatched
  JobStatus status = JobStatus::kQueued;
  std::string runner_name;
  TimePoint queued_at, started_at, completed_at, updated_at;
};

struct JobChange {
  enum class Kind { kNone, kNew, kStarted, kCompleted };
  Kind kind = Kind::kNone;
  const JobRecord* job = nullptr;            // valid until the tracker changes again
  std::optional<double> queue_wait_seconds;  // on kStarted (or a job first seen running)
  std::optional<double> duration_seconds;    // on kCompleted, when it had started
  bool first_unmatched = false;              // a new label set nobody serves: log it once
  bool repaired = false;                     // found by a poll, not announced by a webhook
};

class JobTracker {
 public:
  explicit JobTracker(std::vector<PoolLabels> pools);

  JobChange apply(const JobObservation& obs, TimePoint now);
  // After a complete poll of `repository` that saw `active` (its queued and in-progress job
  // ids): jobs of that repository we still think active, not seen, and last updated before
  // `poll_started` completed without us hearing of it.
  std::vector<JobChange> completeMissing(const std::string& repository,
                                         const std::set<std::int64_t>& active,
                                         TimePoint poll_started, TimePoint now);
  JobDemand demand(const std::string& pool) const;
  int unmatched() const;
  // Forgets completed jobs older than `keep` (they only guard against late events) and
  // active jobs not heard of for a week.
  void prune(TimePoint now, std::chrono::seconds keep = std::chrono::hours(1));
  void restore(JobRecord record);
  const std::map<std::int64_t, JobRecord>& jobs() const { return jobs_; }

 private:
  JobChange advance(JobRecord& job, const JobObservation& obs, TimePoint now);

  std::vector<PoolLabels> pools_;
  std::map<std::int64_t, JobRecord> jobs_;
  std::set<std::vector<std::string>> unmatched_label_sets_;  // logged already (bounded)
};

}  // namespace appliance::plugins::runner_scaler
