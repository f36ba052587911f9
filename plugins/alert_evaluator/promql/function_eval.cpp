// Function evaluation, following promql/functions.go (Prometheus 2.x) operation by
// operation so that float results agree exactly.

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iterator>
#include <map>
#include <span>

#include <re2/re2.h>

#include "evaluation.h"
#include "parser.h"

namespace appliance::plugins::alert_evaluator::promql {

void kahanSumInc(double inc, double& sum, double& c) {
  const double t = sum + inc;
  if (std::fabs(sum) >= std::fabs(inc)) {
    c += (sum - t) + inc;
  } else {
    c += (inc - t) + sum;
  }
  sum = t;
}

double quantile(double q, std::vector<double> values) {
  if (values.empty() || std::isnan(q)) return NAN;
  if (q < 0) return -INFINITY;
  if (q > 1) return INFINITY;
  std::sort(values.begin(), values.end(), [](double a, double b) {
    if (std::isnan(a)) return !std::isnan(b);
    return a < b;
  });
  const double n = static_cast<double>(values.size());
  const double rank = q * (n - 1);
  const double lower = std::max(0.0, std::floor(rank));
  const double upper = std::min(n - 1, lower + 1);
  const double weight = rank - std::floor(rank);
  return values[static_cast<std::size_t>(lower)] * (1 - weight) +
         values[static_cast<std::size_t>(upper)] * weight;
}

double goMax(double a, double b) {
  if (std::isinf(a) && a > 0) return a;
  if (std::isinf(b) && b > 0) return b;
  if (std::isnan(a) || std::isnan(b)) return NAN;
  if (a == 0 && a == b) return std::signbit(a) ? b : a;
  return a > b ? a : b;
}

double goMin(double a, double b) {
  if (std::isinf(a) && a < 0) return a;
  if (std::isinf(b) && b < 0) return b;
  if (std::isnan(a) || std::isnan(b)) return NAN;
  if (a == 0 && a == b) return std::signbit(a) ? a : b;
  return a < b ? a : b;
}

namespace {

const Expr& unwrapParens(const Expr& e) {
  const Expr* p = &e;
  while (p->kind == Expr::Kind::kParen) p = p->args[0].get();
  return *p;
}

// rate, increase and delta: promql/functions.go extrapolatedRate.
bool extrapolatedRate(std::span<const Point> points, std::int64_t range_start,
                      std::int64_t range_end, double range_seconds, bool is_counter, bool is_rate,
                      double& out) {
  if (points.size() < 2) return false;
  const Point& first = points.front();
  const Point& last = points.back();
  double result = last.v - first.v;
  if (is_counter) {
    double prev = first.v;
    for (std::size_t i = 1; i < points.size(); ++i) {
      if (points[i].v < prev) result += prev;
      prev = points[i].v;
    }
  }
  double to_start = static_cast<double>(first.t - range_start) / 1000;
  const double to_end = static_cast<double>(range_end - last.t) / 1000;
  const double sampled = static_cast<double>(last.t - first.t) / 1000;
  const double average = sampled / static_cast<double>(points.size() - 1);
  if (is_counter && result > 0 && first.v >= 0) {
    const double to_zero = sampled * (first.v / result);
    if (to_zero < to_start) to_start = to_zero;
  }
  const double threshold = average * 1.1;
  double interval = sampled;
  interval += to_start < threshold ? to_start : average / 2;
  interval += to_end < threshold ? to_end : average / 2;
  double factor = interval / sampled;
  if (is_rate) factor /= range_seconds;
  out = result * factor;
  return true;
}

// irate and idelta: the last two samples.
bool instantValue(std::span<const Point> points, bool is_rate, double& out) {
  if (points.size() < 2) return false;
  const Point& last = points[points.size() - 1];
  const Point& prev = points[points.size() - 2];
  double result = (is_rate && last.v < prev.v) ? last.v : last.v - prev.v;
  const std::int64_t interval = last.t - prev.t;
  if (interval == 0) return false;
  if (is_rate) result /= static_cast<double>(interval) / 1000;
  out = result;
  return true;
}

void linearRegression(std::span<const Point> points, std::int64_t intercept_time, double& slope,
                      double& intercept) {
  double n = 0, sum_x = 0, c_x = 0, sum_y = 0, c_y = 0, sum_xy = 0, c_xy = 0, sum_x2 = 0, c_x2 = 0;
  const double init_y = points[0].v;
  bool const_y = true;
  for (std::size_t i = 0; i < points.size(); ++i) {
    const double v = points[i].v;
    if (const_y && i > 0 && v != init_y) const_y = false;
    n += 1.0;
    const double x = static_cast<double>(points[i].t - intercept_time) / 1e3;
    kahanSumInc(x, sum_x, c_x);
    kahanSumInc(v, sum_y, c_y);
    kahanSumInc(x * v, sum_xy, c_xy);
    kahanSumInc(x * x, sum_x2, c_x2);
  }
  if (const_y) {
    if (std::isinf(init_y)) {
      slope = intercept = NAN;
    } else {
      slope = 0;
      intercept = init_y;
    }
    return;
  }
  sum_x += c_x;
  sum_y += c_y;
  sum_xy += c_xy;
  sum_x2 += c_x2;
  const double cov_xy = sum_xy - sum_x * sum_y / n;
  const double var_x = sum_x2 - sum_x * sum_x / n;
  slope = cov_xy / var_x;
  intercept = sum_y / n - slope * sum_x / n;
}

double avgOverTime(std::span<const Point> points) {
  double mean = 0, count = 0, c = 0;
  for (const auto& p : points) {
    count++;
    if (std::isinf(mean)) {
      if (std::isinf(p.v) && (mean > 0) == (p.v > 0)) continue;
      if (!std::isinf(p.v) && !std::isnan(p.v)) continue;
    }
    kahanSumInc(p.v / count - mean / count, mean, c);
  }
  return std::isinf(mean) ? mean : mean + c;
}

double stdvarOverTime(std::span<const Point> points) {
  double count = 0, mean = 0, c_mean = 0, aux = 0, c_aux = 0;
  for (const auto& p : points) {
    count++;
    const double delta = p.v - (mean + c_mean);
    kahanSumInc(delta / count, mean, c_mean);
    kahanSumInc(delta * (p.v - (mean + c_mean)), aux, c_aux);
  }
  return (aux + c_aux) / count;
}

// One output value for one series' window; false drops the series.
bool rangeFunction(FunctionId id, std::span<const Point> pts, const Expr& selector, std::int64_t ts,
                   double param, double& out) {
  const std::int64_t range_end = ts - selector.offset_ms;
  const std::int64_t range_start = range_end - selector.range_ms;
  const double range_seconds = static_cast<double>(selector.range_ms) / 1000;
  switch (id) {
    case FunctionId::kRate:
      return extrapolatedRate(pts, range_start, range_end, range_seconds, true, true, out);
    case FunctionId::kIncrease:
      return extrapolatedRate(pts, range_start, range_end, range_seconds, true, false, out);
    case FunctionId::kDelta:
      return extrapolatedRate(pts, range_start, range_end, range_seconds, false, false, out);
    case FunctionId::kIrate:
      return instantValue(pts, true, out);
    case FunctionId::kIdelta:
      return instantValue(pts, false, out);
    case FunctionId::kDeriv:
    case FunctionId::kPredictLinear: {
      if (pts.size() < 2) return false;
      double slope = 0, intercept = 0;
      if (id == FunctionId::kDeriv) {
        linearRegression(pts, pts[0].t, slope, intercept);
        out = slope;
      } else {
        linearRegression(pts, ts, slope, intercept);
        out = slope * param + intercept;
      }
      return true;
    }
    case FunctionId::kResets:
    case FunctionId::kChanges: {
      int n = 0;
      for (std::size_t i = 1; i < pts.size(); ++i) {
        const double prev = pts[i - 1].v, cur = pts[i].v;
        if (id == FunctionId::kResets ? cur < prev
                                      : (cur != prev && !(std::isnan(cur) && std::isnan(prev)))) {
          ++n;
        }
      }
      out = n;
      return true;
    }
    case FunctionId::kAvgOverTime:
      out = avgOverTime(pts);
      return true;
    case FunctionId::kMinOverTime:
    case FunctionId::kMaxOverTime: {
      out = pts[0].v;
      for (const auto& p : pts) {
        const bool better = id == FunctionId::kMinOverTime ? p.v < out : p.v > out;
        if (better || std::isnan(out)) out = p.v;
      }
      return true;
    }
    case FunctionId::kSumOverTime: {
      double sum = 0, c = 0;
      for (const auto& p : pts) kahanSumInc(p.v, sum, c);
      out = std::isinf(sum) ? sum : sum + c;
      return true;
    }
    case FunctionId::kCountOverTime:
      out = static_cast<double>(pts.size());
      return true;
    case FunctionId::kLastOverTime:
      out = pts.back().v;
      return true;
    case FunctionId::kPresentOverTime:
      out = 1;
      return true;
    case FunctionId::kQuantileOverTime: {
      std::vector<double> values;
      for (const auto& p : pts) values.push_back(p.v);
      out = quantile(param, std::move(values));
      return true;
    }
    case FunctionId::kStdvarOverTime:
      out = stdvarOverTime(pts);
      return true;
    case FunctionId::kStddevOverTime:
      out = std::sqrt(stdvarOverTime(pts));
      return true;
    default:
      return false;
  }
}

// Labels absent() and absent_over_time() give their one sample: the selector's equality
// matchers, except names matched more than once or otherwise. Like Prometheus, a
// parenthesised argument gives no labels.
Labels absentLabels(const Expr& e) {
  if (e.kind != Expr::Kind::kVectorSelector && e.kind != Expr::Kind::kMatrixSelector) return {};
  Labels out;
  std::map<std::string, bool> has;
  for (const auto& m : e.matchers) {
    if (m.name == kMetricNameLabel) continue;
    if (m.op == MatchOp::kEqual && !has[m.name]) {
      out.set(m.name, m.value);
      has[m.name] = true;
    } else {
      out.erase(m.name);
    }
  }
  return out;
}

}  // namespace

Value Evaluation::call(const Expr& e) {
  const FunctionDef& def = *e.function;
  Value out;
  if (def.id == FunctionId::kTime) {
    out.type = ValueType::kScalar;
    out.scalar = static_cast<double>(ts_) / 1000;
    return out;
  }
  std::vector<Value> args;
  for (std::size_t i = 0; i < e.args.size(); ++i) {
    const Expr& arg = unwrapParens(*e.args[i]);
    const bool raw_time =
        def.id == FunctionId::kTimestamp && arg.kind == Expr::Kind::kVectorSelector;
    if (raw_time) {
      Value v;
      v.vector = selectInstant(arg, true);
      args.push_back(std::move(v));
    } else if (arg.kind == Expr::Kind::kMatrixSelector) {
      // Range functions read the windows in place (callRangeFunction): no copy of the points.
      Value v;
      v.type = ValueType::kMatrix;
      args.push_back(std::move(v));
    } else {
      args.push_back(eval(*e.args[i]));
    }
  }
  if (def.id == FunctionId::kScalar) {
    out.type = ValueType::kScalar;
    out.scalar = args[0].vector.size() == 1 ? args[0].vector[0].v : NAN;
    return out;
  }
  const bool has_matrix = std::any_of(def.args.begin(), def.args.end(),
                                      [](ValueType t) { return t == ValueType::kMatrix; });
  out.vector = has_matrix ? callRangeFunction(e, args) : callVectorFunction(e, args);
  // A range function gives one sample per distinct series of its selector: they stay
  // distinct when the name is kept, or when the selector names one metric (so dropping the
  // name drops the same label from all).
  bool distinct = false;
  if (has_matrix) {
    for (std::size_t i = 0; i < args.size(); ++i) {
      if (args[i].type != ValueType::kMatrix) continue;
      const Expr& selector = unwrapParens(*e.args[i]);
      distinct = def.id == FunctionId::kLastOverTime || def.id == FunctionId::kAbsentOverTime ||
                 std::any_of(selector.matchers.begin(), selector.matchers.end(),
                             [](const LabelMatcher& m) {
                               return m.name == kMetricNameLabel && m.op == MatchOp::kEqual;
                             });
    }
  }
  if (!distinct) checkNoDuplicates(out.vector);
  return out;
}

Vector Evaluation::callRangeFunction(const Expr& e, std::vector<Value>& args) {
  const FunctionId id = e.function->id;
  std::size_t matrix_index = 0;
  double param = 0;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i].type == ValueType::kMatrix) matrix_index = i;
    if (args[i].type == ValueType::kScalar) param = args[i].scalar;
  }
  // As selectRange: the closed window [t - offset - range, t - offset], stale markers
  // skipped, series without samples in it left out; but read where the store keeps it.
  const Expr& selector = unwrapParens(*e.args[matrix_index]);
  const std::int64_t maxt = ts_ - selector.offset_ms;
  const std::int64_t mint = maxt - selector.range_ms;
  const auto selected = store_.select(selector.matchers);
  Vector out;
  if (id != FunctionId::kAbsentOverTime) out.reserve(selected.size());
  std::vector<Point> without_stale;  // only for a window holding a stale marker
  bool any = false;
  for (const Series* s : selected) {
    auto first = std::lower_bound(s->points.begin(), s->points.end(), mint,
                                  [](const Point& p, std::int64_t t) { return p.t < t; });
    auto last = std::upper_bound(first, s->points.end(), maxt,
                                 [](std::int64_t t, const Point& p) { return t < p.t; });
    std::span<const Point> window(first, last);
    if (std::any_of(first, last, [](const Point& p) { return isStaleNaN(p.v); })) {
      without_stale.clear();
      std::copy_if(first, last, std::back_inserter(without_stale),
                   [](const Point& p) { return !isStaleNaN(p.v); });
      window = without_stale;
    }
    if (window.empty()) continue;
    any = true;
    if (id == FunctionId::kAbsentOverTime) break;
    double value = 0;
    if (!rangeFunction(id, window, selector, ts_, param, value)) continue;
    Labels labels = id == FunctionId::kLastOverTime ? s->labels : s->labels.withoutName();
    out.push_back(Sample{std::move(labels), value, ts_});
  }
  if (id == FunctionId::kAbsentOverTime && !any) {
    out.push_back(Sample{absentLabels(*e.args[matrix_index]), 1, ts_});
  }
  return out;
}

