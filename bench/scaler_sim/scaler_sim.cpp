// scaler_sim: replays a job trace against runner_scaler's policy (the plugin's own decide(),
// linked from runner_scaler_policy) and against models of what users would otherwise
// install, under one start-latency model, and prints queue wait p50/p95/p99 (per job, from
// its first `queued` to the start of the attempt that finished; a job never started waits
// forever), runner-minutes (busy + idle, idle includes booting) in total and per job run,
// jobs killed by scale-down, jobs never started and GitHub API calls per hour. See README.md
// for the models and their sources.
//
//   scaler_sim [--trace FILE]... [--seed N] [--loss 0.05] [--write-traces DIR]
//
// Time advances in 1-second ticks (events inside a tick are ordered: completions, arrivals,
// scaler decision, boots, assignment). Deterministic for a seed.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "policy.h"

using namespace appliance::plugins::runner_scaler;
using std::chrono::seconds;

namespace {

struct TraceJob {
  int arrival = 0;   // seconds from trace start
  int duration = 0;  // seconds
  int run = 0;       // workflow run id (a matrix burst shares one)
};

struct Trace {
  std::string name;
  int length = 0;      // seconds
  int start_hour = 0;  // UTC hour of t=0 (schedules)
  std::vector<TraceJob> jobs;
};

// ---------------------------------------------------------------- traces
Trace makeTrace(const std::string& name, std::uint32_t seed) {
  std::mt19937 rng(seed);
  Trace t;
  t.name = name;
  std::lognormal_distribution<double> dur(std::log(240.0), 0.6);  // median 4 min
  int run = 1;
  auto poisson = [&](int from, int to, double per_hour) {
    std::exponential_distribution<double> gap(per_hour / 3600.0);
    for (double x = from + gap(rng); x < to; x += gap(rng)) {
      t.jobs.push_back(
          {static_cast<int>(x), std::clamp(static_cast<int>(dur(rng)), 30, 3600), run++});
    }
  };
  auto burst = [&](int at, int n, double median) {
    std::lognormal_distribution<double> d(std::log(median), 0.4);
    for (int k = 0; k < n; ++k)
      t.jobs.push_back({at + k % 3, std::clamp(static_cast<int>(d(rng)), 30, 3600), run});
    ++run;
  };
  if (name == "workday") {  // 24 h from 00:00 UTC: office hours 08-19 with matrix bursts
    t.length = 24 * 3600;
    poisson(0, 8 * 3600, 2);
    poisson(8 * 3600, 19 * 3600, 30);
    poisson(19 * 3600, 24 * 3600, 4);
    std::uniform_int_distribution<int> n(8, 20);
    for (int at = 8 * 3600 + 1800; at < 19 * 3600; at += 2700) burst(at, n(rng), 300);
  } else if (name == "quiet_night") {  // 8 h from 22:00 UTC: a few nightly jobs
    t.length = 8 * 3600;
    t.start_hour = 22;
    poisson(0, t.length, 1.5);
    burst(4 * 3600, 4, 600);  // the nightly matrix
  } else {                    // release_day: a workday plus a release spike at 14:00
    t = makeTrace("workday", seed);
    t.name = "release_day";
    for (int k = 0; k < 10; ++k) burst(14 * 3600 + k * 60, 15, 480);
  }
  std::sort(t.jobs.begin(), t.jobs.end(), [](auto& a, auto& b) { return a.arrival < b.arrival; });
  return t;
}

bool writeTrace(const Trace& t, const std::string& path) {
  std::ofstream out(path);
  out << "# " << t.name << " length=" << t.length << " start_hour=" << t.start_hour
      << "\n# arrival_s,duration_s,run\n";
  for (const auto& j : t.jobs) out << j.arrival << "," << j.duration << "," << j.run << "\n";
  return static_cast<bool>(out);
}

bool readTrace(const std::string& path, Trace& t) {
  std::ifstream in(path);
  if (!in) return false;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# ", 0) == 0 && line.find("length=") != std::string::npos) {
      std::istringstream h(line.substr(2));
      std::string kv;
      h >> t.name;
      while (h >> kv) {
        if (kv.rfind("length=", 0) == 0) t.length = std::stoi(kv.substr(7));
        if (kv.rfind("start_hour=", 0) == 0) t.start_hour = std::stoi(kv.substr(11));
      }
      continue;
    }
    if (line.empty() || line[0] == '#') continue;
    TraceJob j;
    if (std::sscanf(line.c_str(), "%d,%d,%d", &j.arrival, &j.duration, &j.run) != 3) return false;
    t.jobs.push_back(j);
  }
  return t.length > 0;
}

