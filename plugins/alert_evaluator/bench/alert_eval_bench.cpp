// alert_eval_bench: issue #10's evaluation benchmark, through the plugin's own pieces. A
// synthetic target exposes --series series (half counters, half gauges, 1,000 series per
// metric name) in the text format; every 15 s of simulated time it is parsed
// (exposition::parse, validating only, as fetchTarget does) and appended (applyScrape, which
// reads the text again into the store, with staleness and bounded history), then
// --rules alerting rules in groups of 100 are evaluated (GroupEvaluator: the state machine,
// templates, ALERTS). Prints the time per scrape and per evaluation cycle (all groups) and
// the peak RSS. Thresholds sit a few standard deviations above the random data, so a few
// hundred alerts are active, as in a healthy fleet. No asserts: bench/README.md records the
// numbers.
//   alert_eval_bench [--series N] [--rules N] [--scrapes N]

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "plugin/exposition.h"
#include "plugin/scraper.h"
#include "rules/group_evaluator.h"
#include "rules/rule_file.h"

namespace ae = appliance::plugins::alert_evaluator;
using Clock = std::chrono::steady_clock;

namespace {

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

long peakRssKb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

}  // namespace

int main(int argc, char** argv) {
  int series = 100000, rule_count = 1000, scrapes = 25;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--series")) series = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--rules")) rule_count = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--scrapes")) scrapes = std::atoi(argv[i + 1]);
  }
  const int per_metric = 1000;
  const int metrics = std::max(2, series / per_metric);
  const int instances = 50, paths = per_metric / instances;

  std::string rules = "groups:\n";
  for (int r = 0; r < rule_count; ++r) {
    if (r % 100 == 0) rules += "  - name: g" + std::to_string(r / 100) + "\n    rules:\n";
    const int m = (r / 4) % (metrics / 2);
    const std::string counter = "bench_requests_" + std::to_string(m) + "_total";
    const std::string gauge = "bench_value_" + std::to_string(m);
    std::string expr;
    switch (r % 4) {
      case 0:
        expr = "rate(" + counter + "[5m]) > 16.5";
        break;
      case 1:
        expr = "sum by (instance) (rate(" + counter + "[5m])) > 230";
        break;
      case 2:
        expr = gauge + "{path!=\"/p0\"} > 0.999";
        break;
      default:
        expr = "avg_over_time(" + gauge + "[5m]) > 0.75";
        break;
    }
    rules += "      - alert: Bench" + std::to_string(r) + "\n        expr: " + expr +
             "\n        for: 1m\n        labels: {severity: warning}\n"
             "        annotations:\n          summary: \"{{ $labels.instance }} at {{ $value "
             "}}\"\n";
  }
  const auto loaded = ae::rules::parseRuleFile(rules, "bench.yaml");
  if (!loaded.ok()) {
    std::fprintf(stderr, "%s\n", loaded.errors.front().c_str());
    return 1;
  }
  std::vector<std::unique_ptr<ae::rules::GroupEvaluator>> groups;
  for (const auto& g : loaded.file.groups) {
    groups.push_back(std::make_unique<ae::rules::GroupEvaluator>(g, ae::rules::EvalContext{}));
  }

  ae::promql::SeriesStore store;
  ae::ScrapeTarget target;
  target.url = "http://bench:9100/metrics";
  target.labels = ae::promql::Labels({{"job", "bench"}, {"instance", "bench:9100"}});
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> unit(0, 1);
  std::vector<double> counters(static_cast<std::size_t>(metrics / 2 * per_metric), 0);
  double scrape_total = 0, parse_total = 0, eval_max = 0, eval_total = 0;
  int eval_cycles = 0;
  std::size_t alerts = 0;
  const std::int64_t step = 15000, retention = 5 * 60 * 1000 + step;  // as the plugin
  for (int s = 0; s < scrapes; ++s) {
    const std::int64_t ts = 1'700'000'000'000 + s * step;
    std::string text;
    text.reserve(static_cast<std::size_t>(series) * 64);
    for (int m = 0; m < metrics / 2; ++m) {
      text += "# TYPE bench_requests_" + std::to_string(m) + "_total counter\n";
      for (int k = 0; k < per_metric; ++k) {
        double& c = counters[static_cast<std::size_t>(m * per_metric + k)];
        c += unit(rng) * 300;
        text += "bench_requests_" + std::to_string(m) + "_total{instance=\"i" +
                std::to_string(k / paths) + "\",path=\"/p" + std::to_string(k % paths) + "\"} " +
                std::to_string(c) + "\n";
      }
      text += "# TYPE bench_value_" + std::to_string(m) + " gauge\n";
      for (int k = 0; k < per_metric; ++k) {
        text += "bench_value_" + std::to_string(m) + "{instance=\"i" + std::to_string(k / paths) +
                "\",path=\"/p" + std::to_string(k % paths) + "\"} " + std::to_string(unit(rng)) +
                "\n";
      }
    }
    const auto t0 = Clock::now();
    ae::ScrapeOutcome outcome;  // as fetchTarget leaves it: validated, read again by apply
    outcome.parsed = ae::exposition::parse(text, [](ae::exposition::ParsedSample&) {});
    outcome.body = std::move(text);
    const auto t1 = Clock::now();
    ae::applyScrape(store, target, std::move(outcome), ts);
    store.dropBefore(ts - retention);
    const auto t2 = Clock::now();
    parse_total += ms(t1 - t0);
    scrape_total += ms(t2 - t0);
    const auto e0 = Clock::now();
    for (auto& g : groups) g->evaluate(store, ts);
    const double cycle = ms(Clock::now() - e0);
    if (s >= scrapes / 2) {  // steady state: the 5m windows are full
      eval_total += cycle;
      eval_max = std::max(eval_max, cycle);
      ++eval_cycles;
    }
    if (s == scrapes - 1) {
      for (const auto& g : groups) {
        for (const auto& r : g->rules()) alerts += r.active.size();
      }
    }
  }
  std::printf("series=%zu rules=%d groups=%zu scrapes=%d\n", store.seriesCount(), rule_count,
              groups.size(), scrapes);
  std::printf("scrape (parse + append): mean %.1f ms (parse %.1f ms)\n", scrape_total / scrapes,
              parse_total / scrapes);
  std::printf(
      "evaluation cycle (all %d rules), steady state over %d cycles: mean %.1f ms, max "
      "%.1f ms\n",
      rule_count, eval_cycles, eval_total / eval_cycles, eval_max);
  std::printf("active alerts at the end: %zu\n", alerts);
  std::printf("peak RSS: %.1f MB\n", static_cast<double>(peakRssKb()) / 1024.0);
  return 0;
}
