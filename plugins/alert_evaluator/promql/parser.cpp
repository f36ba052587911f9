#include "parser.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <map>
#include <stdexcept>

#include "duration.h"
#include "functions.h"
#include "lexer.h"

namespace appliance::plugins::alert_evaluator::promql {

std::string ParseError::toString() const {
  return std::to_string(pos.line) + ":" + std::to_string(pos.column) + ": " + message;
}

namespace {

struct Failure {
  ParseError error;
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool isAggregator(const std::string& word, AggregateOp& op) {
  static const std::pair<std::string_view, AggregateOp> kOps[] = {
      {"sum", AggregateOp::kSum},           {"avg", AggregateOp::kAvg},
      {"min", AggregateOp::kMin},           {"max", AggregateOp::kMax},
      {"count", AggregateOp::kCount},       {"group", AggregateOp::kGroup},
      {"stddev", AggregateOp::kStddev},     {"stdvar", AggregateOp::kStdvar},
      {"topk", AggregateOp::kTopk},         {"bottomk", AggregateOp::kBottomk},
      {"quantile", AggregateOp::kQuantile}, {"count_values", AggregateOp::kCountValues}};
  const std::string w = lower(word);
  for (const auto& [name, value] : kOps) {
    if (name == w) {
      op = value;
      return true;
    }
  }
  return false;
}

bool isKeyword(const std::string& word) {
  static const std::string_view kKeywords[] = {"and",        "or",          "unless", "atan2",
                                               "by",         "without",     "on",     "ignoring",
                                               "group_left", "group_right", "bool",   "offset"};
  const std::string w = lower(word);
  AggregateOp op;
  return std::find(std::begin(kKeywords), std::end(kKeywords), w) != std::end(kKeywords) ||
         isAggregator(w, op);
}

bool isValidLabelName(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    if (!(std::isalpha(c) || c == '_' || (i > 0 && std::isdigit(c)))) return false;
  }
  return true;
}

// Binding strength of binary operators; 0 when the token is not one.
int precedence(const Token& t, BinaryOp& op) {
  switch (t.kind) {
    case TokenKind::kAdd:
      op = BinaryOp::kAdd;
      return 4;
    case TokenKind::kSub:
      op = BinaryOp::kSub;
      return 4;
    case TokenKind::kMul:
      op = BinaryOp::kMul;
      return 5;
    case TokenKind::kDiv:
      op = BinaryOp::kDiv;
      return 5;
    case TokenKind::kMod:
      op = BinaryOp::kMod;
      return 5;
    case TokenKind::kPow:
      op = BinaryOp::kPow;
      return 6;
    case TokenKind::kEql:
      op = BinaryOp::kEql;
      return 3;
    case TokenKind::kNeq:
      op = BinaryOp::kNeq;
      return 3;
    case TokenKind::kGtr:
      op = BinaryOp::kGtr;
      return 3;
    case TokenKind::kLss:
      op = BinaryOp::kLss;
      return 3;
    case TokenKind::kGte:
      op = BinaryOp::kGte;
      return 3;
    case TokenKind::kLte:
      op = BinaryOp::kLte;
      return 3;
    case TokenKind::kIdentifier: {
      const std::string w = lower(t.text);
      if (w == "or") {
        op = BinaryOp::kOr;
        return 1;
      }
      if (w == "and") {
        op = BinaryOp::kAnd;
        return 2;
      }
      if (w == "unless") {
        op = BinaryOp::kUnless;
        return 2;
      }
      if (w == "atan2") {
        op = BinaryOp::kAtan2;
        return 5;
      }
      return 0;
    }
    default:
      return 0;
  }
}

constexpr int kPowPrecedence = 6;

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  ExprPtr parseTop() {
    ExprPtr e = parseBinary(1);
    if (peek().kind != TokenKind::kEnd) unexpected("");
    return e;
  }

  const Token& peek(std::size_t ahead = 0) const {
    return tokens_[std::min(i_ + ahead, tokens_.size() - 1)];
  }
  const Token& take() {
    const Token& t = peek();
    if (i_ < tokens_.size() - 1) ++i_;
    return t;
  }

