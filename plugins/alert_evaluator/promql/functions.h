#pragma once
// The PromQL functions this engine implements, with their signatures. The parser refuses any
// other function by name, so an unsupported function never reaches evaluation.

#include <string_view>
#include <vector>

#include "value.h"

namespace appliance::plugins::alert_evaluator::promql {

enum class FunctionId {
  kAbs,
  kCeil,
  kFloor,
  kExp,
  kLn,
  kLog2,
  kLog10,
  kSqrt,
  kSgn,
  kRound,
  kClamp,
  kClampMin,
  kClampMax,
  kRate,
  kIrate,
  kIncrease,
  kDelta,
  kIdelta,
  kResets,
  kChanges,
  kDeriv,
  kPredictLinear,
  kAvgOverTime,
  kMinOverTime,
  kMaxOverTime,
  kSumOverTime,
  kCountOverTime,
  kLastOverTime,
  kPresentOverTime,
  kQuantileOverTime,
  kStddevOverTime,
  kStdvarOverTime,
  kAbsent,
  kAbsentOverTime,
  kHistogramQuantile,
  kTime,
  kVector,
  kScalar,
  kLabelReplace,
  kLabelJoin,
  kTimestamp,
  kSort,
  kSortDesc
};

struct FunctionDef {
  std::string_view name;
  FunctionId id;
  std::vector<ValueType> args;
  int optional_args = 0;  // trailing arguments that may be left out
  bool variadic = false;  // the last argument repeats (label_join's source labels)
  ValueType returns = ValueType::kVector;
};

const FunctionDef* findFunction(std::string_view name);
// True for names Prometheus knows but this engine refuses (for a clearer message).
bool isKnownUnsupportedFunction(std::string_view name);

}  // namespace appliance::plugins::alert_evaluator::promql
