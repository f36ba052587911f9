#include "policy.h"

#include <algorithm>

namespace appliance::plugins::runner_scaler {
namespace {

using std::chrono::duration_cast;
using std::chrono::minutes;

bool pastFor(TimePoint now, TimePoint since, std::chrono::milliseconds span) {
  return now - since >= span;
}

std::string upReason(const JobDemand& demand, const PoolLimits& limits) {
  const int demand_total = demand.queued + demand.in_progress;
  if (demand_total + limits.min_idle <= limits.min) return "min";
  return demand_total > 0 ? "demand" : "min_idle";
}

// Stuck boots and runners idle past idle_timeout: removed now and replaced if still wanted.
// With the budget spent a replacement could not be made, so stale idle runners stay.
std::vector<std::pair<std::string, std::string>> recyclable(const PoolPolicy& pool, TimePoint now,
                                                            const std::vector<RunnerView>& runners,
                                                            bool budget_exhausted) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& r : runners) {
    if (r.phase == RunnerPhase::kBooting && pool.boot_timeout.count() > 0 &&
        pastFor(now, r.since, pool.boot_timeout)) {
      out.emplace_back(r.id, "boot_timeout");
    } else if (r.phase == RunnerPhase::kIdle && pool.idle_timeout.count() > 0 &&
               !budget_exhausted && pastFor(now, r.since, pool.idle_timeout)) {
      out.emplace_back(r.id, "idle_timeout");
    }
  }
  return out;
}

// Surplus runners that hold no job go once they have been so for scale_down_delay: booting
// ones first (newest first: the least boot time is lost, and a runner that is already up can
// take the next job at once), then idle ones, longest idle first.
void shrink(const PoolPolicy& pool, TimePoint now, const std::vector<RunnerView>& runners,
            int surplus, Decision& d) {
  std::vector<const RunnerView*> booting, idle;
  bool waiting = false;
  for (const auto& r : runners) {
    if (r.phase == RunnerPhase::kBusy) continue;
    if (std::find(d.remove.begin(), d.remove.end(), r.id) != d.remove.end()) continue;
    if (!pastFor(now, r.since, pool.scale_down_delay)) {
      waiting = true;
      continue;
    }
    (r.phase == RunnerPhase::kBooting ? booting : idle).push_back(&r);
  }
  // Ids break ties so the choice is deterministic.
  std::sort(booting.begin(), booting.end(), [](const RunnerView* a, const RunnerView* b) {
    return a->since != b->since ? a->since > b->since : a->id < b->id;
  });
  std::sort(idle.begin(), idle.end(), [](const RunnerView* a, const RunnerView* b) {
    return a->since != b->since ? a->since < b->since : a->id < b->id;
  });
  int taken = 0;
  bool took_idle = false;
  for (const auto* group : {&booting, &idle}) {
    for (const RunnerView* r : *group) {
      if (taken >= surplus) break;
      d.remove.push_back(r->id);
      took_idle = took_idle || r->phase == RunnerPhase::kIdle;
      ++taken;
    }
  }
  if (taken > 0) {
    d.action = Action::kScaleDown;
    d.reason = took_idle ? "idle" : "booting";
  } else if (d.remove.empty()) {
    d.action = Action::kHold;
    d.reason = waiting ? "scale_down_delay" : "busy";
  }
}

}  // namespace

bool ScheduleWindow::activeAt(TimePoint t) const {
  using namespace std::chrono;
  const sys_seconds local = zone->toLocal(floor<seconds>(t));
  const sys_days day = floor<std::chrono::days>(local);
  const int minute = static_cast<int>(duration_cast<minutes>(local - day).count());
  const unsigned wd = weekday(day).c_encoding();
  const unsigned prev = (wd + 6) % 7;
  if (start_minute == end_minute) return days[wd];
  if (start_minute < end_minute) {
    return this->days[wd] && minute >= start_minute && minute < end_minute;
  }
  return (days[wd] && minute >= start_minute) || (days[prev] && minute < end_minute);
}