  [[noreturn]] static void fail(Position pos, std::string message) {
    throw Failure{ParseError{std::move(message), pos}};
  }

  [[noreturn]] void unexpected(std::string_view context) const {
    const Token& t = peek();
    std::string what = t.kind == TokenKind::kEnd
                           ? "end of input"
                           : std::string(tokenKindName(t.kind)) + " \"" + t.text + "\"";
    if (t.kind == TokenKind::kEnd) {
      fail(t.pos, "unexpected end of input" + std::string(context.empty() ? "" : " ") +
                      std::string(context));
    }
    fail(t.pos, "unexpected " + what + (context.empty() ? "" : " " + std::string(context)));
  }

  void expect(TokenKind kind, std::string_view context) {
    if (peek().kind != kind) unexpected(context);
    take();
  }

  bool peekKeyword(std::string_view word) const {
    return peek().kind == TokenKind::kIdentifier && lower(peek().text) == word;
  }

  ExprPtr parseBinary(int min_prec) {
    ExprPtr lhs = parseUnary();
    while (true) {
      BinaryOp op;
      const int prec = precedence(peek(), op);
      if (prec == 0 || prec < min_prec) return lhs;
      const Position pos = peek().pos;
      take();
      auto node = std::make_unique<Expr>();
      node->kind = Expr::Kind::kBinary;
      node->pos = pos;
      node->op = op;
      parseBinaryModifiers(*node);
      // ^ is right-associative; everything else is left-associative.
      ExprPtr rhs = parseBinary(op == BinaryOp::kPow ? prec : prec + 1);
      node->args.push_back(std::move(lhs));
      node->args.push_back(std::move(rhs));
      checkBinary(*node);
      lhs = std::move(node);
    }
  }

  void parseBinaryModifiers(Expr& node) {
    if (peekKeyword("bool")) {
      take();
      node.return_bool = true;
    }
    bool has_matching = false;
    if (peekKeyword("on") || peekKeyword("ignoring")) {
      node.matching.on = lower(take().text) == "on";
      node.matching.labels = parseLabelList();
      has_matching = true;
    }
    if (peekKeyword("group_left") || peekKeyword("group_right")) {
      const Token& t = take();
      if (!has_matching) fail(t.pos, "unexpected <group_left/group_right> without on/ignoring");
      node.matching.card =
          lower(t.text) == "group_left" ? Cardinality::kManyToOne : Cardinality::kOneToMany;
      if (peek().kind == TokenKind::kLeftParen) node.matching.include = parseLabelList();
    }
    matching_given_[&node] = has_matching;
  }

  std::vector<std::string> parseLabelList() {
    expect(TokenKind::kLeftParen, "in grouping opts, expected \"(\"");
    std::vector<std::string> names;
    while (peek().kind != TokenKind::kRightParen) {
      const Token& t = peek();
      if (t.kind != TokenKind::kIdentifier || !isValidLabelName(t.text)) {
        unexpected("in grouping opts, expected label");
      }
      names.push_back(take().text);
      if (peek().kind == TokenKind::kComma) {
        take();
      } else if (peek().kind != TokenKind::kRightParen) {
        unexpected("in grouping opts, expected \",\" or \")\"");
      }
    }
    take();
    return names;
  }

