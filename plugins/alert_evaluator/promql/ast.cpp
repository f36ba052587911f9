#include "ast.h"

#include <cmath>

#include <re2/re2.h>

#include "duration.h"
#include "functions.h"

namespace appliance::plugins::alert_evaluator::promql {

bool LabelMatcher::matches(std::string_view label_value) const {
  switch (op) {
    case MatchOp::kEqual:
      return label_value == value;
    case MatchOp::kNotEqual:
      return label_value != value;
    case MatchOp::kRegexMatch:
      return re2::RE2::FullMatch(re2::StringPiece(label_value.data(), label_value.size()), *regex);
    case MatchOp::kRegexNoMatch:
      return !re2::RE2::FullMatch(re2::StringPiece(label_value.data(), label_value.size()), *regex);
  }
  return false;
}

bool isComparison(BinaryOp op) {
  return op == BinaryOp::kEql || op == BinaryOp::kNeq || op == BinaryOp::kGtr ||
         op == BinaryOp::kLss || op == BinaryOp::kGte || op == BinaryOp::kLte;
}

bool isSetOperator(BinaryOp op) {
  return op == BinaryOp::kAnd || op == BinaryOp::kOr || op == BinaryOp::kUnless;
}

std::string_view binaryOpName(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd:
      return "+";
    case BinaryOp::kSub:
      return "-";
    case BinaryOp::kMul:
      return "*";
    case BinaryOp::kDiv:
      return "/";
    case BinaryOp::kMod:
      return "%";
    case BinaryOp::kPow:
      return "^";
    case BinaryOp::kAtan2:
      return "atan2";
    case BinaryOp::kEql:
      return "==";
    case BinaryOp::kNeq:
      return "!=";
    case BinaryOp::kGtr:
      return ">";
    case BinaryOp::kLss:
      return "<";
    case BinaryOp::kGte:
      return ">=";
    case BinaryOp::kLte:
      return "<=";
    case BinaryOp::kAnd:
      return "and";
    case BinaryOp::kOr:
      return "or";
    case BinaryOp::kUnless:
      return "unless";
  }
  return "?";
}

ValueType Expr::type() const {
  switch (kind) {
    case Kind::kNumber:
      return ValueType::kScalar;
    case Kind::kString:
      return ValueType::kString;
    case Kind::kVectorSelector:
    case Kind::kAggregate:
      return ValueType::kVector;
    case Kind::kMatrixSelector:
      return ValueType::kMatrix;
    case Kind::kUnary:
    case Kind::kParen:
      return args[0]->type();
    case Kind::kBinary:
      return args[0]->type() == ValueType::kScalar && args[1]->type() == ValueType::kScalar
                 ? ValueType::kScalar
                 : ValueType::kVector;
    case Kind::kCall:
      return function->returns;
  }
  return ValueType::kVector;
}

namespace {

// A double-quoted PromQL string that reads back as `s`: quotes and backslashes escaped,
// control characters as \n, \r, \t or \xHH (a raw newline is not allowed in "...").
std::string quote(const std::string& s) {
  static const char* hex = "0123456789abcdef";
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      out += "\\x";
      out += hex[u >> 4];
      out += hex[u & 15];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string joinNames(const std::vector<std::string>& names) {
  std::string out = "(";
  for (std::size_t i = 0; i < names.size(); ++i) out += (i ? ", " : "") + names[i];
  return out + ")";
}

std::string selectorString(const Expr& e) {
  std::string out = e.text;
  std::string inner;
  for (const auto& m : e.matchers) {
    if (m.name == kMetricNameLabel && !e.text.empty()) continue;
    static const char* kOps[] = {"=", "!=", "=~", "!~"};
    inner += (inner.empty() ? "" : ", ") + m.name + kOps[static_cast<int>(m.op)] + quote(m.value);
  }
  if (!inner.empty() || e.text.empty()) out += "{" + inner + "}";
  if (e.kind == Expr::Kind::kMatrixSelector) out += "[" + formatDuration(e.range_ms) + "]";
  if (e.offset_ms != 0) out += " offset " + formatDuration(e.offset_ms);
  return out;
}

std::string binaryString(const Expr& e) {
  std::string op(binaryOpName(e.op));
  if (e.return_bool) op += " bool";
  const bool matching = e.matching.on || !e.matching.labels.empty();
  if (matching)
    op += std::string(e.matching.on ? " on" : " ignoring") + joinNames(e.matching.labels);
  if (e.matching.card == Cardinality::kManyToOne)
    op += " group_left" + joinNames(e.matching.include);
  if (e.matching.card == Cardinality::kOneToMany)
    op += " group_right" + joinNames(e.matching.include);
  return "(" + e.args[0]->toString() + " " + op + " " + e.args[1]->toString() + ")";
}

}  // namespace

// A fully parenthesised rendering: every binary and unary expression in (), so tests can
// read the precedence the parser chose.
std::string Expr::toString() const {
  switch (kind) {
    case Kind::kNumber:
      // "+Inf" would read back as unary plus, which binds looser than ^.
      return std::isinf(number) && number > 0 ? "Inf" : formatGoFloat(number);
    case Kind::kString:
      return quote(text);
    case Kind::kVectorSelector:
    case Kind::kMatrixSelector:
      return selectorString(*this);
    case Kind::kUnary:
      return std::string("(") + (op == BinaryOp::kSub ? "-" : "+") + args[0]->toString() + ")";
    case Kind::kParen: {
      // Binary and unary expressions print their own parentheses.
      const Kind inner = args[0]->kind;
      const std::string text = args[0]->toString();
      return inner == Kind::kBinary || inner == Kind::kUnary ? text : "(" + text + ")";
    }
    case Kind::kBinary:
      return binaryString(*this);
    case Kind::kCall: {
      std::string out = std::string(function->name) + "(";
      for (std::size_t i = 0; i < args.size(); ++i) out += (i ? ", " : "") + args[i]->toString();
      return out + ")";
    }
    case Kind::kAggregate: {
      std::string out = text;
      if (without || !grouping.empty()) out += (without ? " without" : " by") + joinNames(grouping);
      out += "(";
      for (std::size_t i = 0; i < args.size(); ++i) out += (i ? ", " : "") + args[i]->toString();
      return out + ")";
    }
  }
  return "";
}

}  // namespace appliance::plugins::alert_evaluator::promql