// ---------------------------------------------------------------- the cluster model
// Runner start latency: on a node with a free slot, image pull from the node cache (5 s) +
// registration (10 s); otherwise a new spot node (ready in 30-90 s), image pull (25 s) and
// registration (10 s). Nodes hold 4 runners and leave 10 min after emptying (cluster-autoscaler).
struct Runner {
  int id = 0;
  int created = 0, ready_at = 0;
  int job = -1;  // index into trace jobs
  int idle_since = -1;
  bool ephemeral = true;
  int node = 0;
};

struct Node {
  int used = 0;
  int empty_since = -1;
};

struct Stats {
  std::vector<double> waits;        // per job: first queued -> start of its last attempt
  std::vector<double> first_waits;  // per job: first queued -> start of its first attempt
  int ran = 0;                      // jobs that finished
  double busy_s = 0, idle_s = 0;
  int killed = 0, never_started = 0;
  double api_calls = 0;
};

class Cluster {
 public:
  Cluster(const Trace& trace, std::uint32_t seed) : trace_(trace), rng_(seed) {}

  int create(int now, bool ephemeral) {
    int node = -1;
    for (auto& [id, n] : nodes_) {
      if (n.used < kPerNode) {
        node = id;
        break;
      }
    }
    int latency;
    if (node < 0) {
      node = next_node_++;
      nodes_[node] = Node{};
      std::uniform_int_distribution<int> ready(30, 90);
      latency = ready(rng_) + 25 + 10;
    } else {
      latency = 5 + 10;
    }
    nodes_[node].used++;
    nodes_[node].empty_since = -1;
    Runner r;
    r.id = next_runner_++;
    r.created = now;
    r.ready_at = now + latency;
    r.ephemeral = ephemeral;
    r.node = node;
    runners_.push_back(r);
    return r.id;
  }
  void remove(int id, int now, Stats& stats, std::vector<int>& requeue) {
    auto it = std::find_if(runners_.begin(), runners_.end(), [&](auto& r) { return r.id == id; });
    if (it == runners_.end()) return;
    if (it->job >= 0) {  // a busy runner killed: GitHub fails the job; a rerun queues again
      ++stats.killed;
      requeue.push_back(it->job);
    }
    release(*it, now);
    runners_.erase(it);
  }
  void release(const Runner& r, int now) {
    auto& n = nodes_[r.node];
    if (--n.used == 0) n.empty_since = now;
  }
  void tick(int now) {
    for (auto it = nodes_.begin(); it != nodes_.end();) {
      if (it->second.used == 0 && it->second.empty_since >= 0 &&
          now - it->second.empty_since >= 600) {
        it = nodes_.erase(it);
      } else {
        ++it;
      }
    }
  }
  std::vector<Runner>& runners() { return runners_; }
  std::vector<RunnerView> views(int now, TimePoint base) const {
    std::vector<RunnerView> out;
    for (const auto& r : runners_) {
      RunnerPhase p = r.job >= 0         ? RunnerPhase::kBusy
                      : now < r.ready_at ? RunnerPhase::kBooting
                                         : RunnerPhase::kIdle;
      const int since = p == RunnerPhase::kIdle ? std::max(r.ready_at, r.idle_since) : r.created;
      out.push_back({std::to_string(r.id), p, base + seconds(since)});
    }
    return out;
  }

 private:
  static constexpr int kPerNode = 4;
  const Trace& trace_;
  std::mt19937 rng_;
  std::vector<Runner> runners_;
  std::map<int, Node> nodes_;
  int next_node_ = 1, next_runner_ = 1;
};

// ---------------------------------------------------------------- the scalers
// What a scaler can see: true queue (for pollers, at poll time) or the webhook stream.
struct World {
  int now = 0;
  std::vector<int> queued;   // job indices waiting, FIFO
  std::vector<int> running;  // job indices running
  const Trace* trace = nullptr;
  std::vector<bool> webhook_lost_queued, webhook_lost_completed;
};

class Scaler {
 public:
  virtual ~Scaler() = default;
  virtual std::string name() const = 0;
  virtual bool ephemeral() const { return true; }
  // Called every second, after arrivals/completions of that second.
  virtual void step(World& w, Cluster& c, Stats& s, std::vector<int>& requeue) = 0;
  // Webhook notifications (each may be lost, per World).
  virtual void onQueued(World&, int /*job*/) {}
  virtual void onStarted(World&, int /*job*/) {}
  virtual void onCompleted(World&, int /*job*/) {}
};

