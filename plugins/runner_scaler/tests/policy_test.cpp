#include "policy.h"

#include <gtest/gtest.h>

namespace appliance::plugins::runner_scaler {
namespace {

using namespace std::chrono;

TimePoint at(int y, unsigned m, unsigned d, int h, int min = 0) {
  return TimePoint{sys_days{year{y} / month{m} / day{d}} + hours{h} + minutes{min}};
}
const TimePoint kNow = at(2026, 12, 2, 12);  // a Wednesday

PoolPolicy pool(int min, int max, int min_idle = 0) {
  PoolPolicy p;
  p.name = "linux";
  p.limits = {min, max, min_idle};
  p.scale_down_delay = minutes(5);
  return p;
}

std::vector<RunnerView> runners(int booting, int idle, int busy, TimePoint since = kNow) {
  std::vector<RunnerView> out;
  int n = 0;
  for (int k = 0; k < booting; ++k)
    out.push_back({"r" + std::to_string(n++), RunnerPhase::kBooting, since});
  for (int k = 0; k < idle; ++k)
    out.push_back({"r" + std::to_string(n++), RunnerPhase::kIdle, since});
  for (int k = 0; k < busy; ++k)
    out.push_back({"r" + std::to_string(n++), RunnerPhase::kBusy, since});
  return out;
}

TEST(Policy, DesiredIsDemandPlusMinIdleClampedToLimits) {
  struct Case {
    int min, max, min_idle, queued, in_progress, expected;
  } cases[] = {
      {0, 10, 0, 0, 0, 0}, {1, 3, 0, 0, 0, 1},   {1, 3, 0, 7, 0, 3}, {2, 10, 0, 3, 4, 7},
      {2, 10, 2, 3, 4, 9}, {2, 10, 2, 9, 4, 10}, {0, 5, 1, 0, 0, 1}, {3, 3, 0, 0, 0, 3},
  };
  for (const auto& c : cases) {
    // Each in-progress job runs on one of the pool's busy runners.
    const auto d = decide(pool(c.min, c.max, c.min_idle), kNow, {c.queued, c.in_progress},
                          runners(0, 0, c.in_progress), 0);
    EXPECT_EQ(d.desired, c.expected)
        << c.min << " " << c.max << " " << c.min_idle << " " << c.queued << " " << c.in_progress;
  }
}

TEST(Policy, ScalesUpAtOnceForTheWholeBurst) {
  const auto d = decide(pool(0, 10), kNow, {7, 0}, runners(0, 3, 0), 0);
  EXPECT_EQ(d.action, Action::kScaleUp);
  EXPECT_EQ(d.create, 4);
  EXPECT_EQ(d.reason, "demand");
  EXPECT_EQ(d.message, "scale_up demand=7 current=3 desired=7 pool=linux reason=demand create=4");
}

TEST(Policy, UpReasonsNameWhatDroveThem) {
  EXPECT_EQ(decide(pool(2, 5), kNow, {0, 0}, {}, 0).reason, "min");
  EXPECT_EQ(decide(pool(0, 5, 1), kNow, {0, 0}, {}, 0).reason, "min_idle");
  EXPECT_EQ(decide(pool(1, 5), kNow, {3, 0}, {}, 0).reason, "demand");
}

TEST(Policy, SteadyWhenSupplyMatches) {
  const auto d = decide(pool(1, 5), kNow, {1, 1}, runners(0, 1, 1), 0);
  EXPECT_EQ(d.action, Action::kNone);
  EXPECT_EQ(d.reason, "steady");
  EXPECT_EQ(d.create, 0);
  EXPECT_TRUE(d.remove.empty());
}

TEST(Policy, BootingRunnersCountAsSupply) {
  const auto d = decide(pool(0, 10), kNow, {5, 0}, runners(5, 0, 0), 0);
  EXPECT_EQ(d.action, Action::kNone);
}

TEST(Policy, NoScaleDownBeforeTheDelay) {
  const auto idle = runners(0, 3, 0, kNow - minutes(4) - seconds(59));
  const auto d = decide(pool(0, 10), kNow, {0, 0}, idle, 0);
  EXPECT_EQ(d.action, Action::kHold);
  EXPECT_EQ(d.reason, "scale_down_delay");
  EXPECT_TRUE(d.remove.empty());
  const auto later = decide(pool(0, 10), kNow + seconds(1), {0, 0}, idle, 0);
  EXPECT_EQ(later.action, Action::kScaleDown);
  EXPECT_EQ(later.remove.size(), 3u);
  EXPECT_EQ(later.reason, "idle");
}

TEST(Policy, InProgressJobsCountEvenWhenTheirRunnerIsGone) {
  // Three jobs running, but a spot interruption took one of their runners: GitHub still
  // reports the job running, so a replacement starts at once (with the queued job's runner).
  const auto d = decide(pool(0, 10), kNow, {1, 3}, runners(0, 0, 2), 0);
  EXPECT_EQ(d.demand, 4);
  EXPECT_EQ(d.desired, 4);
  EXPECT_EQ(d.create, 2);
  // No runner at all: every running job is demand, as a scale set's statistics state it.
  EXPECT_EQ(decide(pool(0, 10), kNow, {0, 4}, {}, 0).desired, 4);
  // min_idle comes on top of the jobs.
  EXPECT_EQ(decide(pool(0, 10, 1), kNow, {0, 3}, runners(0, 0, 3), 0).create, 1);
}

TEST(Policy, SurplusBootingRunnersGoFirstNewestFirstAfterTheDelay) {
  auto p = pool(0, 10);
  p.scale_down_delay = seconds(0);
  std::vector<RunnerView> rs = {{"old-idle", RunnerPhase::kIdle, kNow - minutes(3)},
                                {"boot-1", RunnerPhase::kBooting, kNow - seconds(40)},
                                {"boot-2", RunnerPhase::kBooting, kNow - seconds(10)},
                                {"busy", RunnerPhase::kBusy, kNow - minutes(1)}};
  // One queued job and the busy one: two runners wanted, four there.
  const auto d = decide(p, kNow, {1, 1}, rs, 0);
  EXPECT_EQ(d.action, Action::kScaleDown);
  EXPECT_EQ(d.remove, (std::vector<std::string>{"boot-2", "boot-1"}));
  EXPECT_EQ(d.reason, "booting");
  // Nothing wanted: the booting ones, then the idle one.
  const auto all = decide(p, kNow, {0, 1}, rs, 0);
  EXPECT_EQ(all.remove, (std::vector<std::string>{"boot-2", "boot-1", "old-idle"}));
  EXPECT_EQ(all.reason, "idle");
  // With the default delay a booting runner is held like an idle one.
  const auto held = decide(pool(0, 10), kNow, {0, 1}, rs, 0);
  EXPECT_EQ(held.action, Action::kHold);
  EXPECT_EQ(held.reason, "scale_down_delay");
}

TEST(Policy, NeverRemovesABusyRunnerNorGoesBelowRunningJobs) {
  // Max lowered to 1 by a schedule while 3 jobs run: the busy runners stay.
  const auto d = decide(pool(0, 1), kNow, {0, 3}, runners(0, 2, 3, kNow - hours(1)), 0);
  EXPECT_EQ(d.action, Action::kScaleDown);
  EXPECT_EQ(d.remove, (std::vector<std::string>{"r0", "r1"}));
  const auto all_busy = decide(pool(0, 1), kNow, {0, 3}, runners(0, 0, 3, kNow - hours(1)), 0);
  EXPECT_EQ(all_busy.action, Action::kHold);
  EXPECT_EQ(all_busy.reason, "busy");
  EXPECT_TRUE(all_busy.remove.empty());
}

TEST(Policy, ScaleDownRemovesLongestIdleFirstDeterministically) {
  std::vector<RunnerView> rs = {{"b", RunnerPhase::kIdle, kNow - minutes(10)},
                                {"a", RunnerPhase::kIdle, kNow - minutes(10)},
                                {"c", RunnerPhase::kIdle, kNow - minutes(30)},
                                {"d", RunnerPhase::kIdle, kNow - minutes(1)}};
  const auto d = decide(pool(1, 10), kNow, {0, 0}, rs, 0);
  EXPECT_EQ(d.remove, (std::vector<std::string>{"c", "a", "b"}));
  EXPECT_EQ(d.desired, 1);
}

TEST(Policy, KeepsMinIdleWarm) {
  const auto d = decide(pool(0, 10, 2), kNow, {0, 3}, runners(0, 2, 3, kNow - hours(1)), 0);
  EXPECT_EQ(d.desired, 5);
  EXPECT_EQ(d.action, Action::kNone);
}

TEST(Policy, BudgetStopsGrowthOnly) {
  auto p = pool(0, 10);
  p.budget_minutes_per_day = 600;
  const auto blocked = decide(p, kNow, {5, 2}, runners(0, 0, 2), 600);
  EXPECT_TRUE(blocked.budget_exhausted);
  EXPECT_EQ(blocked.action, Action::kHold);
  EXPECT_EQ(blocked.reason, "budget_exhausted");
  EXPECT_EQ(blocked.create, 0);
  EXPECT_TRUE(blocked.remove.empty());  // busy runners keep running
  const auto under = decide(p, kNow, {5, 2}, runners(0, 0, 2), 599.9);
  EXPECT_FALSE(under.budget_exhausted);
  EXPECT_EQ(under.create, 5);
  // Shrinking still happens with the budget spent.
  const auto down = decide(p, kNow, {0, 0}, runners(0, 2, 0, kNow - hours(1)), 900);
  EXPECT_EQ(down.action, Action::kScaleDown);
  EXPECT_EQ(down.remove.size(), 2u);
}

TEST(Policy, BootTimeoutReplacesStuckRunners) {
  auto p = pool(0, 10);
  p.boot_timeout = minutes(10);
  const auto d = decide(p, kNow, {2, 0}, runners(2, 0, 0, kNow - minutes(10)), 0);
  EXPECT_EQ(d.action, Action::kScaleUp);
  EXPECT_EQ(d.remove.size(), 2u);
  EXPECT_EQ(d.create, 2);
  EXPECT_EQ(d.reason, "boot_timeout");
  EXPECT_EQ(decide(p, kNow, {2, 0}, runners(2, 0, 0, kNow - minutes(9)), 0).action, Action::kNone);
}

TEST(Policy, IdleTimeoutRecyclesButNotWithTheBudgetSpent) {
  auto p = pool(1, 10);
  p.idle_timeout = hours(1);
  p.budget_minutes_per_day = 100;
  const auto d = decide(p, kNow, {0, 0}, runners(0, 1, 0, kNow - hours(1)), 0);
  EXPECT_EQ(d.remove, (std::vector<std::string>{"r0"}));
  EXPECT_EQ(d.create, 1);
  EXPECT_EQ(d.reason, "idle_timeout");
  const auto spent = decide(p, kNow, {0, 0}, runners(0, 1, 0, kNow - hours(1)), 100);
  EXPECT_TRUE(spent.remove.empty());
  EXPECT_EQ(spent.action, Action::kNone);
}

ScheduleWindow workingHours(const char* zone) {
  ScheduleWindow w;
  w.name = "working-hours";
  w.days = {false, true, true, true, true, true, false};  // Mon-Fri
  w.start_minute = 8 * 60;
  w.end_minute = 18 * 60;
  w.zone = std::make_shared<TimeZone>(TimeZone::load(zone).value());
  w.min = 3;
  w.min_idle = 2;
  return w;
}

TEST(Policy, ScheduleSwitchesLimitsAtItsBoundaryInItsTimeZone) {
  auto p = pool(1, 10);
  p.schedules.push_back(workingHours("Europe/Berlin"));
  // Wednesday 2026-12-02: Berlin is UTC+1, so the window is 07:00-17:00 UTC.
  EXPECT_EQ(activeLimits(p, at(2026, 12, 2, 6, 59)).schedule, "");
  EXPECT_EQ(activeLimits(p, at(2026, 12, 2, 7, 0)).schedule, "working-hours");
  EXPECT_EQ(activeLimits(p, at(2026, 12, 2, 16, 59)).limits.min, 3);
  EXPECT_EQ(activeLimits(p, at(2026, 12, 2, 17, 0)).limits.min, 1);
  // Unset fields keep the pool's own values.
  EXPECT_EQ(activeLimits(p, at(2026, 12, 2, 12)).limits.max, 10);
  // In July (CEST, UTC+2) the same window is 06:00-16:00 UTC.
  EXPECT_EQ(activeLimits(p, at(2026, 7, 1, 6, 0)).schedule, "working-hours");
  EXPECT_EQ(activeLimits(p, at(2026, 7, 1, 16, 0)).schedule, "");
  // Saturday.
  EXPECT_EQ(activeLimits(p, at(2026, 12, 5, 12)).schedule, "");
  const auto d = decide(p, at(2026, 12, 2, 7, 0), {0, 0}, runners(0, 1, 0), 0);
  EXPECT_EQ(d.desired, 3);
  EXPECT_EQ(d.message,
            "scale_up demand=0 current=1 desired=3 pool=linux reason=min create=2 "
            "schedule=working-hours");
}

TEST(Policy, WindowsWrappingMidnightBelongToTheirStartDay) {
  ScheduleWindow nightly;
  nightly.name = "nightly";
  nightly.days = {false, false, false, false, false, true, false};  // Friday
  nightly.start_minute = 22 * 60;
  nightly.end_minute = 2 * 60;
  nightly.max = 0;
  nightly.min = 0;
  auto p = pool(1, 10);
  p.schedules.push_back(nightly);
  EXPECT_EQ(activeLimits(p, at(2026, 12, 4, 21, 59)).schedule, "");  // Friday
  EXPECT_EQ(activeLimits(p, at(2026, 12, 4, 22, 0)).schedule, "nightly");
  EXPECT_EQ(activeLimits(p, at(2026, 12, 5, 1, 59)).schedule, "nightly");  // Saturday early
  EXPECT_EQ(activeLimits(p, at(2026, 12, 5, 2, 0)).schedule, "");
  EXPECT_EQ(activeLimits(p, at(2026, 12, 4, 1, 0)).schedule, "");  // Friday early: Thursday's
}

TEST(Policy, FirstActiveScheduleWinsAndAllDayWindows) {
  ScheduleWindow weekend;
  weekend.name = "weekend";
  weekend.days = {true, false, false, false, false, false, true};
  weekend.max = 2;
  auto p = pool(1, 10);
  p.schedules.push_back(weekend);
  p.schedules.push_back(workingHours("UTC"));
  EXPECT_EQ(activeLimits(p, at(2026, 12, 6, 0, 0)).schedule, "weekend");  // Sunday
  EXPECT_EQ(activeLimits(p, at(2026, 12, 6, 23, 59)).limits.max, 2);
  EXPECT_EQ(activeLimits(p, at(2026, 12, 7, 9, 0)).schedule, "working-hours");
}

TEST(Policy, IsAPureFunction) {
  const auto rs = runners(1, 2, 3, kNow - minutes(7));
  const auto a = decide(pool(0, 4, 1), kNow, {1, 3}, rs, 10);
  const auto b = decide(pool(0, 4, 1), kNow, {1, 3}, rs, 10);
  EXPECT_EQ(a.message, b.message);
  EXPECT_EQ(a.remove, b.remove);
}

}  // namespace
}  // namespace appliance::plugins::runner_scaler
