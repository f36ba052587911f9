#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>

#include "promql/parser.h"

namespace appliance::plugins::alert_evaluator::promql {
namespace {

// The fully parenthesised form of a valid expression.
std::string parsed(std::string_view input) {
  ParseResult r = parseExpr(input);
  EXPECT_TRUE(r.ok()) << input << ": " << (r.error ? r.error->toString() : "");
  return r.ok() ? r.expr->toString() : "";
}

ParseError failure(std::string_view input) {
  ParseResult r = parseExpr(input);
  EXPECT_FALSE(r.ok()) << input << " parsed as " << (r.ok() ? r.expr->toString() : "");
  return r.error.value_or(ParseError{});
}

TEST(PromqlParser, ArithmeticPrecedenceAndAssociativity) {
  EXPECT_EQ(parsed("a + b * c"), "(a + (b * c))");
  EXPECT_EQ(parsed("a * b + c"), "((a * b) + c)");
  EXPECT_EQ(parsed("a - b - c"), "((a - b) - c)");
  EXPECT_EQ(parsed("a / b % c atan2 d"), "(((a / b) % c) atan2 d)");
  EXPECT_EQ(parsed("2 ^ 3 ^ 2"), "(2 ^ (3 ^ 2))");
  EXPECT_EQ(parsed("(a + b) * c"), "((a + b) * c)");
  EXPECT_EQ(parsed("absent((up))"), "absent((up))");
}

TEST(PromqlParser, UnaryMinusBindsLikeMultiplicationBelowPower) {
  EXPECT_EQ(parsed("-a ^ 2"), "(-(a ^ 2))");
  EXPECT_EQ(parsed("-a * b"), "((-a) * b)");
  EXPECT_EQ(parsed("-a + b"), "((-a) + b)");
  EXPECT_EQ(parsed("a * -b"), "(a * (-b))");
  EXPECT_EQ(parsed("-2"), "-2");
  EXPECT_EQ(parsed("- - 2"), "2");
}

TEST(PromqlParser, ComparisonAndSetOperatorPrecedence) {
  EXPECT_EQ(parsed("a or b and c unless d"), "(a or ((b and c) unless d))");
  EXPECT_EQ(parsed("a > b + 1 and c"), "((a > (b + 1)) and c)");
  EXPECT_EQ(parsed("a == bool b atan2 c"), "(a == bool (b atan2 c))");
  EXPECT_EQ(parsed("a AND b Or c"), "((a and b) or c)");
  EXPECT_EQ(parsed("1 - a > 0.8"), "((1 - a) > 0.8)");
}

TEST(PromqlParser, VectorMatchingModifiers) {
  EXPECT_EQ(parsed("a / on(x) group_left(y) b"), "(a / on(x) group_left(y) b)");
  EXPECT_EQ(parsed("a * ignoring(le) group_right b"), "(a * ignoring(le) group_right() b)");
  EXPECT_EQ(parsed("a and on() b"), "(a and on() b)");
  EXPECT_EQ(parsed("a > bool ignoring(i) b"), "(a > bool ignoring(i) b)");
}

TEST(PromqlParser, SelectorsAggregationsAndCalls) {
  EXPECT_EQ(parsed("{__name__=~\"a.*\", job!=\"x\"}"), "{__name__=~\"a.*\", job!=\"x\"}");
  EXPECT_EQ(parsed("up{job=\"a\",}"), "up{job=\"a\"}");
  EXPECT_EQ(parsed("x[1h30m] offset -1m"), "x[1h30m] offset -1m");
  EXPECT_EQ(parsed("x offset 5m"), "x offset 5m");
  EXPECT_EQ(parsed("sum(x) without (a, b)"), "sum without(a, b)(x)");
  EXPECT_EQ(parsed("sum by (job) (rate(x[5m])) / ignoring(le) y"),
            "(sum by(job)(rate(x[5m])) / ignoring(le) y)");
  EXPECT_EQ(parsed("topk(3, x)"), "topk(3, x)");
  EXPECT_EQ(parsed("count_values(\"v\", x)"), "count_values(\"v\", x)");
  EXPECT_EQ(parsed("label_join(x, \"d\", \",\")"), "label_join(x, \"d\", \",\")");
  EXPECT_EQ(parsed("time() - 0x10 + Inf"), "((time() - 16) + Inf)");
  EXPECT_EQ(parsed("'single' "), "\"single\"");
  EXPECT_EQ(parsed("`raw\\n`"), "\"raw\\\\n\"");
}

TEST(PromqlParser, ErrorsCarryLineAndColumn) {
  ParseError e = failure("rate(foo[5m]");
  EXPECT_EQ(e.pos.line, 1);
  EXPECT_EQ(e.pos.column, 13);
  EXPECT_NE(e.message.find("unexpected end of input"), std::string::npos) << e.message;

  e = failure("sum(\n  rate(foo[5m])\n  +\n)");
  EXPECT_EQ(e.pos.line, 4);
  EXPECT_EQ(e.pos.column, 1);
  EXPECT_EQ(e.toString().substr(0, 4), "4:1:");

  e = failure("up{job=\"a\" instance=\"b\"}");
  EXPECT_EQ(e.pos.column, 12);

  e = failure("up ==\n  \"unterminated");
  EXPECT_EQ(e.pos.line, 2);
  EXPECT_NE(e.message.find("unterminated quoted string"), std::string::npos);
}

TEST(PromqlParser, RefusesWhatTheEngineDoesNotSupport) {
  EXPECT_NE(failure("foo[5m:1m]").message.find("subqueries are not supported"), std::string::npos);
  EXPECT_NE(failure("foo @ 100").message.find("@ modifier is not supported"), std::string::npos);
  EXPECT_NE(failure("holt_winters(foo[5m], 0.5, 0.5)").message.find("not supported"),
            std::string::npos);
  EXPECT_NE(failure("histogram_count(foo)").message.find("not supported"), std::string::npos);
  EXPECT_NE(failure("nope(foo)").message.find("unknown function"), std::string::npos);
  // Go's regexp (RE2 syntax) has no backreferences, lookaround, \\C or (?<name>) groups.
  EXPECT_NE(failure("foo{a=~\"x\\\\1\"}").message.find("invalid regex"), std::string::npos);
  EXPECT_NE(failure("foo{a=~\"(?=x)\"}").message.find("invalid regex"), std::string::npos);
  EXPECT_NE(failure("foo{a=~\"a\\\\Cb\"}").message.find("\\C is not supported"), std::string::npos);
  EXPECT_NE(failure("foo{a=~\"(\"}").message.find("invalid regex"), std::string::npos);
  EXPECT_NE(
      failure("label_replace(x, \"d\", \"$1\", \"s\", \"(?<n>x)\")").message.find("invalid regex"),
      std::string::npos);
}

TEST(PromqlParser, AcceptsRe2SyntaxAsPrometheusDoes) {
  for (const char* ok : {"foo{a=~\"(?P<n>x)\"}", "foo{a=~\"\\\\pL+\"}", "foo{a=~\"(?s).\"}",
                         "foo{a=~\"(?i)ab|c\"}", "foo{a=~\"[[:alpha:]]+\"}"}) {
    EXPECT_TRUE(parseExpr(ok).ok()) << ok;
  }
}

TEST(PromqlParser, RegexMatchersAreAnchoredLinearAndCodePointBased) {
  auto parsed = parseExpr("foo{a=~\"(a|b)*\", b=~\".\", c!~\"x.*\"}");
  ASSERT_TRUE(parsed.ok());
  const auto& m = parsed.expr->matchers;
  const auto find = [&](std::string_view name) {
    return *std::find_if(m.begin(), m.end(), [&](const LabelMatcher& x) { return x.name == name; });
  };
  // std::regex recursed per character and overflowed the stack on a value this long.
  EXPECT_TRUE(find("a").matches(std::string(200'000, 'a')));
  EXPECT_FALSE(find("a").matches(std::string(200'000, 'a') + "c"));
  EXPECT_TRUE(find("b").matches("\xc3\xa9"));  // one code point, two bytes
  EXPECT_FALSE(find("b").matches("ab"));       // anchored
  EXPECT_TRUE(find("c").matches("yx"));
  EXPECT_FALSE(find("c").matches("xy"));
}

TEST(PromqlParser, TypeChecksAsPrometheus) {
  EXPECT_NE(failure("1 > 2").message.find("BOOL modifier"), std::string::npos);
  EXPECT_NE(failure("rate(foo)").message.find("expected type range vector"), std::string::npos);
  EXPECT_NE(failure("foo and 1").message.find("set operator"), std::string::npos);
  EXPECT_NE(failure("foo + on(a) 1").message.find("vector matching only allowed"),
            std::string::npos);
  EXPECT_NE(failure("foo + bool bar").message.find("bool modifier"), std::string::npos);
  EXPECT_NE(failure("foo and on(a) group_left bar").message.find("no grouping allowed"),
            std::string::npos);
  EXPECT_NE(failure("{}").message.find("non-empty matcher"), std::string::npos);
  EXPECT_NE(failure("{a=\"\"}").message.find("non-empty matcher"), std::string::npos);
  EXPECT_NE(failure("foo{__name__=\"bar\"}").message.find("set twice"), std::string::npos);
  EXPECT_NE(failure("sum(foo[5m])").message.find("aggregation expression"), std::string::npos);
  EXPECT_NE(failure("topk(\"a\", foo)").message.find("aggregation parameter"), std::string::npos);
  EXPECT_NE(failure("(foo)[5m]").message.find("ranges only allowed"), std::string::npos);
  EXPECT_NE(failure("sum(foo) offset 5m").message.find("offset modifier"), std::string::npos);
  EXPECT_NE(failure("foo offset 1m offset 2m").message.find("multiple times"), std::string::npos);
  EXPECT_NE(failure("round(foo, 1, 2)").message.find("argument(s)"), std::string::npos);
  EXPECT_NE(failure("label_replace(foo, \"1bad\", \"\", \"a\", \"\")").message.find("destination"),
            std::string::npos);
  EXPECT_NE(failure("foo[5x]").message.find("duration"), std::string::npos);
  EXPECT_NE(failure("5m").message.find("duration"), std::string::npos);
  EXPECT_NE(failure("").message.find("no expression"), std::string::npos);
  EXPECT_NE(failure("sum").message.find("unexpected"), std::string::npos);
}

// Printing a tree and parsing the print gives the same tree: the printer's parentheses
// make every precedence decision explicit, so a mistake in either shows up here.
TEST(PromqlParser, PrintedTreesParseBackToThemselves) {
  for (std::string_view input : {
           "sum by (job) (rate(http_requests_total{status=~\"5..\"}[5m])) / sum by (job) "
           "(rate(http_requests_total[5m])) > 0.1",
           "absent(up{job=\"a\"} == 1) or vector(0) unless on() -x ^ -2 ^ 3",
           "histogram_quantile(0.99, sum without (instance) (rate(h_bucket[1m] offset -30s)))",
           "a * on(i) group_left(v) b + ignoring(x) c % 2 atan2 d",
           "topk by (a) (3, x) and bottomk(1, y) or count_values(\"v\", z) != bool 1e-05",
           "label_replace(up, \"d\", \"$1\", \"s\", \"(?i)(.*)\") >= -Inf",
       }) {
    const std::string printed = parsed(input);
    EXPECT_EQ(parsed(printed), printed) << input;
  }
}

// Arbitrary input never crashes the lexer or parser (run under ASan in `make asan`); it
// parses or gives a positioned error.
TEST(PromqlParser, SurvivesArbitraryInput) {
  const std::string alphabet = "abxyz_:019.eE+-*/%^=!~<>(){}[],\"'`\\# \nofsetbyonum";
  std::mt19937 rng(42);
  for (int i = 0; i < 20000; ++i) {
    std::string input;
    const int length = static_cast<int>(rng() % 40);
    for (int k = 0; k < length; ++k) input += alphabet[rng() % alphabet.size()];
    ParseResult r = parseExpr(input);
    if (!r.ok()) {
      EXPECT_GE(r.error->pos.line, 1) << input;
      EXPECT_GE(r.error->pos.column, 1) << input;
    }
  }
}

TEST(PromqlParser, ParsesSeriesDescriptions) {
  Labels labels;
  EXPECT_FALSE(parseMetric("up{job=\"a\", instance=\"b:1\"}", labels).has_value());
  EXPECT_EQ(labels.toString(), "{__name__=\"up\", instance=\"b:1\", job=\"a\"}");
  EXPECT_TRUE(parseMetric("up{job=~\"a\"}", labels).has_value());
}

}  // namespace
}  // namespace appliance::plugins::alert_evaluator::promql