int activeRuns(const World& w, bool queued_only) {
  std::vector<int> runs;
  for (int j : w.queued) runs.push_back(w.trace->jobs[static_cast<std::size_t>(j)].run);
  if (!queued_only) {
    for (int j : w.running) runs.push_back(w.trace->jobs[static_cast<std::size_t>(j)].run);
  }
  std::sort(runs.begin(), runs.end());
  return static_cast<int>(std::unique(runs.begin(), runs.end()) - runs.begin());
}

// runner_scaler: webhooks feed demand at once (5% lost), a REST poll every 60 s repairs it,
// and the plugin's own decide() picks what to create and remove each second.
class OurPolicy : public Scaler {
 public:
  // `ephemeral`: the runner template's choice (part 2's default): one job per runner. Else a
  // runner returns idle after its job and takes the next one without a new boot.
  OurPolicy(std::string name, PoolPolicy policy, TimePoint base, bool ephemeral)
      : name_(std::move(name)), policy_(std::move(policy)), base_(base), ephemeral_(ephemeral) {}
  std::string name() const override { return name_; }
  void onQueued(World& w, int j) override {
    if (!w.webhook_lost_queued[static_cast<std::size_t>(j)]) known_queued_.insert(j);
  }
  void onStarted(World&, int j) override {
    known_queued_.erase(j);
    known_running_.insert(j);  // the in_progress webhook (loss modelled on queued/completed)
  }
  void onCompleted(World& w, int j) override {
    if (!w.webhook_lost_completed[static_cast<std::size_t>(j)]) known_running_.erase(j);
  }
  void step(World& w, Cluster& c, Stats& s, std::vector<int>& requeue) override {
    if (w.now % 60 == 0) {  // reconciliation poll: the truth, at a cost
      known_queued_ = {w.queued.begin(), w.queued.end()};
      known_running_ = {w.running.begin(), w.running.end()};
      s.api_calls += 2 + activeRuns(w, false);
    }
    JobDemand d{static_cast<int>(known_queued_.size()), static_cast<int>(known_running_.size())};
    const TimePoint now = base_ + seconds(w.now);
    const auto views = c.views(w.now, base_);
    const double used = 0;
    Decision dec = decide(policy_, now, d, views, used);
    for (const auto& id : dec.remove) c.remove(std::stoi(id), w.now, s, requeue);
    for (int k = 0; k < dec.create; ++k) c.create(w.now, ephemeral_);
  }

 private:
  std::string name_;
  PoolPolicy policy_;
  TimePoint base_;
  bool ephemeral_ = true;
  std::set<int> known_queued_, known_running_;
};

// KEDA github-runner scaler on a ScaledObject over a runner Deployment: polls every 30 s
// (queued + in-progress jobs), HPA scales up at once, scale-down after a 300 s cooldown; the
// ReplicaSet deletes the newest pods first, busy or not; runners are long-lived.
class Keda : public Scaler {
 public:
  std::string name() const override { return "keda"; }
  bool ephemeral() const override { return false; }
  void step(World& w, Cluster& c, Stats& s, std::vector<int>& requeue) override {
    if (w.now % 30 != 0) return;
    s.api_calls += 1 + activeRuns(w, false);
    const int target = std::min(kMax, static_cast<int>(w.queued.size() + w.running.size()));
    const int current = static_cast<int>(c.runners().size());
    if (target > 0) last_active_ = w.now;
    if (target > current) {
      for (int k = current; k < target; ++k) c.create(w.now, false);
      lowered_since_ = -1;
    } else if (target < current) {
      if (lowered_since_ < 0) lowered_since_ = w.now;
      if (w.now - lowered_since_ >= 300) {
        auto& rs = c.runners();
        std::vector<int> ids;
        for (auto it = rs.rbegin();
             it != rs.rend() && static_cast<int>(ids.size()) < current - target; ++it)
          ids.push_back(it->id);
        for (int id : ids) c.remove(id, w.now, s, requeue);
        lowered_since_ = -1;
      }
    } else {
      lowered_since_ = -1;
    }
  }
  static constexpr int kMax = 30;

 private:
  int last_active_ = -1, lowered_since_ = -1;
};

