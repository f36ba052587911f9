#pragma once
// The PromQL parser: Prometheus's grammar and operator precedence (lowest first: or;
// and unless; comparisons; + -; * / % atan2; ^ right-associative; unary minus binds like *),
// with its type checks. What this engine cannot evaluate (subqueries, @, unknown or
// unsupported functions, regexes RE2 would read differently) is refused here with a clear
// message, so nothing unsupported is ever misread. Stateless; thread-safe.

#include <optional>
#include <string>
#include <string_view>

#include "ast.h"

namespace appliance::plugins::alert_evaluator::promql {

struct ParseError {
  std::string message;
  Position pos;
  std::string toString() const;  // "line:column: message"
};

struct ParseResult {
  ExprPtr expr;                     // set on success
  std::optional<ParseError> error;  // set on failure
  bool ok() const { return !error.has_value(); }
};

ParseResult parseExpr(std::string_view input);

// A series description as written in test files and selectors: `name{a="b"}` or `{...}`
// with only = matchers. On success fills `labels` (with __name__).
std::optional<ParseError> parseMetric(std::string_view input, Labels& labels);

// Compiles a label-matcher regex fully anchored with RE2, Prometheus's own syntax (Go's
// regexp is RE2), refusing what Go's regexp refuses. Returns an error message, or "" and
// fills `out`.
std::string compileRegex(const std::string& pattern, std::shared_ptr<const re2::RE2>& out);

}  // namespace appliance::plugins::alert_evaluator::promql