ActiveLimits activeLimits(const PoolPolicy& pool, TimePoint t) {
  for (const auto& window : pool.schedules) {
    if (!window.activeAt(t)) continue;
    ActiveLimits active{pool.limits, window.name};
    if (window.min) active.limits.min = *window.min;
    if (window.max) active.limits.max = *window.max;
    if (window.min_idle) active.limits.min_idle = *window.min_idle;
    return active;
  }
  return ActiveLimits{pool.limits, ""};
}

const char* phaseName(RunnerPhase phase) {
  switch (phase) {
    case RunnerPhase::kBooting:
      return "booting";
    case RunnerPhase::kIdle:
      return "idle";
    case RunnerPhase::kBusy:
      return "busy";
  }
  return "unknown";
}

const char* actionName(Action action) {
  switch (action) {
    case Action::kNone:
      return "none";
    case Action::kScaleUp:
      return "scale_up";
    case Action::kScaleDown:
      return "scale_down";
    case Action::kHold:
      return "hold";
  }
  return "unknown";
}

SupplyCounts countSupply(const std::vector<RunnerView>& runners) {
  SupplyCounts c;
  for (const auto& r : runners) {
    switch (r.phase) {
      case RunnerPhase::kBooting:
        ++c.booting;
        break;
      case RunnerPhase::kIdle:
        ++c.idle;
        break;
      case RunnerPhase::kBusy:
        ++c.busy;
        break;
    }
  }
  return c;
}

Decision decide(const PoolPolicy& pool, TimePoint now, const JobDemand& demand,
                const std::vector<RunnerView>& runners, double budget_used_minutes) {
  Decision d;
  d.limits = activeLimits(pool, now);
  const PoolLimits& l = d.limits.limits;
  const SupplyCounts counts = countSupply(runners);
  d.demand = demand.queued + demand.in_progress;
  d.current = counts.current();
  // Every in-progress job counts, including one whose runner this scaler no longer sees: a
  // runner lost to a spot interruption is replaced at once while GitHub still reports its
  // job running, and a scale set's totalAssignedJobs is taken as GitHub states it.
  d.desired = std::min(l.max, std::max(l.min, demand.queued + demand.in_progress + l.min_idle));
  d.budget_exhausted =
      pool.budget_minutes_per_day > 0 && budget_used_minutes >= pool.budget_minutes_per_day;
  d.reason = "steady";

  std::string recycle_reason;
  for (auto& [id, why] : recyclable(pool, now, runners, d.budget_exhausted)) {
    d.remove.push_back(id);
    recycle_reason = why;
  }
  const int live = d.current - static_cast<int>(d.remove.size());
  if (!d.remove.empty()) {
    d.action = Action::kScaleDown;
    d.reason = recycle_reason;
  }
  if (d.desired > live) {
    if (d.budget_exhausted) {
      if (d.remove.empty()) d.action = Action::kHold;
      d.reason = "budget_exhausted";
    } else {
      d.create = d.desired - live;
      d.action = Action::kScaleUp;
      if (d.remove.empty()) d.reason = upReason(demand, l);
    }
  } else if (d.desired < live) {
    // Only runners without a job go, so the pool never drops below its busy runners.
    shrink(pool, now, runners, live - std::max(d.desired, counts.busy), d);
  }
  d.message = std::string(actionName(d.action)) + " demand=" + std::to_string(d.demand) +
              " current=" + std::to_string(d.current) + " desired=" + std::to_string(d.desired) +
              " pool=" + pool.name + " reason=" + d.reason;
  if (d.create > 0) d.message += " create=" + std::to_string(d.create);
  if (!d.remove.empty()) d.message += " remove=" + std::to_string(d.remove.size());
  if (!d.limits.schedule.empty()) d.message += " schedule=" + d.limits.schedule;
  return d;
}

}  // namespace appliance::plugins::runner_scaler
