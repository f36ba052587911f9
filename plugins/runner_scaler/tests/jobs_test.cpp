#include <gtest/gtest.h>

#include "github_json.h"
#include "jobs.h"
#include "labels.h"
#include "test_support.h"

namespace appliance::plugins::runner_scaler {
namespace {

const std::vector<PoolLabels> kPools = {{"linux", {"kubernetes", "linux", "terraform"}},
                                        {"gpu", {"gpu", "linux"}},
                                        {"arm", {"arm64", "linux"}},
                                        {"any", {}}};

TEST(Labels, AllJobLabelsMustBeInThePoolSelfHostedImpliedCaseInsensitive) {
  EXPECT_EQ(matchPool(kPools, normalizeLabels({"self-hosted", "Linux", "Terraform"})), 0u);
  EXPECT_EQ(matchPool(kPools, normalizeLabels({"linux", "gpu"})), 1u);
  EXPECT_FALSE(matchPool(kPools, normalizeLabels({"linux", "gpu", "terraform"})));
  EXPECT_FALSE(matchPool(kPools, normalizeLabels({"windows"})));
}

TEST(Labels, MostSpecificPoolWinsThenName) {
  // {} fits every pool: "any" has no extra labels.
  EXPECT_EQ(matchPool(kPools, normalizeLabels({"self-hosted"})), 3u);
  // linux fits linux (2 extra), gpu (1), arm (1): fewest extras, then the smaller name.
  EXPECT_EQ(matchPool(kPools, normalizeLabels({"LINUX"})), 2u);
  std::vector<PoolLabels> reversed(kPools.rbegin(), kPools.rend());
  EXPECT_EQ(reversed[*matchPool(reversed, normalizeLabels({"linux"}))].name, "arm");
}

TEST(JobTracker, StatusOnlyMovesForwardSoReplaysDoNotDoubleCount) {
  JobTracker t(kPools);
  const TimePoint now{std::chrono::seconds(1'700'000'000)};
  JobObservation q{7, 1, "a/b", {"linux", "gpu"}, JobStatus::kQueued, "", {}, {}, {}, ""};
  EXPECT_EQ(t.apply(q, now).kind, JobChange::Kind::kNew);
  EXPECT_EQ(t.apply(q, now).kind, JobChange::Kind::kNone);
  EXPECT_EQ(t.demand("gpu").queued, 1);
  auto s = q;
  s.status = JobStatus::kInProgress;
  auto started = t.apply(s, now + std::chrono::seconds(12));
  EXPECT_EQ(started.kind, JobChange::Kind::kStarted);
  EXPECT_DOUBLE_EQ(*started.queue_wait_seconds, 12);
  EXPECT_EQ(t.apply(q, now).kind, JobChange::Kind::kNone);  // a late queued
  EXPECT_EQ(t.demand("gpu").in_progress, 1);
  EXPECT_EQ(t.demand("gpu").queued, 0);
  auto c = q;
  c.status = JobStatus::kCompleted;
  auto done = t.apply(c, now + std::chrono::seconds(72));
  EXPECT_EQ(done.kind, JobChange::Kind::kCompleted);
  EXPECT_DOUBLE_EQ(*done.duration_seconds, 60);
  EXPECT_EQ(t.apply(s, now).kind, JobChange::Kind::kNone);  // a late in_progress
  EXPECT_EQ(t.demand("gpu").in_progress, 0);
}

TEST(JobTracker, WaitingJobsAreNotDemandUntilQueued) {
  JobTracker t(kPools);
  const TimePoint now{std::chrono::seconds(1'700'000'000)};
  JobObservation w{8, 1, "a/b", {"linux", "gpu"}, JobStatus::kWaiting, "", {}, {}, {}, ""};
  t.apply(w, now);
  EXPECT_EQ(t.demand("gpu").queued, 0);
  w.status = JobStatus::kQueued;
  t.apply(w, now);
  EXPECT_EQ(t.demand("gpu").queued, 1);
}

TEST(JobTracker, PruneForgetsOldCompletedJobsAndWeekSilentActiveOnes) {
  JobTracker t(kPools);
  const TimePoint now{std::chrono::seconds(1'700'000'000)};
  JobObservation a{1, 1, "a/b", {"linux"}, JobStatus::kQueued, "", {}, {}, {}, ""};
  JobObservation b{2, 1, "a/b", {"linux"}, JobStatus::kCompleted, "", {}, {}, {}, ""};
  t.apply(a, now);
  t.apply(b, now);
  t.prune(now + std::chrono::minutes(61));
  EXPECT_EQ(t.jobs().size(), 1u);  // the completed one went; the queued one is demand
  t.prune(now + std::chrono::hours(24 * 7) + std::chrono::seconds(1));
  EXPECT_TRUE(t.jobs().empty());
}

TEST(GitHubJson, ParsesTheDocumentedWorkflowJobPayload) {
  auto job = parseWorkflowJobEvent(
      test::jobEvent("in_progress", 42, {"self-hosted", "gpu"}, "acme/app", "runner-7"));
  ASSERT_TRUE(job.isOk()) << job.status().message();
  EXPECT_EQ(job->id, 42);
  EXPECT_EQ(job->repository, "acme/app");
  EXPECT_EQ(job->runner_name, "runner-7");
  EXPECT_EQ(job->status, JobStatus::kInProgress);
  EXPECT_TRUE(job->started_at);
  for (const char* bad :
       {"", "[]", "{\"action\":\"queued\"}", "{\"action\":\"queued\",\"workflow_job\":7}",
        "{\"action\":\"queued\",\"workflow_job\":{\"id\":\"x\",\"labels\":5}}"}) {
    EXPECT_FALSE(parseWorkflowJobEvent(bad).isOk()) << bad;
  }
}

}  // namespace
}  // namespace appliance::plugins::runner_scaler