  void checkBinary(Expr& node) {
    const ValueType lt = node.args[0]->type();
    const ValueType rt = node.args[1]->type();
    const bool both_vectors = lt == ValueType::kVector && rt == ValueType::kVector;
    const std::string name(binaryOpName(node.op));
    if ((lt != ValueType::kScalar && lt != ValueType::kVector) ||
        (rt != ValueType::kScalar && rt != ValueType::kVector)) {
      fail(node.pos, "binary expression must contain only scalar and instant vector types");
    }
    if (node.return_bool && !isComparison(node.op)) {
      fail(node.pos, "bool modifier can only be used on comparison operators");
    }
    if (isComparison(node.op) && !node.return_bool && lt == ValueType::kScalar &&
        rt == ValueType::kScalar) {
      fail(node.pos, "comparisons between scalars must use BOOL modifier");
    }
    if (isSetOperator(node.op)) {
      if (!both_vectors) {
        fail(node.pos, "set operator \"" + name + "\" not allowed in binary scalar expression");
      }
      if (node.matching.card != Cardinality::kOneToOne) {
        fail(node.pos, "no grouping allowed for \"" + name + "\" operation");
      }
      node.matching.card = Cardinality::kManyToMany;
    }
    if (matching_given_[&node] && !both_vectors) {
      fail(node.pos, "vector matching only allowed between instant vectors");
    }
    if (node.matching.on) {
      for (const auto& l : node.matching.include) {
        if (std::find(node.matching.labels.begin(), node.matching.labels.end(), l) !=
            node.matching.labels.end()) {
          fail(node.pos, "label \"" + l + "\" must not occur in ON and GROUP clause at once");
        }
      }
    }
  }

  ExprPtr parseUnary() {
    const Token& t = peek();
    if (t.kind == TokenKind::kAdd || t.kind == TokenKind::kSub) {
      const Position pos = t.pos;
      const bool minus = take().kind == TokenKind::kSub;
      // Unary operators bind like *, so only ^ binds tighter: -2^2 is -(2^2).
      ExprPtr operand = parseBinary(kPowPrecedence);
      const ValueType type = operand->type();
      if (type != ValueType::kScalar && type != ValueType::kVector) {
        fail(pos, "unary expression only allowed on expressions of type scalar or instant vector");
      }
      if (operand->kind == Expr::Kind::kNumber) {
        if (minus) operand->number = -operand->number;
        operand->pos = pos;
        return operand;
      }
      auto node = std::make_unique<Expr>();
      node->kind = Expr::Kind::kUnary;
      node->pos = pos;
      node->op = minus ? BinaryOp::kSub : BinaryOp::kAdd;
      node->args.push_back(std::move(operand));
      return node;
    }
    return parsePostfix(parsePrimary());
  }

  ExprPtr parsePostfix(ExprPtr e) {
    while (true) {
      const Token& t = peek();
      if (t.kind == TokenKind::kLeftBracket) {
        e = parseRange(std::move(e));
      } else if (t.kind == TokenKind::kIdentifier && lower(t.text) == "offset") {
        parseOffset(*e);
      } else if (t.kind == TokenKind::kAt) {
        fail(t.pos, "the @ modifier is not supported by this engine");
      } else {
        return e;
      }
    }
  }

  ExprPtr parseRange(ExprPtr e) {
    const Token open = take();
    const Token& d = peek();
    if (d.kind != TokenKind::kDuration && d.kind != TokenKind::kNumber) {
      unexpected("in range, expected duration");
    }
    const auto range = parseDuration(d.text);
    if (!range) fail(d.pos, "not a valid duration string: \"" + d.text + "\"");
    take();
    if (peek().kind != TokenKind::kRightBracket) {
      fail(peek().pos, "subqueries are not supported by this engine (expected \"]\")");
    }
    take();
    if (e->kind != Expr::Kind::kVectorSelector) {
      fail(open.pos, "ranges only allowed for vector selectors");
    }
    if (e->offset_ms != 0 || offset_set_.count(e.get()) != 0) {
      fail(open.pos, "no offset modifiers allowed before range");
    }
    if (*range == 0) fail(d.pos, "range must be positive");
    e->kind = Expr::Kind::kMatrixSelector;
    e->range_ms = *range;
    return e;
  }

  void parseOffset(Expr& e) {
    const Token& kw = take();
    if (e.kind != Expr::Kind::kVectorSelector && e.kind != Expr::Kind::kMatrixSelector) {
      fail(kw.pos,
           "offset modifier must be preceded by an instant vector selector or range vector "
           "selector");
    }
    if (offset_set_.count(&e) != 0) fail(kw.pos, "offset may not be set multiple times");
    bool negative = false;
    if (peek().kind == TokenKind::kSub || peek().kind == TokenKind::kAdd) {
      negative = take().kind == TokenKind::kSub;
    }
    const Token& d = peek();
    if (d.kind != TokenKind::kDuration && d.kind != TokenKind::kNumber) {
      unexpected("in offset, expected duration");
    }
    const auto offset = parseDuration(d.text);
    if (!offset) fail(d.pos, "not a valid duration string: \"" + d.text + "\"");
    take();
    e.offset_ms = negative ? -*offset : *offset;
    offset_set_.insert({&e, true});
  }

