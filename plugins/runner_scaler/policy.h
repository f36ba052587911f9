#pragma once
// The scaling policy: how many runners a pool should have and which ones to add or remove.
// Pure: decide() is a function of (pool policy, time, demand, supply, budget used) with no
// I/O, clock or randomness, so the plugin, its tests and bench/scaler_sim run the same code.
// Part 2 (Kubernetes backend, scale-set demand) feeds it different numbers, never changes it.
//
//   desired = clamp(min(t), max(t), queued + in_progress + min_idle(t)),
// where min/max/min_idle come from the first schedule window active at t (else the pool's).
// A lost `completed` delivery keeps one runner too many until the next poll repairs it; the
// alternative (counting only jobs on runners the backend sees) would leave a job whose pod a
// spot interruption took without a replacement. Growth is immediate;
// shrinking removes only runners without a job that have been so for scale_down_delay
// (booting ones first, newest first; then idle ones, longest idle first), never a busy one;
// a spent budget stops growth and nothing else.

#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "time_zone.h"

namespace appliance::plugins::runner_scaler {

using TimePoint = std::chrono::system_clock::time_point;

struct PoolLimits {
  int min = 0;
  int max = 1;
  int min_idle = 0;
};

// A weekly window, cron style: on `days` (bit 0 = Sunday ... bit 6 = Saturday), from `start`
// to `end` minutes after local midnight in `zone`; end <= start wraps past midnight (the
// window then belongs to the day it starts on). Unset fields keep the pool's limits.
struct ScheduleWindow {
  std::string name;
  std::array<bool, 7> days{true, true, true, true, true, true, true};
  int start_minute = 0;
  int end_minute = 0;  // == start_minute: all day
  std::shared_ptr<const TimeZone> zone = std::make_shared<TimeZone>(TimeZone::utc());
  std::optional<int> min, max, min_idle;

  bool activeAt(TimePoint t) const;
};

struct PoolPolicy {
  std::string name;
  PoolLimits limits;
  std::vector<ScheduleWindow> schedules;  // the first active one wins
  std::chrono::milliseconds scale_down_delay{std::chrono::minutes(5)};
  std::chrono::milliseconds idle_timeout{0};  // 0: off; else an idle runner is recycled
  std::chrono::milliseconds boot_timeout{0};  // 0: off; else a stuck boot is replaced
  double budget_minutes_per_day = 0;          // 0: unlimited
};

struct ActiveLimits {
  PoolLimits limits;
  std::string schedule;  // the active window's name, "" for the pool's defaults
};
ActiveLimits activeLimits(const PoolPolicy& pool, TimePoint t);

struct JobDemand {
  int queued = 0;       // matching jobs waiting for a runner
  int in_progress = 0;  // matching jobs running
};

enum class RunnerPhase { kBooting, kIdle, kBusy };
const char* phaseName(RunnerPhase phase);

struct RunnerView {
  std::string id;
  RunnerPhase phase = RunnerPhase::kBooting;
  TimePoint since;  // when it entered `phase`
};

struct SupplyCounts {
  int booting = 0, idle = 0, busy = 0;
  int current() const { return booting + idle + busy; }
};
SupplyCounts countSupply(const std::vector<RunnerView>& runners);

enum class Action { kNone, kScaleUp, kScaleDown, kHold };
const char* actionName(Action action);

struct Decision {
  Action action = Action::kNone;
  // Why, as a metric label: demand, min, min_idle (up); idle, booting, idle_timeout,
  // boot_timeout (down); scale_down_delay, busy, budget_exhausted (hold); steady (none).
  std::string reason;
  std::string message;  // "scale_up demand=7 current=3 desired=7 pool=linux ..."
  int demand = 0;       // queued + in_progress, as reported
  int current = 0;
  int desired = 0;
  int create = 0;                   // runners to start now
  std::vector<std::string> remove;  // runners without a job to stop now
  bool budget_exhausted = false;
  ActiveLimits limits;
};

Decision decide(const PoolPolicy& pool, TimePoint now, const JobDemand& demand,
                const std::vector<RunnerView>& runners, double budget_used_minutes);

}  // namespace appliance::plugins::runner_scaler
