// Rule evaluation at scale (issue #10's target): 1,000 alerting rules over 100,000 series
// with 10 minutes of 15-second history, as `source: scrape` holds them. Prints the time to
// append one scrape of every series, the time per evaluation cycle (every group once), and
// the process's peak RSS. Not a test: numbers go to bench/results/.
//
//   rule_eval_bench [--series-scale N] [--rules N] [--cycles N]

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "rules/group_evaluator.h"
#include "rules/rule_file.h"

namespace {

namespace promql = appliance::plugins::alert_evaluator::promql;
namespace rules = appliance::plugins::alert_evaluator::rules;

constexpr std::int64_t kStepMs = 15'000;
constexpr int kHistorySteps = 41;  // 10 minutes

long peakRssKb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

double msSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

struct SeriesSet {
  std::vector<promql::Labels> counters;  // grow by a per-series rate
  std::vector<promql::Labels> gauges;
};

// 100 jobs x 10 instances: http counters (x 10 routes x 2 statuses = 20,000), latency buckets
// (x 8 = 8,000), up and memory (2,000); 100 namespaces x 140 pods x 5 containers of
// container memory (70,000). 100,000 in all at scale 1.
SeriesSet makeSeries(int scale) {
  SeriesSet set;
  const char* les[] = {"0.005", "0.01", "0.05", "0.1", "0.5", "1", "5", "+Inf"};
  for (int j = 0; j < 100 * scale; ++j) {
    const std::string job = "svc-" + std::to_string(j);
    for (int i = 0; i < 10; ++i) {
      const std::string instance = "10.0." + std::to_string(j % 250) + "." + std::to_string(i);
      for (int r = 0; r < 10; ++r) {
        for (const char* status : {"200", "500"}) {
          set.counters.push_back(promql::Labels({{"__name__", "http_requests_total"},
                                                 {"job", job},
                                                 {"instance", instance},
                                                 {"route", "/r-" + std::to_string(r)},
                                                 {"status", status}}));
        }
      }
      for (const char* le : les) {
        set.counters.push_back(promql::Labels({{"__name__", "http_request_duration_seconds_bucket"},
                                               {"job", job},
                                               {"instance", instance},
                                               {"le", le}}));
      }
      set.gauges.push_back(
          promql::Labels({{"__name__", "up"}, {"job", job}, {"instance", instance}}));
      set.gauges.push_back(promql::Labels(
          {{"__name__", "process_resident_memory_bytes"}, {"job", job}, {"instance", instance}}));
    }
  }
  for (int n = 0; n < 100 * scale; ++n) {
    const std::string ns = "ns-" + std::to_string(n);
    for (int p = 0; p < 140; ++p) {
      for (int c = 0; c < 5; ++c) {
        set.gauges.push_back(promql::Labels({{"__name__", "container_memory_working_set_bytes"},
                                             {"namespace", ns},
                                             {"pod", "pod-" + std::to_string(p)},
                                             {"container", "c" + std::to_string(c)}}));
      }
    }
  }
  return set;
}

void scrape(promql::SeriesStore& store, const SeriesSet& set, int step) {
  const std::int64_t t = step * kStepMs;
  for (std::size_t i = 0; i < set.counters.size(); ++i) {
    store.append(set.counters[i], t, static_cast<double>(step) * static_cast<double>(1 + i % 17));
  }
  for (std::size_t i = 0; i < set.gauges.size(); ++i) {
    store.append(set.gauges[i], t,
                 static_cast<double>((i * 7919 + static_cast<std::size_t>(step)) % 1000));
  }
}

// Ten rule shapes from real rule files, each aimed at one job or namespace.
std::string ruleFile(int rule_count, int jobs) {
  std::string yaml = "groups:\n";
  const int per_group = 100;
  for (int r = 0; r < rule_count; ++r) {
    if (r % per_group == 0)
      yaml += "  - name: group-" + std::to_string(r / per_group) + "\n    rules:\n";
    const std::string j = std::to_string(r % jobs);
    const std::string k = std::to_string((r + 1) % jobs);
    std::string expr;
    switch (r % 10) {
      case 0:
        expr = "sum by (job) (rate(http_requests_total{job=\"svc-" + j +
               "\",status=\"500\"}[5m])) / sum by (job) (rate(http_requests_total{job=\"svc-" + j +
               "\"}[5m])) > 0.1";
        break;
      case 1:
        expr =
            "histogram_quantile(0.99, sum by (le) "
            "(rate(http_request_duration_seconds_bucket{job=\"svc-" +
            j + "\"}[5m]))) > 0.5";
        break;
      case 2:
        expr = "up{job=\"svc-" + j + "\"} == 0";
        break;
      case 3:
        expr = "process_resident_memory_bytes{job=\"svc-" + j + "\"} > 900";
        break;
      case 4:
        expr = "sum by (namespace) (container_memory_working_set_bytes{namespace=\"ns-" + j +
               "\"}) > 1e12";
        break;
      case 5:
        expr = "absent(up{job=\"svc-" + j + "\"})";
        break;
      case 6:
        expr = "rate(http_requests_total{job=~\"svc-" + j + "|svc-" + k +
               "\",route=\"/r-1\"}[5m]) > 100";
        break;
      case 7:
        expr = "max_over_time(process_resident_memory_bytes{job=\"svc-" + j + "\"}[10m]) > 990";
        break;
      case 8:
        expr = "increase(http_requests_total{job=\"svc-" + j + "\",status=\"500\"}[10m]) > 1000";
        break;
      default:
        expr = "count by (namespace) (container_memory_working_set_bytes{namespace=\"ns-" + j +
               "\"} > 500) > 400";
        break;
    }
    yaml += "      - alert: Rule" + std::to_string(r) + "\n        expr: '" + expr +
            "'\n        for: 5m\n        labels:\n          severity: warning\n"
            "        annotations:\n          summary: 'value {{ $value }} on {{ $labels.job }}'\n";
  }
  return yaml;
}

int argValue(int argc, char** argv, const char* name, int fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return std::atoi(argv[i + 1]);
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const int scale = argValue(argc, argv, "--series-scale", 1);
  const int rule_count = argValue(argc, argv, "--rules", 1000);
  const int cycles = argValue(argc, argv, "--cycles", 5);

  const SeriesSet set = makeSeries(scale);
  const std::size_t series = set.counters.size() + set.gauges.size();
  // The generator's own copy of every label set, which a real scraper does not hold.
  const long harness_kb = peakRssKb();
  promql::SeriesStore store;
  auto start = std::chrono::steady_clock::now();
  for (int step = 0; step < kHistorySteps; ++step) scrape(store, set, step);
  std::printf("series: %zu, history: %d samples each (%.0f ms to load)\n", series, kHistorySteps,
              msSince(start));

  const rules::RuleFileResult loaded =
      rules::parseRuleFile(ruleFile(rule_count, 100 * scale), "bench.yaml");
  if (!loaded.ok()) {
    std::fprintf(stderr, "%s\n", loaded.errors.front().c_str());
    return 1;
  }
  std::vector<rules::GroupEvaluator> groups;
  for (const auto& group : loaded.file.groups) groups.emplace_back(group, rules::EvalContext{});
  std::printf("rules: %d in %zu groups\n", rule_count, groups.size());

  double worst = 0;
  double total = 0;
  int step = kHistorySteps;
  for (int cycle = 0; cycle < cycles; ++cycle, ++step) {
    start = std::chrono::steady_clock::now();
    scrape(store, set, step);
    const double scrape_ms = msSince(start);
    start = std::chrono::steady_clock::now();
    std::size_t errors = 0;
    for (auto& group : groups) errors += group.evaluate(store, step * kStepMs).size();
    const double eval_ms = msSince(start);
    worst = std::max(worst, eval_ms);
    total += eval_ms;
    std::printf("cycle %d: append %zu samples %.0f ms, evaluate %.0f ms, %zu errors\n", cycle,
                series, scrape_ms, eval_ms, errors);
  }
  std::printf(
      "evaluation per cycle: mean %.0f ms, worst %.0f ms; peak RSS %.1f MB, of which %.1f MB is "
      "this harness's own label sets\n",
      total / cycles, worst, static_cast<double>(peakRssKb()) / 1024.0,
      static_cast<double>(harness_kb) / 1024.0);
  return 0;
}