  ExprPtr parsePrimary() {
    const Token& t = peek();
    switch (t.kind) {
      case TokenKind::kNumber:
        return parseNumber();
      case TokenKind::kString: {
        auto node = std::make_unique<Expr>();
        node->kind = Expr::Kind::kString;
        node->pos = t.pos;
        node->text = take().text;
        return node;
      }
      case TokenKind::kLeftParen: {
        auto node = std::make_unique<Expr>();
        node->kind = Expr::Kind::kParen;
        node->pos = take().pos;
        node->args.push_back(parseBinary(1));
        expect(TokenKind::kRightParen, "in paren expression, expected \")\"");
        return node;
      }
      case TokenKind::kLeftBrace:
        return parseSelector("", t.pos);
      case TokenKind::kIdentifier:
        return parseIdentifier();
      case TokenKind::kDuration:
        fail(t.pos, "unexpected duration \"" + t.text + "\"");
      default:
        unexpected("");
    }
  }

  ExprPtr parseNumber() {
    const Token& t = take();
    auto node = std::make_unique<Expr>();
    node->kind = Expr::Kind::kNumber;
    node->pos = t.pos;
    const std::string l = lower(t.text);
    if (l.starts_with("0x")) {
      node->number = static_cast<double>(std::strtoull(t.text.c_str() + 2, nullptr, 16));
    } else {
      node->number = std::strtod(t.text.c_str(), nullptr);
    }
    return node;
  }

  ExprPtr parseIdentifier() {
    const Token& t = peek();
    const std::string l = lower(t.text);
    if (l == "inf" || l == "nan") {
      auto node = std::make_unique<Expr>();
      node->kind = Expr::Kind::kNumber;
      node->pos = take().pos;
      node->number = l == "inf" ? INFINITY : NAN;
      return node;
    }
    AggregateOp agg;
    const TokenKind next = peek(1).kind;
    if (isAggregator(t.text, agg) &&
        (next == TokenKind::kLeftParen ||
         (peek(1).kind == TokenKind::kIdentifier &&
          (lower(peek(1).text) == "by" || lower(peek(1).text) == "without")))) {
      return parseAggregate(agg);
    }
    if (next == TokenKind::kLeftParen) return parseCall();
    if (isKeyword(t.text)) unexpected("");
    const Token name = take();
    return parseSelector(name.text, name.pos);
  }

  ExprPtr parseCall() {
    const Token name = take();
    const FunctionDef* def = findFunction(name.text);
    if (def == nullptr) {
      if (isKnownUnsupportedFunction(name.text)) {
        fail(name.pos, "function \"" + name.text + "\" is not supported by this engine");
      }
      fail(name.pos, "unknown function with name \"" + name.text + "\"");
    }
    auto node = std::make_unique<Expr>();
    node->kind = Expr::Kind::kCall;
    node->pos = name.pos;
    node->function = def;
    node->text = name.text;
    take();  // (
    while (peek().kind != TokenKind::kRightParen) {
      node->args.push_back(parseBinary(1));
      if (peek().kind == TokenKind::kComma) {
        take();
      } else if (peek().kind != TokenKind::kRightParen) {
        unexpected("in call to function \"" + name.text + "\", expected \",\" or \")\"");
      }
    }
    take();
    checkCall(*node);
    return node;
  }