// ARC legacy RunnerDeployment + HorizontalRunnerAutoscaler (TotalNumberOfQueuedAndInProgress
// WorkflowRuns): polls every 60 s, scale-up at once, scale-down held 10 min after a scale-out;
// ephemeral runners, and ARC never deletes a busy runner.
class ArcLegacy : public Scaler {
 public:
  std::string name() const override { return "arc_legacy_hra"; }
  void step(World& w, Cluster& c, Stats& s, std::vector<int>& requeue) override {
    if (w.now % 60 != 0) return;
    s.api_calls += 2 + activeRuns(w, false);
    const int target = std::min(Keda::kMax, static_cast<int>(w.queued.size() + w.running.size()));
    const int current = static_cast<int>(c.runners().size());
    if (target > current) {
      for (int k = current; k < target; ++k) c.create(w.now, true);
      last_scale_out_ = w.now;
    } else if (target < current && w.now - last_scale_out_ >= 600) {
      std::vector<int> ids;
      for (auto& r : c.runners()) {
        if (r.job < 0 && static_cast<int>(ids.size()) < current - target) ids.push_back(r.id);
      }
      for (int id : ids) c.remove(id, w.now, s, requeue);
    }
  }

 private:
  int last_scale_out_ = -100000;
};

// ARC gha-runner-scale-set: the listener gets each job assignment pushed at once and creates
// one ephemeral runner per job; minRunners 0 (no warm pool). No REST polling.
class ArcScaleSet : public Scaler {
 public:
  std::string name() const override { return "arc_scale_set"; }
  void onQueued(World&, int) override { ++pending_; }
  void step(World&, Cluster& c, Stats&, std::vector<int>&) override {
    // maxRunners bounds it like every other policy; jobs beyond wait for a free runner.
    for (; pending_ > 0 && static_cast<int>(c.runners().size()) < Keda::kMax; --pending_) {
      c.create(now_, true);
    }
  }
  void onStarted(World&, int) override {}
  void onCompleted(World&, int) override {}
  void setNow(int now) { now_ = now; }

 private:
  int pending_ = 0;
  int now_ = 0;

 public:
  friend void advanceScaleSet(ArcScaleSet& a, int now) { a.now_ = now; }
};

// philips-labs terraform-aws-github-runner: the webhook (5% lost, no reconciliation) is
// delayed 30 s, then one runner per still-queued job; a scale-down lambda every 5 min removes
// idle runners older than 5 min (minimum_running_time_in_minutes). Runners are reused, not
// ephemeral: `enable_ephemeral_runners` defaults to false in the module's variables.tf.
class PhilipsLabs : public Scaler {
 public:
  std::string name() const override { return "philips_labs"; }
  void onQueued(World& w, int j) override {
    if (!w.webhook_lost_queued[static_cast<std::size_t>(j)]) delayed_.push_back({w.now + 30, j});
  }
  void step(World& w, Cluster& c, Stats& s, std::vector<int>& requeue) override {
    while (!delayed_.empty() && delayed_.front().first <= w.now) {
      const int j = delayed_.front().second;
      delayed_.erase(delayed_.begin());
      s.api_calls += 2;  // job status check + registration token
      if (std::find(w.queued.begin(), w.queued.end(), j) != w.queued.end() &&
          static_cast<int>(c.runners().size()) < Keda::kMax) {
        c.create(w.now, false);
      }
    }
    if (w.now % 300 == 0) {
      s.api_calls += 1;
      std::vector<int> ids;
      for (auto& r : c.runners()) {
        if (r.job < 0 && w.now >= r.ready_at && w.now - r.created >= 300) ids.push_back(r.id);
      }
      s.api_calls += static_cast<double>(ids.size());
      for (int id : ids) c.remove(id, w.now, s, requeue);
    }
  }

 private:
  std::vector<std::pair<int, int>> delayed_;
};

// ---------------------------------------------------------------- the simulation
constexpr double kNever = 1e18;

