#pragma once
// promtool's rule unit-test format (`promtool test rules`), run through this engine:
// rule_files, evaluation_interval, group_eval_order, and tests with interval, input_series
// (expanding notation: `0+10x20`, `1x3`, `_`, `_x2`, `stale`), alert_rule_test (eval_time,
// alertname, exp_alerts with exp_labels and exp_annotations), promql_expr_test (expr,
// eval_time, exp_samples) and external_labels/external_url. Rules are evaluated at every
// evaluation_interval step from 0 to the last eval_time, as promtool does; only firing alerts
// are compared. A test group without `interval` uses evaluation_interval (newer promtool).

#include <string>
#include <vector>

#include "promql/series_store.h"

namespace appliance::plugins::alert_evaluator::rules {

struct UnitTestReport {
  std::vector<std::string> failures;  // promtool-like descriptions, one per failed case
  int cases = 0;                      // alert and expression cases checked
  bool passed() const { return failures.empty(); }
};

UnitTestReport runRuleUnitTestFile(const std::string& path);

// Loads one `values` string in expanding notation at `interval_ms` steps from time 0.
// Returns an error message, or "" on success.
std::string loadSeriesValues(promql::SeriesStore& store, const promql::Labels& labels,
                             const std::string& values, std::int64_t interval_ms);

}  // namespace appliance::plugins::alert_evaluator::rules
