#include <gtest/gtest.h>

#include <cmath>
#include <compare>
#include <map>
#include <string>

#include "promql/evaluator.h"
#include "promql/parser.h"

namespace appliance::plugins::alert_evaluator::promql {
namespace {

constexpr std::int64_t kMinute = 60 * 1000;

Labels metric(std::string_view text) {
  Labels labels;
  auto err = parseMetric(text, labels);
  EXPECT_FALSE(err.has_value()) << text;
  return labels;
}

class PromqlEvaluatorTest : public ::testing::Test {
 protected:
  // Samples one minute apart from time 0.
  void series(std::string_view name, std::vector<double> values) {
    const Labels labels = metric(name);
    for (std::size_t i = 0; i < values.size(); ++i) {
      store_.append(labels, static_cast<std::int64_t>(i) * kMinute, values[i]);
    }
  }

  EvalResult run(std::string_view expr, std::int64_t t) {
    ParseResult parsed = parseExpr(expr);
    EXPECT_TRUE(parsed.ok()) << expr << ": " << (parsed.error ? parsed.error->toString() : "");
    if (!parsed.ok()) return {};
    return Evaluator(store_).evaluate(*parsed.expr, t);
  }

  // label set -> value, for order-independent comparisons.
  std::map<std::string, double> eval(std::string_view expr, std::int64_t t) {
    EvalResult r = run(expr, t);
    EXPECT_TRUE(r.ok()) << expr << ": " << r.error;
    std::map<std::string, double> out;
    if (r.value.type == ValueType::kScalar) {
      out["scalar"] = r.value.scalar;
    } else {
      for (const auto& s : r.value.vector) out[s.labels.toString()] = s.v;
    }
    return out;
  }