namespace {

double mathFunction(FunctionId id, double v) {
  switch (id) {
    case FunctionId::kAbs:
      return std::fabs(v);
    case FunctionId::kCeil:
      return std::ceil(v);
    case FunctionId::kFloor:
      return std::floor(v);
    case FunctionId::kExp:
      return std::exp(v);
    case FunctionId::kLn:
      return std::log(v);
    case FunctionId::kLog2:
      return std::log2(v);
    case FunctionId::kLog10:
      return std::log10(v);
    case FunctionId::kSqrt:
      return std::sqrt(v);
    case FunctionId::kSgn:
      return v < 0 ? -1 : (v > 0 ? 1 : v);
    default:
      return v;
  }
}

struct Bucket {
  double upper;
  double count;
};

double bucketQuantile(double q, std::vector<Bucket> buckets) {
  if (std::isnan(q)) return NAN;
  if (q < 0) return -INFINITY;
  if (q > 1) return INFINITY;
  std::sort(buckets.begin(), buckets.end(),
            [](const Bucket& a, const Bucket& b) { return a.upper < b.upper; });
  if (!std::isinf(buckets.back().upper) || buckets.back().upper < 0) return NAN;
  std::vector<Bucket> merged;  // coalesce equal bounds
  for (const auto& b : buckets) {
    if (!merged.empty() && merged.back().upper == b.upper) {
      merged.back().count += b.count;
    } else {
      merged.push_back(b);
    }
  }
  double max = merged[0].count;  // ensure monotonic
  for (std::size_t i = 1; i < merged.size(); ++i) {
    if (merged[i].count > max)
      max = merged[i].count;
    else if (merged[i].count < max)
      merged[i].count = max;
  }
  if (merged.size() < 2) return NAN;
  const double observations = merged.back().count;
  if (observations == 0) return NAN;
  double rank = q * observations;
  std::size_t b = 0;
  while (b < merged.size() - 1 && !(merged[b].count >= rank)) ++b;
  if (b == merged.size() - 1) return merged[merged.size() - 2].upper;
  if (b == 0 && merged[0].upper <= 0) return merged[0].upper;
  double start = 0;
  const double end = merged[b].upper;
  double count = merged[b].count;
  if (b > 0) {
    start = merged[b - 1].upper;
    count -= merged[b - 1].count;
    rank -= merged[b - 1].count;
  }
  return start + (end - start) * (rank / count);
}

// Go's strconv.ParseFloat for the le label (strtod accepts the same spellings Prometheus
// writes: decimals, exponents, +Inf).
bool parseFloat(std::string_view text, double& out) {
  if (text.empty()) return false;
  const std::string s(text);
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

Vector histogramQuantile(double q, const Vector& input, std::int64_t ts) {
  std::map<Labels, std::vector<Bucket>> groups;  // key: labels without le
  for (const auto& s : input) {
    double upper = 0;
    if (!parseFloat(s.labels.get("le"), upper)) continue;
    Labels key = s.labels;
    key.erase("le");
    groups[key].push_back(Bucket{upper, s.v});
  }
  Vector out;
  for (auto& [key, buckets] : groups) {
    out.push_back(Sample{key.withoutName(), bucketQuantile(q, std::move(buckets)), ts});
  }
  return out;
}

// Go's regexp.Expand: $1, ${1}, $name, ${name}; a name that is no group expands to "".
std::string expandTemplate(const std::string& repl, const re2::RE2& re,
                           const std::vector<re2::StringPiece>& groups) {
  std::string out;
  for (std::size_t i = 0; i < repl.size(); ++i) {
    if (repl[i] != '$' || i + 1 >= repl.size()) {
      out += repl[i];
      continue;
    }
    if (repl[i + 1] == '$') {
      out += '$';
      ++i;
      continue;
    }
    std::string name;
    std::size_t j = i + 1;
    if (repl[j] == '{') {
      const auto close = repl.find('}', j);
      if (close == std::string::npos) {
        out += repl[i];
        continue;
      }
      name = repl.substr(j + 1, close - j - 1);
      j = close + 1;
    } else {
      while (j < repl.size() &&
             (std::isalnum(static_cast<unsigned char>(repl[j])) || repl[j] == '_')) {
        name += repl[j++];
      }
    }
    if (name.empty()) {
      out += repl[i];
      continue;
    }
    std::size_t group = groups.size();
    if (std::all_of(name.begin(), name.end(),
                    [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
      if (name.size() < 6) group = static_cast<std::size_t>(std::stoul(name));
    } else if (auto named = re.NamedCapturingGroups().find(name);
               named != re.NamedCapturingGroups().end()) {
      group = static_cast<std::size_t>(named->second);
    }
    if (group < groups.size() && groups[group].data() != nullptr) {
      out.append(groups[group].data(), groups[group].size());
    }
    i = j - 1;
  }
  return out;
}

Vector labelReplace(const Expr& e, Vector input) {
  const std::string& dst = e.args[1]->text;
  const std::string& repl = e.args[2]->text;
  const std::string& src = e.args[3]->text;
  const re2::RE2& re = *e.regex;  // compiled by the parser
  std::vector<re2::StringPiece> groups(static_cast<std::size_t>(re.NumberOfCapturingGroups()) + 1);
  for (auto& s : input) {
    const std::string value(s.labels.get(src));
    if (!re.Match(value, 0, value.size(), re2::RE2::ANCHOR_BOTH, groups.data(),
                  static_cast<int>(groups.size()))) {
      continue;
    }
    s.labels.set(dst, expandTemplate(repl, re, groups));
  }
  return input;
}

Vector labelJoin(const Expr& e, Vector input) {
  const std::string& dst = e.args[1]->text;
  const std::string& sep = e.args[2]->text;
  for (auto& s : input) {
    std::string joined;
    for (std::size_t i = 3; i < e.args.size(); ++i) {
      if (i > 3) joined += sep;
      joined += s.labels.get(e.args[i]->text);
    }
    s.labels.set(dst, joined);
  }
  return input;
}

}  // namespace

Vector Evaluation::callVectorFunction(const Expr& e, std::vector<Value>& args) {
  const FunctionId id = e.function->id;
  Vector out;
  auto scalar = [&](std::size_t i) { return args[i].scalar; };
  switch (id) {
    case FunctionId::kVector:
      out.push_back(Sample{Labels{}, scalar(0), ts_});
      return out;
    case FunctionId::kAbsent:
      if (args[0].vector.empty()) out.push_back(Sample{absentLabels(*e.args[0]), 1, ts_});
      return out;
    case FunctionId::kHistogramQuantile:
      return histogramQuantile(scalar(0), args[1].vector, ts_);
    case FunctionId::kLabelReplace:
      return labelReplace(e, std::move(args[0].vector));
    case FunctionId::kLabelJoin:
      return labelJoin(e, std::move(args[0].vector));
    case FunctionId::kSort:
    case FunctionId::kSortDesc:
      out = std::move(args[0].vector);
      std::stable_sort(out.begin(), out.end(), [id](const Sample& a, const Sample& b) {
        if (std::isnan(a.v) != std::isnan(b.v)) return std::isnan(a.v) == (id == FunctionId::kSort);
        return id == FunctionId::kSort ? a.v < b.v : a.v > b.v;
      });
      return out;
    case FunctionId::kClamp:
      if (scalar(2) < scalar(1)) return out;
      break;
    default:
      break;
  }
  for (auto& s : args[0].vector) {
    double v = s.v;
    switch (id) {
      case FunctionId::kClamp:
        v = goMax(scalar(1), goMin(scalar(2), v));
        break;
      case FunctionId::kClampMin:
        v = goMax(scalar(1), v);
        break;
      case FunctionId::kClampMax:
        v = goMin(scalar(1), v);
        break;
      case FunctionId::kRound: {
        const double inverse = 1.0 / (args.size() > 1 ? scalar(1) : 1.0);
        v = std::floor(v * inverse + 0.5) / inverse;
        break;
      }
      case FunctionId::kTimestamp:
        v = static_cast<double>(s.t) / 1000;
        break;
      default:
        v = mathFunction(id, v);
        break;
    }
    out.push_back(Sample{s.labels.withoutName(), v, ts_});
  }
  return out;
}

}  // namespace appliance::plugins::alert_evaluator::promql
