#include "evaluator.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "evaluation.h"

namespace appliance::plugins::alert_evaluator::promql {

EvalResult Evaluator::evaluate(const Expr& expr, std::int64_t t_ms) const {
  EvalResult result;
  try {
    Evaluation evaluation(store_, options_, t_ms);
    result.value = evaluation.eval(expr);
  } catch (const EvalError& e) {
    result.error = e.what();
  }
  return result;
}

void checkNoDuplicates(const Vector& v) {
  // Runs on most function and operator results: sort hashes, and compare label sets only
  // where two hashes are equal (linear in the labels, not n log n label comparisons).
  if (v.size() < 2) return;
  std::vector<std::pair<std::uint64_t, const Labels*>> hashed;
  hashed.reserve(v.size());
  for (const auto& s : v) hashed.emplace_back(s.labels.hash(), &s.labels);
  std::sort(hashed.begin(), hashed.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (std::size_t i = 1; i < hashed.size(); ++i) {
    if (hashed[i - 1].first != hashed[i].first) continue;
    for (std::size_t j = i; j < hashed.size() && hashed[j].first == hashed[i - 1].first; ++j) {
      if (*hashed[i - 1].second == *hashed[j].second) {
        throw EvalError("vector cannot contain metrics with the same labelset");
      }
    }
  }
}

Value Evaluation::eval(const Expr& e) {
  Value out;
  switch (e.kind) {
    case Expr::Kind::kNumber:
      out.type = ValueType::kScalar;
      out.scalar = e.number;
      return out;
    case Expr::Kind::kString:
      out.type = ValueType::kString;
      out.string = e.text;
      return out;
    case Expr::Kind::kParen:
      return eval(*e.args[0]);
    case Expr::Kind::kVectorSelector:
      out.vector = selectInstant(e, false);
      return out;
    case Expr::Kind::kMatrixSelector:
      out.type = ValueType::kMatrix;
      out.matrix = selectRange(e);
      return out;
    case Expr::Kind::kUnary:
      return evalUnary(e);
    case Expr::Kind::kBinary:
      return evalBinary(e);
    case Expr::Kind::kAggregate:
      out.vector = aggregate(e);
      return out;
    case Expr::Kind::kCall:
      return call(e);
  }
  return out;
}

// The newest sample at or before t - offset, no older than the lookback, unless it is a
// stale marker.
Vector Evaluation::selectInstant(const Expr& e, bool keep_sample_time) {
  const std::int64_t ref = ts_ - e.offset_ms;
  Vector out;
  for (const Series* s : store_.select(e.matchers)) {
    auto it = std::upper_bound(s->points.begin(), s->points.end(), ref,
                               [](std::int64_t t, const Point& p) { return t < p.t; });
    if (it == s->points.begin()) continue;
    const Point& p = *std::prev(it);
    if (p.t < ref - options_.lookback_ms || isStaleNaN(p.v)) continue;
    out.push_back(Sample{s->labels, p.v, keep_sample_time ? p.t : ts_});
  }
  return out;
}

// Every sample in the closed window [t - offset - range, t - offset], stale markers skipped;
// series without samples in the window are left out.
Matrix Evaluation::selectRange(const Expr& e) {
  const std::int64_t maxt = ts_ - e.offset_ms;
  const std::int64_t mint = maxt - e.range_ms;
  Matrix out;
  for (const Series* s : store_.select(e.matchers)) {
    auto first = std::lower_bound(s->points.begin(), s->points.end(), mint,
                                  [](const Point& p, std::int64_t t) { return p.t < t; });
    auto last = std::upper_bound(first, s->points.end(), maxt,
                                 [](std::int64_t t, const Point& p) { return t < p.t; });
    if (first == last) continue;
    Series window{s->labels, {}};
    window.points.reserve(static_cast<std::size_t>(last - first));
    for (auto it = first; it != last; ++it) {
      if (!isStaleNaN(it->v)) window.points.push_back(*it);
    }
    if (!window.points.empty()) out.push_back(std::move(window));
  }
  return out;
}

Value Evaluation::evalUnary(const Expr& e) {
  Value v = eval(*e.args[0]);
  if (e.op != BinaryOp::kSub) return v;
  if (v.type == ValueType::kScalar) {
    v.scalar = -v.scalar;
    return v;
  }
  for (auto& s : v.vector) {
    s.labels = s.labels.withoutName();
    s.v = -s.v;
  }
  checkNoDuplicates(v.vector);
  return v;
}

namespace {

// Go's math.Mod: the result has the sign of x.
double arithmetic(BinaryOp op, double l, double r) {
  switch (op) {
    case BinaryOp::kAdd:
      return l + r;
    case BinaryOp::kSub:
      return l - r;
    case BinaryOp::kMul:
      return l * r;
    case BinaryOp::kDiv:
      return l / r;
    case BinaryOp::kMod:
      return std::fmod(l, r);
    case BinaryOp::kPow:
      return std::pow(l, r);
    case BinaryOp::kAtan2:
      return std::atan2(l, r);
    default:
      return 0;
  }
}

bool compare(BinaryOp op, double l, double r) {
  switch (op) {
    case BinaryOp::kEql:
      return l == r;
    case BinaryOp::kNeq:
      return l != r;
    case BinaryOp::kGtr:
      return l > r;
    case BinaryOp::kLss:
      return l < r;
    case BinaryOp::kGte:
      return l >= r;
    case BinaryOp::kLte:
      return l <= r;
    default:
      return false;
  }
}

bool dropsMetricName(BinaryOp op) { return !isComparison(op) && !isSetOperator(op); }

// The key two samples must share to match: their on(...) labels, or all labels but the
// ignoring(...) ones and the metric name.
std::string signature(const Labels& labels, const VectorMatching& m) {
  std::string key;
  for (const auto& l : labels.items()) {
    const bool listed = std::find(m.labels.begin(), m.labels.end(), l.name) != m.labels.end();
    const bool include = m.on ? listed : (!listed && l.name != kMetricNameLabel);
    if (!include) continue;
    key += l.name;
    key += '\xff';
    key += l.value;
    key += '\xff';
  }
  return key;
}

std::string labelsKey(const Labels& labels) {
  VectorMatching all;
  all.on = false;
  std::string key = signature(labels, all);
  return std::string(labels.get(kMetricNameLabel)) + '\xfe' + key;
}

}  // namespace

Value Evaluation::evalBinary(const Expr& e) {
  Value lhs = eval(*e.args[0]);
  Value rhs = eval(*e.args[1]);
  Value out;
  const bool ls = lhs.type == ValueType::kScalar;
  const bool rs = rhs.type == ValueType::kScalar;
  if (ls && rs) {
    out.type = ValueType::kScalar;
    out.scalar = isComparison(e.op) ? (compare(e.op, lhs.scalar, rhs.scalar) ? 1 : 0)
                                    : arithmetic(e.op, lhs.scalar, rhs.scalar);
    return out;
  }
  // Every vector the evaluator makes is free of duplicates, so a result that keeps its
  // operand's label sets (a filtering comparison, `and`, `unless`) needs no check.
  bool keeps_labels = false;
  if (rs) {
    out.vector = vectorScalar(e, std::move(lhs.vector), rhs.scalar, false);
    keeps_labels = isComparison(e.op) && !e.return_bool;
  } else if (ls) {
    out.vector = vectorScalar(e, std::move(rhs.vector), lhs.scalar, true);
    keeps_labels = isComparison(e.op) && !e.return_bool;
  } else if (isSetOperator(e.op)) {
    out.vector = setOperation(e, lhs.vector, rhs.vector);
    keeps_labels = e.op != BinaryOp::kOr;
  } else {
    out.vector = vectorBinary(e, std::move(lhs.vector), std::move(rhs.vector));
  }
  if (!keeps_labels) checkNoDuplicates(out.vector);
  return out;
}

Vector Evaluation::vectorScalar(const Expr& e, Vector vec, double scalar, bool swap) {
  Vector out;
  for (auto& s : vec) {
    double l = s.v;
    double r = scalar;
    if (swap) std::swap(l, r);
    double value = s.v;
    bool keep = true;
    if (isComparison(e.op)) {
      keep = compare(e.op, l, r);
    } else {
      value = arithmetic(e.op, l, r);
    }
    if (e.return_bool) {
      value = keep ? 1 : 0;
      keep = true;
    }
    if (!keep) continue;
    s.v = value;
    s.t = ts_;
    if (dropsMetricName(e.op) || e.return_bool) s.labels = s.labels.withoutName();
    out.push_back(std::move(s));
  }
  return out;
}

Vector Evaluation::setOperation(const Expr& e, const Vector& lhs, const Vector& rhs) {
  Vector out;
  std::unordered_set<std::string> right;
  for (const auto& s : rhs) right.insert(signature(s.labels, e.matching));
  if (e.op == BinaryOp::kOr) {
    std::unordered_set<std::string> left;
    for (const auto& s : lhs) {
      left.insert(signature(s.labels, e.matching));
      out.push_back(s);
    }
    for (const auto& s : rhs) {
      if (left.count(signature(s.labels, e.matching)) == 0) out.push_back(s);
    }
    return out;
  }
  const bool want_match = e.op == BinaryOp::kAnd;
  for (const auto& s : lhs) {
    if ((right.count(signature(s.labels, e.matching)) != 0) == want_match) out.push_back(s);
  }
  return out;
}

namespace {

Labels resultLabels(const Expr& e, const Labels& many, const Labels& one) {
  Labels out = many;
  if (dropsMetricName(e.op)) out.erase(kMetricNameLabel);
  const VectorMatching& m = e.matching;
  if (m.card == Cardinality::kOneToOne) {
    out = m.on ? out.keep(m.labels) : out.drop(m.labels);
  }
  for (const auto& name : m.include) out.set(name, one.get(name));
  if (e.return_bool) out.erase(kMetricNameLabel);
  return out;
}

}  // namespace

Vector Evaluation::vectorBinary(const Expr& e, Vector lhs, Vector rhs) {
  const VectorMatching& m = e.matching;
  const bool one_to_many = m.card == Cardinality::kOneToMany;
  if (lhs.empty() || rhs.empty()) return {};
  if (one_to_many) std::swap(lhs, rhs);  // lhs is now the "many" side
  std::unordered_map<std::string, const Sample*> one_side;
  for (const auto& s : rhs) {
    auto [it, inserted] = one_side.emplace(signature(s.labels, m), &s);
    if (!inserted) {
      throw EvalError("found duplicate series for the match group " +
                      (m.on ? s.labels.keep(m.labels) : s.labels.drop(m.labels)).toString() +
                      " on the " + (one_to_many ? "left" : "right") +
                      " hand-side of the operation: [" + s.labels.toString() + ", " +
                      it->second->labels.toString() +
                      "];many-to-many matching not allowed: matching labels must be unique on "
                      "one side");
    }
  }
  std::unordered_map<std::string, std::unordered_set<std::string>> matched;
  Vector out;
  for (const auto& ls : lhs) {
    const std::string sig = signature(ls.labels, m);
    auto found = one_side.find(sig);
    if (found == one_side.end()) continue;
    const Sample& rs = *found->second;
    double vl = ls.v;
    double vr = rs.v;
    if (one_to_many) std::swap(vl, vr);
    double value = vl;
    bool keep = true;
    if (isComparison(e.op)) {
      keep = compare(e.op, vl, vr);
    } else {
      value = arithmetic(e.op, vl, vr);
    }
    if (e.return_bool) {
      value = keep ? 1 : 0;
    } else if (!keep) {
      continue;
    }
    Labels metric = resultLabels(e, ls.labels, rs.labels);
    auto [group, fresh] = matched.try_emplace(sig);
    if (m.card == Cardinality::kOneToOne) {
      if (!fresh) {
        throw EvalError(
            "multiple matches for labels: many-to-one matching must be explicit "
            "(group_left/group_right)");
      }
    } else if (!group->second.insert(labelsKey(metric)).second) {
      throw EvalError("multiple matches for labels: grouping labels must ensure unique matches");
    }
    out.push_back(Sample{std::move(metric), value, ts_});
  }
  return out;
}

}  // namespace appliance::plugins::alert_evaluator::promql