  void checkCall(Expr& node) {
    const FunctionDef& def = *node.function;
    const std::size_t n = node.args.size();
    const std::size_t max_args = def.args.size();
    const std::size_t min_args = max_args - static_cast<std::size_t>(def.optional_args);
    const std::string name(def.name);
    if (n < min_args || (!def.variadic && n > max_args)) {
      std::string expected = std::to_string(min_args);
      if (def.variadic) {
        expected = "at least " + expected;
      } else if (max_args != min_args) {
        expected += " or " + std::to_string(max_args);
      }
      fail(node.pos, "expected " + expected + " argument(s) in call to \"" + name + "\", got " +
                         std::to_string(n));
    }
    for (std::size_t i = 0; i < n; ++i) {
      const ValueType want = def.args[std::min(i, max_args - 1)];
      const ValueType got = node.args[i]->type();
      if (want != got) {
        fail(node.args[i]->pos, "expected type " + std::string(valueTypeName(want)) +
                                    " in call to function \"" + name + "\", got " +
                                    std::string(valueTypeName(got)));
      }
    }
    if (def.id == FunctionId::kLabelReplace || def.id == FunctionId::kLabelJoin) {
      checkLabelFunction(node);
    }
  }

  // Literal arguments of label_replace/label_join are checked now, not at evaluation.
  void checkLabelFunction(Expr& node) {
    for (std::size_t i = 1; i < node.args.size(); ++i) {
      if (node.args[i]->kind != Expr::Kind::kString) {
        fail(node.args[i]->pos, "this engine needs string literals as arguments of \"" +
                                    std::string(node.function->name) + "\"");
      }
    }
    const std::string& dst = node.args[1]->text;
    if (!isValidLabelName(dst)) {
      fail(node.args[1]->pos,
           "invalid destination label name in " + std::string(node.function->name) + "(): " + dst);
    }
    if (node.function->id == FunctionId::kLabelReplace) {
      if (std::string err = compileRegex(node.args[4]->text, node.regex); !err.empty()) {
        fail(node.args[4]->pos, "label_replace(): " + err);
      }
    } else {
      for (std::size_t i = 3; i < node.args.size(); ++i) {
        if (!isValidLabelName(node.args[i]->text)) {
          fail(node.args[i]->pos,
               "invalid source label name in label_join(): " + node.args[i]->text);
        }
      }
    }
  }

  ExprPtr parseAggregate(AggregateOp op) {
    const Token name = take();
    auto node = std::make_unique<Expr>();
    node->kind = Expr::Kind::kAggregate;
    node->pos = name.pos;
    node->aggregate = op;
    node->text = lower(name.text);
    bool grouped = parseGrouping(*node);
    expect(TokenKind::kLeftParen, "in aggregation, expected \"(\"");
    const bool has_param = op == AggregateOp::kTopk || op == AggregateOp::kBottomk ||
                           op == AggregateOp::kQuantile || op == AggregateOp::kCountValues;
    if (has_param) {
      node->args.push_back(parseBinary(1));
      expect(TokenKind::kComma, "in aggregation, expected \",\"");
    }
    node->args.push_back(parseBinary(1));
    if (peek().kind == TokenKind::kComma) {
      fail(peek().pos, "wrong number of arguments for aggregate expression provided, expected " +
                           std::string(has_param ? "2" : "1"));
    }
    expect(TokenKind::kRightParen, "in aggregation, expected \")\"");
    if (!grouped) parseGrouping(*node);
    checkAggregate(*node, has_param);
    return node;
  }

  bool parseGrouping(Expr& node) {
    if (!peekKeyword("by") && !peekKeyword("without")) return false;
    node.without = lower(take().text) == "without";
    node.grouping = parseLabelList();
    return true;
  }

  void checkAggregate(const Expr& node, bool has_param) {
    const Expr& operand = *node.args.back();
    if (operand.type() != ValueType::kVector) {
      fail(operand.pos, "expected type instant vector in aggregation expression, got " +
                            std::string(valueTypeName(operand.type())));
    }
    if (!has_param) return;
    const Expr& param = *node.args.front();
    const ValueType want =
        node.aggregate == AggregateOp::kCountValues ? ValueType::kString : ValueType::kScalar;
    if (param.type() != want) {
      fail(param.pos, "expected type " + std::string(valueTypeName(want)) +
                          " in aggregation parameter, got " +
                          std::string(valueTypeName(param.type())));
    }
    if (node.aggregate == AggregateOp::kCountValues &&
        (param.kind != Expr::Kind::kString || !isValidLabelName(param.text))) {
      fail(param.pos, "count_values needs a valid label name as a string literal");
    }
  }

