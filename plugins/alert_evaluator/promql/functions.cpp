#include "functions.h"

#include <array>

namespace appliance::plugins::alert_evaluator::promql {
namespace {

constexpr ValueType S = ValueType::kScalar;
constexpr ValueType V = ValueType::kVector;
constexpr ValueType M = ValueType::kMatrix;
constexpr ValueType T = ValueType::kString;

const std::vector<FunctionDef>& table() {
  static const std::vector<FunctionDef> kTable{
      {"abs", FunctionId::kAbs, {V}},
      {"ceil", FunctionId::kCeil, {V}},
      {"floor", FunctionId::kFloor, {V}},
      {"exp", FunctionId::kExp, {V}},
      {"ln", FunctionId::kLn, {V}},
      {"log2", FunctionId::kLog2, {V}},
      {"log10", FunctionId::kLog10, {V}},
      {"sqrt", FunctionId::kSqrt, {V}},
      {"sgn", FunctionId::kSgn, {V}},
      {"round", FunctionId::kRound, {V, S}, 1},
      {"clamp", FunctionId::kClamp, {V, S, S}},
      {"clamp_min", FunctionId::kClampMin, {V, S}},
      {"clamp_max", FunctionId::kClampMax, {V, S}},
      {"rate", FunctionId::kRate, {M}},
      {"irate", FunctionId::kIrate, {M}},
      {"increase", FunctionId::kIncrease, {M}},
      {"delta", FunctionId::kDelta, {M}},
      {"idelta", FunctionId::kIdelta, {M}},
      {"resets", FunctionId::kResets, {M}},
      {"changes", FunctionId::kChanges, {M}},
      {"deriv", FunctionId::kDeriv, {M}},
      {"predict_linear", FunctionId::kPredictLinear, {M, S}},
      {"avg_over_time", FunctionId::kAvgOverTime, {M}},
      {"min_over_time", FunctionId::kMinOverTime, {M}},
      {"max_over_time", FunctionId::kMaxOverTime, {M}},
      {"sum_over_time", FunctionId::kSumOverTime, {M}},
      {"count_over_time", FunctionId::kCountOverTime, {M}},
      {"last_over_time", FunctionId::kLastOverTime, {M}},
      {"present_over_time", FunctionId::kPresentOverTime, {M}},
      {"quantile_over_time", FunctionId::kQuantileOverTime, {S, M}},
      {"stddev_over_time", FunctionId::kStddevOverTime, {M}},
      {"stdvar_over_time", FunctionId::kStdvarOverTime, {M}},
      {"absent", FunctionId::kAbsent, {V}},
      {"absent_over_time", FunctionId::kAbsentOverTime, {M}},
      {"histogram_quantile", FunctionId::kHistogramQuantile, {S, V}},
      {"time", FunctionId::kTime, {}, 0, false, S},
      {"vector", FunctionId::kVector, {S}},
      {"scalar", FunctionId::kScalar, {V}, 0, false, S},
      {"label_replace", FunctionId::kLabelReplace, {V, T, T, T, T}},
      {"label_join", FunctionId::kLabelJoin, {V, T, T, T}, 1, true},
      {"timestamp", FunctionId::kTimestamp, {V}},
      {"sort", FunctionId::kSort, {V}},
      {"sort_desc", FunctionId::kSortDesc, {V}},
  };
  return kTable;
}

}  // namespace

const FunctionDef* findFunction(std::string_view name) {
  for (const auto& def : table()) {
    if (def.name == name) return &def;
  }
  return nullptr;
}

bool isKnownUnsupportedFunction(std::string_view name) {
  static constexpr std::array<std::string_view, 24> kKnown{
      "acos", "acosh",        "asin",         "asinh",       "atan",        "atanh",
      "cos",  "cosh",         "day_of_month", "day_of_week", "day_of_year", "days_in_month",
      "deg",  "holt_winters", "hour",         "minute",      "month",       "pi",
      "rad",  "sin",          "sinh",         "tan",         "tanh",        "year"};
  for (auto known : kKnown) {
    if (known == name) return true;
  }
  return name.starts_with("histogram_");
}

}  // namespace appliance::plugins::alert_evaluator::promql
