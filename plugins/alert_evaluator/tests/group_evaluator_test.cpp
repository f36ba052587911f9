#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "promql/parser.h"
#include "rules/group_evaluator.h"
#include "rules/rule_unit_test.h"

namespace appliance::plugins::alert_evaluator::rules {
namespace {

constexpr std::int64_t kMinute = 60 * 1000;
using promql::Labels;

class GroupEvaluatorTest : public ::testing::Test {
 protected:
  const RuleGroup& load(const std::string& yaml) {
    RuleFileResult r = parseRuleFile(yaml, "rules.yaml");
    EXPECT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors.front());
    file_ = std::move(r.file);
    return file_.groups.at(0);
  }

  void series(const std::string& name, const std::string& values) {
    Labels labels;
    ASSERT_FALSE(promql::parseMetric(name, labels).has_value());
    ASSERT_EQ(loadSeriesValues(store_, labels, values, kMinute), "");
  }

  std::vector<AlertState> states(const GroupEvaluator& g, std::size_t rule = 0) {
    std::vector<AlertState> out;
    for (const auto& [labels, alert] : g.rules().at(rule).active) out.push_back(alert.state);
    return out;
  }

  double valueAt(const std::string& expr, std::int64_t t) {
    auto parsed = promql::parseExpr(expr);
    auto r = promql::Evaluator(store_).evaluate(*parsed.expr, t);
    return r.value.vector.empty() ? -1 : r.value.vector.front().v;
  }

  RuleFile file_;
  promql::SeriesStore store_;
};

TEST_F(GroupEvaluatorTest, PendingThenFiringAtTheForBoundaryThenResolved) {
  GroupEvaluator g(load("groups:\n- name: g\n  rules:\n  - alert: High\n    expr: x > 1\n"
                        "    for: 2m\n"),
                   {});
  series("x{i=\"a\"}", "5 5 5 5 0");
  using S = AlertState;
  g.evaluate(store_, 0);
  EXPECT_EQ(states(g), std::vector<S>{S::kPending});
  g.evaluate(store_, kMinute);
  EXPECT_EQ(states(g), std::vector<S>{S::kPending});
  g.evaluate(store_, 2 * kMinute);
  EXPECT_EQ(states(g), std::vector<S>{S::kFiring});
  EXPECT_EQ(g.rules()[0].active.begin()->second.fired_at, 2 * kMinute);
  g.evaluate(store_, 4 * kMinute);
  EXPECT_EQ(states(g), std::vector<S>{S::kInactive});
  // Resolved alerts are kept 15 minutes, then forgotten.
  g.evaluate(store_, 19 * kMinute);
  EXPECT_EQ(states(g).size(), 1u);
  g.evaluate(store_, 19 * kMinute + 1);
  EXPECT_TRUE(states(g).empty());
  EXPECT_EQ(valueAt("ALERTS{alertstate=\"firing\"}", 2 * kMinute), 1);
  EXPECT_EQ(valueAt("ALERTS", 4 * kMinute), -1);  // a stale marker ended the series
  EXPECT_EQ(valueAt("ALERTS_FOR_STATE", 2 * kMinute), 0);
}

TEST_F(GroupEvaluatorTest, PendingAlertsVanishAtOnceWhenTheConditionClears) {
  GroupEvaluator g(load("groups:\n- name: g\n  rules:\n  - alert: High\n    expr: x > 1\n"
                        "    for: 5m\n"),
                   {});
  series("x", "5 0");
  g.evaluate(store_, 0);
  g.evaluate(store_, kMinute);
  EXPECT_TRUE(states(g).empty());
}

TEST_F(GroupEvaluatorTest, KeepFiringForHoldsAFiringAlert) {
  GroupEvaluator g(load("groups:\n- name: g\n  rules:\n  - alert: Flap\n    expr: x > 0\n"
                        "    keep_firing_for: 2m\n"),
                   {});
  series("x", "1 0 0 0 1");
  using S = AlertState;
  g.evaluate(store_, 0);
  EXPECT_EQ(states(g), std::vector<S>{S::kFiring});
  g.evaluate(store_, kMinute);
  EXPECT_EQ(states(g), std::vector<S>{S::kFiring});
  g.evaluate(store_, 2 * kMinute);
  EXPECT_EQ(states(g), std::vector<S>{S::kFiring});
  g.evaluate(store_, 3 * kMinute);
  EXPECT_EQ(states(g), std::vector<S>{S::kInactive});
}

TEST_F(GroupEvaluatorTest, RecordingRulesWriteSeriesAndStaleMarkers) {
  GroupEvaluator g(load("groups:\n- name: g\n  rules:\n  - record: job:x:sum\n"
                        "    expr: sum by (job) (x)\n    labels: {env: prod}\n"),
                   {});
  series("x{job=\"a\"}", "1 2");
  g.evaluate(store_, 0);
  g.evaluate(store_, kMinute);
  EXPECT_EQ(valueAt("job:x:sum{env=\"prod\", job=\"a\"}", kMinute), 2);
  g.evaluate(store_, 2 * kMinute);  // x is still within the lookback
  g.evaluate(store_, 7 * kMinute);  // now it is gone: a stale marker ends the record
  EXPECT_EQ(valueAt("job:x:sum", 7 * kMinute), -1);
  EXPECT_EQ(valueAt("job:x:sum", 6 * kMinute), 2);
}

TEST_F(GroupEvaluatorTest, ErrorsAndLimitsAreReportedPerRule) {
  GroupEvaluator g(load("groups:\n- name: g\n  limit: 1\n  rules:\n  - alert: Many\n"
                        "    expr: x > 0\n  - record: dup\n    expr: x * on() group_left y\n"),
                   {});
  series("x{i=\"1\"}", "1");
  series("x{i=\"2\"}", "1");
  series("y", "1");
  auto errors = g.evaluate(store_, 0);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_NE(errors[0].find("Many: exceeded limit of 1 with 2 alerts"), std::string::npos);
  EXPECT_NE(errors[1].find("exceeded limit of 1 with 2 series"), std::string::npos);
  EXPECT_FALSE(g.rules()[0].last_error.empty());
}

TEST_F(GroupEvaluatorTest, AlertLabelsAndAnnotationsAreExpanded) {
  EvalContext context;
  context.external_labels = Labels(std::vector<promql::Label>{{"cluster", "eu"}});
  GroupEvaluator g(load("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: x\n"
                        "    labels: {where: '{{ $externalLabels.cluster }}-{{ $labels.i }}'}\n"
                        "    annotations: {v: '{{ $value | humanize }}'}\n"),
                   context);
  series("x{i=\"1\"}", "1500");
  g.evaluate(store_, 0);
  const Alert& a = g.rules()[0].active.begin()->second;
  EXPECT_EQ(a.labels.toString(), "{alertname=\"A\", i=\"1\", where=\"eu-1\"}");
  EXPECT_EQ(a.annotations.toString(), "{v=\"1.5k\"}");
}

}  // namespace
}  // namespace appliance::plugins::alert_evaluator::rules