  ExprPtr parseSelector(const std::string& name, Position pos) {
    auto node = std::make_unique<Expr>();
    node->kind = Expr::Kind::kVectorSelector;
    node->pos = pos;
    node->text = name;
    if (peek().kind == TokenKind::kLeftBrace) {
      take();
      parseMatchers(*node);
    }
    if (!name.empty()) {
      for (const auto& m : node->matchers) {
        if (m.name == kMetricNameLabel) {
          fail(pos, "metric name must not be set twice: \"" + name + "\" or \"" + m.value + "\"");
        }
      }
      LabelMatcher m;
      m.name = std::string(kMetricNameLabel);
      m.value = name;
      node->matchers.insert(node->matchers.begin(), std::move(m));
    }
    const bool any_non_empty = std::any_of(node->matchers.begin(), node->matchers.end(),
                                           [](const LabelMatcher& m) { return !m.matches(""); });
    if (!any_non_empty) fail(pos, "vector selector must contain at least one non-empty matcher");
    return node;
  }

  void parseMatchers(Expr& node) {
    while (peek().kind != TokenKind::kRightBrace) {
      const Token& label = peek();
      if (label.kind != TokenKind::kIdentifier || !isValidLabelName(label.text)) {
        unexpected("in label matching, expected label");
      }
      LabelMatcher m;
      m.name = take().text;
      switch (peek().kind) {
        case TokenKind::kAssign:
          m.op = MatchOp::kEqual;
          break;
        case TokenKind::kNeq:
          m.op = MatchOp::kNotEqual;
          break;
        case TokenKind::kRegexMatch:
          m.op = MatchOp::kRegexMatch;
          break;
        case TokenKind::kRegexNoMatch:
          m.op = MatchOp::kRegexNoMatch;
          break;
        default:
          unexpected("in label matching, expected label matching operator");
      }
      take();
      if (peek().kind != TokenKind::kString) unexpected("in label matching, expected string");
      const Token& value = take();
      m.value = value.text;
      if (m.op == MatchOp::kRegexMatch || m.op == MatchOp::kRegexNoMatch) {
        if (std::string err = compileRegex(m.value, m.regex); !err.empty()) fail(value.pos, err);
      }
      node.matchers.push_back(std::move(m));
      if (peek().kind == TokenKind::kComma) {
        take();
      } else if (peek().kind != TokenKind::kRightBrace) {
        unexpected("in label matching, expected \",\" or \"}\"");
      }
    }
    take();
  }

 private:
  std::vector<Token> tokens_;
  std::size_t i_ = 0;
  std::map<const Expr*, bool> matching_given_;
  std::map<const Expr*, bool> offset_set_;
};

}  // namespace

ParseResult parseExpr(std::string_view input) {
  ParseResult result;
  LexResult lexed = lex(input);
  if (!lexed.error.empty()) {
    result.error = ParseError{lexed.error, lexed.error_pos};
    return result;
  }
  if (lexed.tokens.size() == 1) {
    result.error = ParseError{"no expression found in input", lexed.tokens[0].pos};
    return result;
  }
  try {
    Parser parser(std::move(lexed.tokens));
    result.expr = parser.parseTop();
  } catch (const Failure& f) {
    result.error = f.error;
  }
  return result;
}

std::optional<ParseError> parseMetric(std::string_view input, Labels& labels) {
  ParseResult parsed = parseExpr(input);
  if (!parsed.ok()) return parsed.error;
  const Expr& e = *parsed.expr;
  if (e.kind != Expr::Kind::kVectorSelector || e.offset_ms != 0) {
    return ParseError{"expected a series description like name{label=\"value\"}", e.pos};
  }
  std::vector<Label> items;
  for (const auto& m : e.matchers) {
    if (m.op != MatchOp::kEqual) {
      return ParseError{"only = is allowed in a series description", e.pos};
    }
    items.push_back(Label{m.name, m.value});
  }
  labels = Labels(std::move(items));
  return std::nullopt;
}

}  // namespace appliance::plugins::alert_evaluator::promql
