#pragma once
// The syntax tree of a parsed PromQL expression. A tree owns its children; it is immutable
// after parsing and may be evaluated from several threads at once (regexes are compiled
// once, at parse time).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "value.h"

namespace re2 {
class RE2;
}

namespace appliance::plugins::alert_evaluator::promql {

struct Position {
  int line = 1;    // 1-based
  int column = 1;  // 1-based, in bytes
};

enum class MatchOp { kEqual, kNotEqual, kRegexMatch, kRegexNoMatch };

struct LabelMatcher {
  std::string name;
  MatchOp op = MatchOp::kEqual;
  std::string value;
  std::shared_ptr<const re2::RE2> regex;  // fully anchored; set for =~ and !~
  bool matches(std::string_view label_value) const;
};

enum class BinaryOp {
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMod,
  kPow,
  kAtan2,
  kEql,
  kNeq,
  kGtr,
  kLss,
  kGte,
  kLte,
  kAnd,
  kOr,
  kUnless
};
bool isComparison(BinaryOp op);
bool isSetOperator(BinaryOp op);
std::string_view binaryOpName(BinaryOp op);

enum class AggregateOp {
  kSum,
  kAvg,
  kMin,
  kMax,
  kCount,
  kGroup,
  kStddev,
  kStdvar,
  kTopk,
  kBottomk,
  kQuantile,
  kCountValues
};

enum class Cardinality { kOneToOne, kManyToOne, kOneToMany, kManyToMany };

struct VectorMatching {
  Cardinality card = Cardinality::kOneToOne;
  bool on = false;                   // on(...) rather than ignoring(...)
  std::vector<std::string> labels;   // the on/ignoring list
  std::vector<std::string> include;  // group_left/group_right labels
};

struct FunctionDef;

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    kNumber,
    kString,
    kVectorSelector,
    kMatrixSelector,
    kUnary,
    kBinary,
    kAggregate,
    kCall,
    kParen
  };
  Kind kind = Kind::kNumber;
  Position pos;

  double number = 0;  // kNumber
  std::string text;   // kString value; kVectorSelector/kMatrixSelector metric name ("" if none)

  // Selectors.
  std::vector<LabelMatcher> matchers;  // includes the __name__ matcher for a metric name
  std::int64_t offset_ms = 0;
  std::int64_t range_ms = 0;  // kMatrixSelector

  // kUnary (op is kSub or kAdd), kBinary, kAggregate, kCall, kParen.
  BinaryOp op = BinaryOp::kAdd;
  bool return_bool = false;
  VectorMatching matching;
  AggregateOp aggregate = AggregateOp::kSum;
  std::vector<std::string> grouping;
  bool without = false;
  const FunctionDef* function = nullptr;
  std::vector<ExprPtr> args;  // kUnary/kParen: 1; kBinary: lhs, rhs; kAggregate: [param,] expr
  std::shared_ptr<const re2::RE2> regex;  // kCall label_replace: its compiled regex

  ValueType type() const;
  std::string toString() const;
};

}  // namespace appliance::plugins::alert_evaluator::promql
