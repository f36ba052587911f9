// Aggregation operators, as promql/engine.go's aggregation() computes them (the same update
// order, so results agree with Prometheus to the last bit).

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>

#include "evaluation.h"

namespace appliance::plugins::alert_evaluator::promql {
namespace {

struct Group {
  Labels labels;
  double value = 0;
  double mean = 0;
  double count = 0;
  Vector members;  // topk, bottomk, quantile
};

Labels groupLabels(const Expr& e, const Labels& metric) {
  if (e.without) {
    std::vector<std::string> drop = e.grouping;
    drop.emplace_back(kMetricNameLabel);
    return metric.drop(drop);
  }
  return metric.keep(e.grouping);
}

void accumulate(AggregateOp op, Group& g, const Sample& s) {
  const double v = s.v;
  switch (op) {
    case AggregateOp::kSum:
      g.value += v;
      break;
    case AggregateOp::kAvg:
      g.count++;
      if (std::isinf(g.mean)) {
        if (std::isinf(v) && (g.mean > 0) == (v > 0)) break;
        if (!std::isinf(v) && !std::isnan(v)) break;
      }
      g.mean += v / g.count - g.mean / g.count;
      break;
    case AggregateOp::kMax:
      if (g.value < v || std::isnan(g.value)) g.value = v;
      break;
    case AggregateOp::kMin:
      if (g.value > v || std::isnan(g.value)) g.value = v;
      break;
    case AggregateOp::kCount:
    case AggregateOp::kCountValues:
      g.count++;
      break;
    case AggregateOp::kStddev:
    case AggregateOp::kStdvar: {
      g.count++;
      const double delta = v - g.mean;
      g.mean += delta / g.count;
      g.value += delta * (v - g.mean);
      break;
    }
    case AggregateOp::kGroup:
      break;
    case AggregateOp::kTopk:
    case AggregateOp::kBottomk:
    case AggregateOp::kQuantile:
      g.members.push_back(s);
      break;
  }
}

// topk/bottomk prefer numbers over NaN, then the largest (smallest) values.
Vector selectK(Vector members, std::int64_t k, bool top) {
  std::stable_sort(members.begin(), members.end(), [top](const Sample& a, const Sample& b) {
    if (std::isnan(a.v) != std::isnan(b.v)) return !std::isnan(a.v);
    return top ? a.v > b.v : a.v < b.v;
  });
  if (static_cast<std::int64_t>(members.size()) > k) members.resize(static_cast<std::size_t>(k));
  return members;
}

}  // namespace

Vector Evaluation::aggregate(const Expr& e) {
  const AggregateOp op = e.aggregate;
  double param = 0;
  std::string value_label;
  if (op == AggregateOp::kCountValues) {
    value_label = e.args[0]->text;
  } else if (e.args.size() == 2) {
    param = scalarArg(*e.args[0]);
  }
  std::int64_t k = 0;
  if (op == AggregateOp::kTopk || op == AggregateOp::kBottomk) {
    if (!(param > -9.2e18 && param < 9.2e18)) {
      throw EvalError("Scalar value " + formatGoFloat(param) + " overflows int64");
    }
    k = static_cast<std::int64_t>(param);
    if (k < 1) return {};
  }
  Vector input = eval(*e.args.back()).vector;
  Expr grouping_expr;  // count_values groups by its value label too
  grouping_expr.without = e.without;
  grouping_expr.grouping = e.grouping;
  if (op == AggregateOp::kCountValues && !e.without) grouping_expr.grouping.push_back(value_label);

  std::unordered_map<std::string, std::size_t> index;
  std::vector<Group> groups;
  for (Sample s : input) {
    if (op == AggregateOp::kCountValues) s.labels.set(value_label, formatGoFloatFixed(s.v));
    Labels key_labels = groupLabels(grouping_expr, s.labels);
    const std::string key = key_labels.toString();
    auto [it, fresh] = index.try_emplace(key, groups.size());
    if (!fresh) {
      accumulate(op, groups[it->second], s);
      continue;
    }
    Group g;
    g.labels = std::move(key_labels);
    g.value = s.v;
    g.mean = s.v;
    g.count = 1;
    if (op == AggregateOp::kStddev || op == AggregateOp::kStdvar) g.value = 0;
    if (op == AggregateOp::kGroup) g.value = 1;
    if (op == AggregateOp::kTopk || op == AggregateOp::kBottomk || op == AggregateOp::kQuantile) {
      g.members.push_back(s);
    }
    groups.push_back(std::move(g));
  }

  Vector out;
  for (auto& g : groups) {
    switch (op) {
      case AggregateOp::kAvg:
        g.value = g.mean;
        break;
      case AggregateOp::kCount:
      case AggregateOp::kCountValues:
        g.value = g.count;
        break;
      case AggregateOp::kStdvar:
        g.value = g.value / g.count;
        break;
      case AggregateOp::kStddev:
        g.value = std::sqrt(g.value / g.count);
        break;
      case AggregateOp::kQuantile: {
        std::vector<double> values;
        for (const auto& m : g.members) values.push_back(m.v);
        g.value = quantile(param, std::move(values));
        break;
      }
      case AggregateOp::kTopk:
      case AggregateOp::kBottomk:
        for (auto& s : selectK(std::move(g.members), k, op == AggregateOp::kTopk)) {
          s.t = ts_;
          out.push_back(std::move(s));
        }
        continue;
      default:
        break;
    }
    out.push_back(Sample{std::move(g.labels), g.value, ts_});
  }
  return out;
}

}  // namespace appliance::plugins::alert_evaluator::promql