  SeriesStore store_;
};

TEST_F(PromqlEvaluatorTest, MatchersAreFullyAnchored) {
  series("m{a=\"ab\"}", {1});
  series("m{a=\"b\"}", {2});
  series("m{a=\"AB\"}", {3});
  EXPECT_EQ(eval("m{a=~\"b\"}", 0).size(), 1u);
  EXPECT_EQ(eval("m{a=~\"a\"}", 0).size(), 0u);
  EXPECT_EQ(eval("m{a!~\"a.\"}", 0).size(), 2u);
  EXPECT_EQ(eval("m{a!=\"b\"}", 0).size(), 2u);
  EXPECT_EQ(eval("m{a=~\"(?i)ab\"}", 0).size(), 2u);
  EXPECT_EQ(eval("m{a=~\"ab|b\"}", 0).size(), 2u);
  EXPECT_EQ(eval("m{missing=\"\"}", 0).size(), 3u);  // an absent label reads as ""
  EXPECT_EQ(eval("{__name__=~\"m|n\", a=\"b\"}", 0).size(), 1u);
}

TEST_F(PromqlEvaluatorTest, LookbackIsFiveMinutesInclusiveAndStaleMarkersEndSeries) {
  series("once", {7});
  EXPECT_EQ(eval("once", 5 * kMinute).size(), 1u);
  EXPECT_EQ(eval("once", 5 * kMinute + 1).size(), 0u);
  series("ends", {1, 2, staleNaN()});
  EXPECT_EQ(eval("ends", kMinute).begin()->second, 2);
  EXPECT_EQ(eval("ends", 2 * kMinute).size(), 0u);
  EXPECT_EQ(eval("ends", 3 * kMinute).size(), 0u);
  EXPECT_EQ(eval("count_over_time(ends[10m])", 3 * kMinute).begin()->second, 2);
  EXPECT_EQ(eval("once offset 1m", kMinute).begin()->second, 7);
  EXPECT_EQ(eval("once offset 1m", 0).size(), 0u);
}

TEST_F(PromqlEvaluatorTest, RateHandlesCounterResetsAndExtrapolatesAsPrometheus) {
  series("c", {0, 10, 20, 30, 5, 15});
  EXPECT_DOUBLE_EQ(eval("increase(c[5m])", 5 * kMinute).begin()->second, 45);
  EXPECT_DOUBLE_EQ(eval("rate(c[5m])", 5 * kMinute).begin()->second, 0.15);
  EXPECT_DOUBLE_EQ(eval("resets(c[5m])", 5 * kMinute).begin()->second, 1);
  EXPECT_DOUBLE_EQ(eval("irate(c[5m])", 4 * kMinute).begin()->second, 5.0 / 60);
  EXPECT_DOUBLE_EQ(eval("delta(c[5m])", 5 * kMinute).begin()->second, 15);

  // Samples from 2m to 5m: the start is more than 1.1 intervals from the window's start, so
  // only half an interval is added there; the end sits on the window's end.
  SeriesStore& s = store_;
  for (int i = 2; i <= 5; ++i) s.append(metric("late"), i * kMinute, 100 + 10 * (i - 2));
  EXPECT_DOUBLE_EQ(eval("increase(late[5m])", 5 * kMinute).begin()->second, 35);
  // A counter starting near zero is not extrapolated below zero.
  for (int i = 2; i <= 5; ++i) s.append(metric("fresh"), i * kMinute, 1 + 10 * (i - 2));
  EXPECT_DOUBLE_EQ(eval("increase(fresh[5m])", 5 * kMinute).begin()->second, 31);
  EXPECT_TRUE(eval("rate(late[1m])", 0).empty());  // fewer than two samples
}

TEST_F(PromqlEvaluatorTest, OverTimeFunctions) {
  series("g", {1, 3, 2, 5, 4, 8, 6});
  const std::int64_t t = 6 * kMinute;
  EXPECT_DOUBLE_EQ(eval("avg_over_time(g[2m])", t).begin()->second, 6);
  EXPECT_DOUBLE_EQ(eval("sum_over_time(g[10m])", t).begin()->second, 29);
  EXPECT_DOUBLE_EQ(eval("max_over_time(g[3m])", t).begin()->second, 8);
  EXPECT_DOUBLE_EQ(eval("min_over_time(g[3m])", t).begin()->second, 4);
  EXPECT_DOUBLE_EQ(eval("quantile_over_time(0.5, g[10m])", t).begin()->second, 4);
  EXPECT_DOUBLE_EQ(eval("changes(g[10m])", t).begin()->second, 6);
  EXPECT_DOUBLE_EQ(eval("stddev_over_time(g[1m])", t).begin()->second, 1);
  EXPECT_DOUBLE_EQ(eval("present_over_time(g[1m])", t).begin()->second, 1);
  EXPECT_EQ(eval("last_over_time(g[1m])", t).begin()->first, "{__name__=\"g\"}");
  EXPECT_NEAR(eval("deriv(g[10m])", t).begin()->second, 1620.0 / 100800, 1e-12);
  EXPECT_TRUE(eval("absent_over_time(g[1m])", t).empty());
  EXPECT_EQ(eval("absent_over_time(nope{a=\"b\"}[1m])", t).begin()->first, "{a=\"b\"}");
}

TEST_F(PromqlEvaluatorTest, AggregationsGroupByAndWithout) {
  series("load{instance=\"a\", job=\"x\"}", {1});
  series("load{instance=\"b\", job=\"x\"}", {4});
  series("load{instance=\"c\", job=\"y\"}", {10});
  auto sum = eval("sum by (job) (load)", 0);
  EXPECT_EQ(sum["{job=\"x\"}"], 5);
  EXPECT_EQ(sum["{job=\"y\"}"], 10);
  EXPECT_EQ(eval("max without (instance) (load)", 0)["{job=\"x\"}"], 4);
  EXPECT_EQ(eval("count(load)", 0)["{}"], 3);
  EXPECT_EQ(eval("group by (job) (load)", 0).size(), 2u);
  EXPECT_EQ(eval("topk(2, load)", 0).size(), 2u);
  EXPECT_EQ(eval("topk(2, load)", 0).count("{__name__=\"load\", instance=\"a\", job=\"x\"}"), 0u);
  EXPECT_EQ(eval("bottomk(1, load)", 0).begin()->second, 1);
  EXPECT_EQ(eval("quantile(0.5, load)", 0)["{}"], 4);
  EXPECT_EQ(eval("count_values by (job) (\"v\", load)", 0)["{job=\"y\", v=\"10\"}"], 1);
  EXPECT_NEAR(eval("stdvar(load)", 0)["{}"], 14, 1e-12);
  EXPECT_TRUE(eval("topk(0, load)", 0).empty());
}

TEST_F(PromqlEvaluatorTest, BinaryOperatorsAndVectorMatching) {
  series("a{i=\"1\", j=\"x\"}", {10});
  series("a{i=\"2\", j=\"x\"}", {20});
  series("b{i=\"1\", j=\"y\"}", {2});
  series("info{j=\"x\", version=\"v1\"}", {1});
  EXPECT_EQ(eval("a / on(i) b", 0)["{i=\"1\"}"], 5);
  EXPECT_EQ(eval("a / ignoring(j) b", 0)["{i=\"1\"}"], 5);
  auto joined = eval("a * on(j) group_left(version) info", 0);
  EXPECT_EQ(joined["{i=\"1\", j=\"x\", version=\"v1\"}"], 10);
  EXPECT_EQ(joined["{i=\"2\", j=\"x\", version=\"v1\"}"], 20);
  EXPECT_EQ(eval("info * on(j) group_right a", 0).size(), 2u);
  EXPECT_EQ(eval("a > 15", 0).begin()->first, "{__name__=\"a\", i=\"2\", j=\"x\"}");
  EXPECT_EQ(eval("a > bool 15", 0)["{i=\"1\", j=\"x\"}"], 0);
  EXPECT_EQ(eval("a and on(i) b", 0).size(), 1u);
  EXPECT_EQ(eval("a unless on(i) b", 0).size(), 1u);
  EXPECT_EQ(eval("a or b", 0).size(), 3u);
  EXPECT_EQ(eval("2 * 3 ^ 2", 0)["scalar"], 18);
  EXPECT_EQ(eval("1 < bool 2", 0)["scalar"], 1);
  EXPECT_EQ(eval("-a{i=\"1\"} % 3", 0)["{i=\"1\", j=\"x\"}"], -1);

  EvalResult dup = run("a * on(j) info", 0);
  EXPECT_NE(dup.error.find("many-to-one matching must be explicit"), std::string::npos)
      << dup.error;
  EvalResult many = run("info * on(j) group_left a", 0);
  EXPECT_NE(many.error.find("duplicate series for the match group"), std::string::npos)
      << many.error;
  series("b{i=\"1\", j=\"x\"}", {3});
  EvalResult same = run("abs({__name__=~\"a|b\", i=\"1\", j=\"x\"})", 0);
  EXPECT_NE(same.error.find("same labelset"), std::string::npos) << same.error;
}

TEST_F(PromqlEvaluatorTest, HistogramQuantileOverClassicBuckets) {
  series("h_bucket{le=\"0.1\"}", {50});
  series("h_bucket{le=\"0.5\"}", {90});
  series("h_bucket{le=\"1\"}", {100});
  series("h_bucket{le=\"+Inf\"}", {100});
  series("nobound_bucket{le=\"1\"}", {5});
  auto q = eval("histogram_quantile(0.9, h_bucket)", 0);
  EXPECT_DOUBLE_EQ(q["{}"], 0.5);
  EXPECT_DOUBLE_EQ(eval("histogram_quantile(0.95, h_bucket)", 0)["{}"], 0.75);
  EXPECT_DOUBLE_EQ(eval("histogram_quantile(0.25, h_bucket)", 0)["{}"], 0.05);
  EXPECT_TRUE(std::isnan(eval("histogram_quantile(0.5, nobound_bucket)", 0)["{}"]));
  EXPECT_EQ(eval("histogram_quantile(-1, h_bucket)", 0)["{}"], -INFINITY);
}

TEST_F(PromqlEvaluatorTest, LabelFunctionsAndScalars) {
  series("up{instance=\"host:9100\", job=\"node\"}", {1});
  auto replaced = eval("label_replace(up, \"host\", \"$1\", \"instance\", \"(.*):.*\")", 0);
  EXPECT_EQ(replaced.begin()->first,
            "{__name__=\"up\", host=\"host\", instance=\"host:9100\", job=\"node\"}");
  // Go's Expand reads "$1x" as a group named "1x", which does not exist: the label is empty.
  auto go_expand = eval("label_replace(up, \"host\", \"$1x\", \"instance\", \"(.*):.*\")", 0);
  EXPECT_EQ(go_expand.begin()->first, "{__name__=\"up\", instance=\"host:9100\", job=\"node\"}");
  auto no_match = eval("label_replace(up, \"job\", \"x\", \"instance\", \"nomatch\")", 0);
  EXPECT_EQ(no_match.begin()->first, "{__name__=\"up\", instance=\"host:9100\", job=\"node\"}");
  auto joined = eval("label_join(up, \"id\", \"/\", \"job\", \"instance\")", 0);
  EXPECT_EQ(joined.count(
                "{__name__=\"up\", id=\"node/host:9100\", instance=\"host:9100\", job=\"node\"}"),
            1u);
  EXPECT_EQ(eval("scalar(up) + time()", 2 * kMinute)["scalar"], 121);
  EXPECT_TRUE(std::isnan(eval("scalar(nothing)", 0)["scalar"]));
  EXPECT_EQ(eval("vector(3)", 0)["{}"], 3);
  EXPECT_EQ(eval("timestamp(up)", 2 * kMinute)["{instance=\"host:9100\", job=\"node\"}"], 0);
  EXPECT_EQ(eval("timestamp(up * 1)", 2 * kMinute)["{instance=\"host:9100\", job=\"node\"}"], 120);
  EXPECT_EQ(eval("clamp_max(up * 5, 2)", 0)["{instance=\"host:9100\", job=\"node\"}"], 2);
  EXPECT_EQ(eval("clamp_min(up, 3)", 0)["{instance=\"host:9100\", job=\"node\"}"], 3);
  EXPECT_TRUE(eval("clamp(up, 3, 1)", 0).empty());
  EXPECT_EQ(eval("round(up * 2.5)", 0)["{instance=\"host:9100\", job=\"node\"}"], 3);
  EXPECT_EQ(eval("ceil(up * 1.2) + floor(up * 1.8) + abs(-up)", 0).begin()->second, 4);
  EXPECT_EQ(eval("absent(up)", 0).size(), 0u);
  EXPECT_EQ(eval("absent(nope{a=\"1\", a=\"2\", b=~\"x\", c=\"3\"})", 0).begin()->first,
            "{c=\"3\"}");
  EXPECT_EQ(eval("absent((nope{c=\"3\"}))", 0).begin()->first, "{}");
}

// withoutName() and with() share lists instead of copying them; whatever the representation,
// a label set must read, compare, hash and change exactly like its plain copy.
TEST(PromqlValues, SharedLabelSetsBehaveLikeTheirCopies) {
  const Labels series({{"__name__", "up"}, {"instance", "a:1"}, {"job", "node"}});
  const Labels no_name = series.withoutName();
  const Labels plain({{"instance", "a:1"}, {"job", "node"}});
  EXPECT_EQ(no_name, plain);
  EXPECT_EQ(no_name <=> plain, std::strong_ordering::equal);
  EXPECT_EQ(no_name.hash(), plain.hash());
  EXPECT_EQ(no_name.get("__name__"), "");
  EXPECT_EQ(no_name.items().size(), 2u);
  EXPECT_EQ(no_name.toString(), "{instance=\"a:1\", job=\"node\"}");
  EXPECT_EQ(series.get("__name__"), "up");  // the original is untouched

  // A shared list merged in, in name order.
  const Labels extra({{"alertname", "Down"}, {"severity", "page"}});
  const Labels alert = no_name.with(extra);
  const Labels alert_plain(
      {{"alertname", "Down"}, {"instance", "a:1"}, {"job", "node"}, {"severity", "page"}});
  EXPECT_EQ(alert, alert_plain);
  EXPECT_EQ(alert.hash(), alert_plain.hash());
  EXPECT_EQ(alert.toString(), alert_plain.toString());
  EXPECT_LT(alert, Labels({{"alertname", "Down"}, {"instance", "b:1"}}));
  EXPECT_GT(alert, Labels({{"alertname", "Down"}, {"instance", "a:1"}}));

  // The extra list's values win, as set() would.
  const Labels clash = series.with(Labels({{"job", "other"}, {"zone", "z"}}));
  EXPECT_EQ(clash,
            Labels({{"__name__", "up"}, {"instance", "a:1"}, {"job", "other"}, {"zone", "z"}}));

  // On a combination: merged once per pair of lists when a LabelMerges is given.
  LabelMerges merges;
  const Labels state({{"__name__", "ALERTS"}, {"alertstate", "firing"}});
  const Labels a1 = alert.with(state, &merges);
  const Labels a2 = alert.with(state, &merges);
  const Labels a3 = alert.with(state);  // without: a copy, equal all the same
  const Labels expected({{"__name__", "ALERTS"},
                         {"alertname", "Down"},
                         {"alertstate", "firing"},
                         {"instance", "a:1"},
                         {"job", "node"},
                         {"severity", "page"}});
  EXPECT_EQ(a1, expected);
  EXPECT_EQ(a2, expected);
  EXPECT_EQ(a3, expected);
  EXPECT_EQ(a1.hash(), expected.hash());
  EXPECT_EQ(a1.withoutName(), expected.withoutName());

  // Changing a shared set copies it, and never changes the sets it shares with.
  Labels changed = a1;
  changed.set("job", "x");
  changed.erase("alertname");
  EXPECT_EQ(changed.get("job"), "x");
  EXPECT_EQ(changed.get("alertname"), "");
  EXPECT_EQ(changed.items().size(), 5u);
  EXPECT_EQ(a1, expected);
  EXPECT_EQ(alert, alert_plain);
  Labels renamed = no_name;
  renamed.set("__name__", "up2");
  EXPECT_EQ(renamed, Labels({{"__name__", "up2"}, {"instance", "a:1"}, {"job", "node"}}));
  // A value taken from the set itself stays valid while the set changes.
  Labels self = series;
  self.set("exported_instance", self.get("instance"));
  self.set("zz", self.get("__name__"));
  EXPECT_EQ(self.get("exported_instance"), "a:1");
  EXPECT_EQ(self.get("zz"), "up");
  EXPECT_TRUE(Labels(std::vector<Label>{{"__name__", "x"}}).withoutName().empty());
}

TEST(PromqlValues, GoFloatFormatting) {
  EXPECT_EQ(formatGoFloat(1234567.891), "1.234567891e+06");
  EXPECT_EQ(formatGoFloat(123456), "123456");
  EXPECT_EQ(formatGoFloat(0.00001234), "1.234e-05");
  EXPECT_EQ(formatGoFloat(0.0001), "0.0001");
  EXPECT_EQ(formatGoFloat(2.4000000000000004), "2.4000000000000004");
  EXPECT_EQ(formatGoFloat(NAN), "NaN");
  EXPECT_EQ(formatGoFloat(-INFINITY), "-Inf");
  EXPECT_EQ(formatGoFloatFixed(1e21), "1000000000000000000000");
  EXPECT_EQ(formatGoFloatFixed(0.1), "0.1");
  EXPECT_TRUE(isStaleNaN(staleNaN()));
  EXPECT_FALSE(isStaleNaN(NAN));
}

}  // namespace
}  // namespace appliance::plugins::alert_evaluator::promql