Stats simulate(const Trace& trace, Scaler& scaler, std::uint32_t seed, double loss) {
  Cluster cluster(trace, seed);
  Stats stats;
  World w;
  w.trace = &trace;
  std::mt19937 rng(seed ^ 0x9e3779b9u);
  std::bernoulli_distribution lost(loss);
  const std::size_t n = trace.jobs.size();
  for (std::size_t k = 0; k < n; ++k) {
    w.webhook_lost_queued.push_back(lost(rng));
    w.webhook_lost_completed.push_back(lost(rng));
  }
  std::vector<int> arrival(n), started(n, -1), first_start(n, -1), ends(n, -1);
  for (std::size_t k = 0; k < n; ++k) arrival[k] = trace.jobs[k].arrival;
  std::size_t next = 0;
  std::vector<int> requeue;
  const int horizon = trace.length + 4 * 3600;  // let the tail drain
  for (w.now = 0; w.now < horizon; ++w.now) {
    if (auto* a = dynamic_cast<ArcScaleSet*>(&scaler)) advanceScaleSet(*a, w.now);
    // completions
    for (auto& r : cluster.runners()) {
      if (r.job >= 0 && ends[static_cast<std::size_t>(r.job)] == w.now) {
        const int j = r.job;
        w.running.erase(std::find(w.running.begin(), w.running.end(), j));
        scaler.onCompleted(w, j);
        r.job = -1;
        r.idle_since = w.now;
        if (r.ephemeral) r.ready_at = -1;  // marked for deletion below
      }
    }
    auto& rs = cluster.runners();
    for (auto it = rs.begin(); it != rs.end();) {
      if (it->ephemeral && it->ready_at == -1) {
        cluster.release(*it, w.now);
        it = rs.erase(it);
      } else {
        ++it;
      }
    }
    // arrivals (and reruns of killed jobs)
    for (int j : requeue) {
      w.running.erase(std::remove(w.running.begin(), w.running.end(), j), w.running.end());
      started[static_cast<std::size_t>(j)] = -1;
      w.queued.push_back(j);
      scaler.onQueued(w, j);
    }
    requeue.clear();
    while (next < n && arrival[next] <= w.now) {
      w.queued.push_back(static_cast<int>(next));
      scaler.onQueued(w, static_cast<int>(next));
      ++next;
    }
    scaler.step(w, cluster, stats, requeue);
    cluster.tick(w.now);
    // GitHub hands queued jobs (FIFO) to idle registered runners.
    for (auto& r : cluster.runners()) {
      if (w.queued.empty()) break;
      if (r.job >= 0 || w.now < r.ready_at) continue;
      const int j = w.queued.front();
      w.queued.erase(w.queued.begin());
      r.job = j;
      const auto jj = static_cast<std::size_t>(j);
      if (first_start[jj] < 0) first_start[jj] = w.now;
      started[jj] = w.now;
      ends[jj] = w.now + trace.jobs[jj].duration;
      w.running.push_back(j);
      scaler.onStarted(w, j);
    }
    // accounting
    for (const auto& r : cluster.runners()) (r.job >= 0 ? stats.busy_s : stats.idle_s) += 1;
    if (w.now >= trace.length && next >= n && w.queued.empty() && w.running.empty() &&
        cluster.runners().empty()) {
      break;
    }
  }
  stats.never_started = static_cast<int>(w.queued.size());
  for (std::size_t k = 0; k < n; ++k) {
    // A job still queued at the end never started: its wait is unbounded.
    const bool ran = started[k] >= 0 && ends[k] <= w.now;
    stats.ran += ran ? 1 : 0;
    stats.waits.push_back(started[k] >= 0 ? started[k] - arrival[k] : kNever);
    stats.first_waits.push_back(first_start[k] >= 0 ? first_start[k] - arrival[k] : kNever);
  }
  stats.api_calls = stats.api_calls * 3600.0 / trace.length;
  return stats;
}

std::string secondsText(double s) {
  if (s >= kNever) return "never";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f", s);
  return buf;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto idx =
      static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size()))) - 1;
  return v[std::min(idx, v.size() - 1)];
}

// min/max as the anchors (0-30); `office_min_idle` warm runners 08:00-19:00 UTC (a schedule),
// none at night.
PoolPolicy ourPolicy(std::chrono::seconds scale_down_delay, int office_min_idle) {
  PoolPolicy p;
  p.name = "sim";
  p.limits = {0, Keda::kMax, 0};
  p.scale_down_delay = scale_down_delay;
  if (office_min_idle > 0) {
    ScheduleWindow office;
    office.name = "office-hours";
    office.days = {false, true, true, true, true, true, false};  // Mon-Fri
    office.start_minute = 8 * 60;
    office.end_minute = 19 * 60;
    office.min_idle = office_min_idle;
    p.schedules.push_back(office);
  }
  return p;
}

