#pragma once
// The PromQL lexer: turns an expression into tokens with line/column positions. Keywords
// are left as identifiers for the parser to recognise (they are context dependent: `on` is a
// keyword after an operator but an ordinary label name inside braces).

#include <string>
#include <string_view>
#include <vector>

#include "ast.h"

namespace appliance::plugins::alert_evaluator::promql {

enum class TokenKind {
  kEnd,
  kIdentifier,
  kNumber,
  kDuration,
  kString,
  kLeftParen,
  kRightParen,
  kLeftBrace,
  kRightBrace,
  kLeftBracket,
  kRightBracket,
  kComma,
  kColon,
  kAt,
  kAssign,
  kRegexMatch,
  kRegexNoMatch,
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMod,
  kPow,
  kEql,
  kNeq,
  kGtr,
  kLss,
  kGte,
  kLte
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string text;  // the source text; for strings, the unquoted value
  Position pos;
};

struct LexResult {
  std::vector<Token> tokens;  // ends with kEnd
  std::string error;          // empty on success
  Position error_pos;
};

LexResult lex(std::string_view input);
std::string_view tokenKindName(TokenKind kind);

}  // namespace appliance::plugins::alert_evaluator::promql