struct OurVariant {
  const char* name;
  bool ephemeral;
  int scale_down_delay_s;
  int office_min_idle;
};
// The pool settings compared (README.md says why): the defaults, warm runners in office
// hours, and reused runners with no scale-down delay (the recommended cost setting).
constexpr OurVariant kOurVariants[] = {
    {"runner_scaler (defaults: ephemeral, scale_down_delay 5m)", true, 300, 0},
    {"runner_scaler (ephemeral, 5m, office min_idle 1)", true, 300, 1},
    {"runner_scaler (ephemeral, scale_down_delay 0s)", true, 0, 0},
    {"runner_scaler (reuse, scale_down_delay 30s)", false, 30, 0},
    {"runner_scaler (reuse, scale_down_delay 0s)", false, 0, 0},
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> files;
  std::uint32_t seed = 42;
  double loss = 0.05;
  std::string write_dir;
  for (int k = 1; k < argc; ++k) {
    const std::string a = argv[k];
    if (a == "--trace" && k + 1 < argc)
      files.push_back(argv[++k]);
    else if (a == "--seed" && k + 1 < argc)
      seed = static_cast<std::uint32_t>(std::stoul(argv[++k]));
    else if (a == "--loss" && k + 1 < argc)
      loss = std::stod(argv[++k]);
    else if (a == "--write-traces" && k + 1 < argc)
      write_dir = argv[++k];
    else {
      std::fprintf(
          stderr,
          "usage: scaler_sim [--trace FILE]... [--seed N] [--loss 0.05] [--write-traces DIR]\n");
      return 2;
    }
  }
  if (!write_dir.empty()) {
    for (const char* n : {"workday", "quiet_night", "release_day"}) {
      if (!writeTrace(makeTrace(n, 7), write_dir + "/" + n + ".csv")) {
        std::fprintf(stderr, "scaler_sim: cannot write %s/%s.csv\n", write_dir.c_str(), n);
        return 1;
      }
    }
    return 0;
  }
  std::vector<Trace> traces;
  for (const auto& f : files) {
    Trace t;
    if (!readTrace(f, t)) {
      std::fprintf(stderr,
                   "scaler_sim: %s is not a trace (# name length=S start_hour=H, then "
                   "arrival_s,duration_s,run lines)\n",
                   f.c_str());
      return 1;
    }
    traces.push_back(std::move(t));
  }
  if (traces.empty()) {
    for (const char* n : {"workday", "quiet_night", "release_day"})
      traces.push_back(makeTrace(n, 7));
  }
  std::printf(
      "| trace | policy | jobs | ran | wait p50 s | p95 s | p99 s | p95 first start s | busy "
      "runner-min | idle runner-min | runner-min | per job run | killed | never started | API "
      "calls/h |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (const auto& t : traces) {
    // 2023-11-13 is a Monday; t=0 is start_hour UTC that day.
    const TimePoint base{std::chrono::sys_days{std::chrono::year{2023} / 11 / 13} +
                         std::chrono::hours(t.start_hour)};
    std::vector<std::unique_ptr<Scaler>> scalers;
    for (const auto& v : kOurVariants) {
      scalers.push_back(std::make_unique<OurPolicy>(
          v.name, ourPolicy(seconds(v.scale_down_delay_s), v.office_min_idle), base, v.ephemeral));
    }
    // Not a policy: the floor the 30-runner cap leaves, 30 reused runners up all the time.
    auto always_up = ourPolicy(seconds(0), 0);
    always_up.limits.min = Keda::kMax;
    scalers.push_back(
        std::make_unique<OurPolicy>("bound: 30 reused runners always up", always_up, base, false));
    scalers.push_back(std::make_unique<Keda>());
    scalers.push_back(std::make_unique<ArcLegacy>());
    scalers.push_back(std::make_unique<ArcScaleSet>());
    scalers.push_back(std::make_unique<PhilipsLabs>());
    for (auto& s : scalers) {
      const Stats st = simulate(t, *s, seed, loss);
      const double total = (st.busy_s + st.idle_s) / 60;
      std::printf(
          "| %s | %s | %zu | %d | %s | %s | %s | %s | %.0f | %.0f | %.0f | %.2f | %d | %d | %.0f "
          "|\n",
          t.name.c_str(), s->name().c_str(), t.jobs.size(), st.ran,
          secondsText(percentile(st.waits, 50)).c_str(),
          secondsText(percentile(st.waits, 95)).c_str(),
          secondsText(percentile(st.waits, 99)).c_str(),
          secondsText(percentile(st.first_waits, 95)).c_str(), st.busy_s / 60, st.idle_s / 60,
          total, st.ran > 0 ? total / st.ran : 0.0, st.killed, st.never_started, st.api_calls);
    }
  }
  return 0;
}
