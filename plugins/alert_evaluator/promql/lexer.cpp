#include "lexer.h"

#include <cctype>

namespace appliance::plugins::alert_evaluator::promql {
namespace {

bool isIdentStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':';
}
bool isIdentChar(char c) { return isIdentStart(c) || std::isdigit(static_cast<unsigned char>(c)); }
bool isDigit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

class Lexer {
 public:
  explicit Lexer(std::string_view input) : in_(input) {}

  LexResult run() {
    LexResult result;
    while (true) {
      skipSpaceAndComments();
      Token token;
      token.pos = position();
      if (i_ >= in_.size()) {
        result.tokens.push_back(token);
        return result;
      }
      if (!next(token)) {
        result.error = error_;
        result.error_pos = error_pos_.line > 0 ? error_pos_ : token.pos;
        return result;
      }
      result.tokens.push_back(std::move(token));
    }
  }

 private:
  Position position() const { return Position{line_, static_cast<int>(i_ - line_start_) + 1}; }

  void advance() {
    if (in_[i_] == '\n') {
      ++line_;
      line_start_ = i_ + 1;
    }
    ++i_;
  }

  void skipSpaceAndComments() {
    while (i_ < in_.size()) {
      const char c = in_[i_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        advance();
      } else if (c == '#') {
        while (i_ < in_.size() && in_[i_] != '\n') advance();
      } else {
        return;
      }
    }
  }

  bool fail(std::string message) {
    error_ = std::move(message);
    error_pos_ = position();
    return false;
  }

  bool next(Token& token) {
    const char c = in_[i_];
    if (isDigit(c) || (c == '.' && i_ + 1 < in_.size() && isDigit(in_[i_ + 1]))) {
      return number(token);
    }
    if (isIdentStart(c)) return identifier(token);
    if (c == '"' || c == '\'' || c == '`') return string(token);
    return punctuation(token);
  }

  bool identifier(Token& token) {
    const std::size_t start = i_;
    while (i_ < in_.size() && isIdentChar(in_[i_])) advance();
    token.kind = TokenKind::kIdentifier;
    token.text = std::string(in_.substr(start, i_ - start));
    return true;
  }

  // Numbers (decimal, hex, exponent) and durations (digits followed by a unit: 5m, 1h30m).
  bool number(Token& token) {
    const std::size_t start = i_;
    if (in_[i_] == '0' && i_ + 1 < in_.size() && (in_[i_ + 1] == 'x' || in_[i_ + 1] == 'X')) {
      advance();
      advance();
      while (i_ < in_.size() && std::isxdigit(static_cast<unsigned char>(in_[i_]))) advance();
    } else {
      while (i_ < in_.size() && isDigit(in_[i_])) advance();
      if (i_ < in_.size() && isDurationUnitStart(in_[i_]) && !isExponent()) {
        return duration(token, start);
      }
      if (i_ < in_.size() && in_[i_] == '.') {
        advance();
        while (i_ < in_.size() && isDigit(in_[i_])) advance();
      }
      if (isExponent()) {
        advance();
        if (in_[i_] == '+' || in_[i_] == '-') advance();
        while (i_ < in_.size() && isDigit(in_[i_])) advance();
      }
    }
    if (i_ < in_.size() && (isIdentChar(in_[i_]) || in_[i_] == '.')) {
      return fail("bad number or duration syntax: \"" +
                  std::string(in_.substr(start, i_ - start + 1)) + "\"");
    }
    token.kind = TokenKind::kNumber;
    token.text = std::string(in_.substr(start, i_ - start));
    return true;
  }

  bool isExponent() const {
    if (i_ >= in_.size() || (in_[i_] != 'e' && in_[i_] != 'E')) return false;
    std::size_t j = i_ + 1;
    if (j < in_.size() && (in_[j] == '+' || in_[j] == '-')) ++j;
    return j < in_.size() && isDigit(in_[j]);
  }

  static bool isDurationUnitStart(char c) {
    return c == 'y' || c == 'w' || c == 'd' || c == 'h' || c == 'm' || c == 's';
  }

  bool duration(Token& token, std::size_t start) {
    while (i_ < in_.size() &&
           (isDigit(in_[i_]) || std::isalpha(static_cast<unsigned char>(in_[i_])))) {
      advance();
    }
    token.kind = TokenKind::kDuration;
    token.text = std::string(in_.substr(start, i_ - start));
    return true;
  }

  bool string(Token& token) {
    const char quote = in_[i_];
    advance();
    std::string value;
    while (true) {
      if (i_ >= in_.size()) return fail("unterminated quoted string");
      const char c = in_[i_];
      if (c == quote) {
        advance();
        break;
      }
      if (c == '\n' && quote != '`') return fail("unterminated quoted string");
      if (c == '\\' && quote != '`') {
        advance();
        if (i_ >= in_.size()) return fail("unterminated quoted string");
        if (!escape(quote, value)) return false;
        continue;
      }
      value += c;
      advance();
    }
    token.kind = TokenKind::kString;
    token.text = std::move(value);
    return true;
  }

  // Go's string escapes (strconv.Unquote), as Prometheus uses.
  bool escape(char quote, std::string& value) {
    const char c = in_[i_];
    advance();
    switch (c) {
      case 'a':
        value += '\a';
        return true;
      case 'b':
        value += '\b';
        return true;
      case 'f':
        value += '\f';
        return true;
      case 'n':
        value += '\n';
        return true;
      case 'r':
        value += '\r';
        return true;
      case 't':
        value += '\t';
        return true;
      case 'v':
        value += '\v';
        return true;
      case '\\':
        value += '\\';
        return true;
      case 'x':
        return hexEscape(2, value);
      case 'u':
        return hexEscape(4, value);
      case 'U':
        return hexEscape(8, value);
      default:
        break;
    }
    if (c == quote) {
      value += c;
      return true;
    }
    if (c >= '0' && c <= '7') {
      int v = c - '0';
      for (int k = 0; k < 2; ++k) {
        if (i_ >= in_.size() || in_[i_] < '0' || in_[i_] > '7') {
          return fail("invalid octal escape in string");
        }
        v = v * 8 + (in_[i_] - '0');
        advance();
      }
      if (v > 255) return fail("invalid octal escape in string");
      value += static_cast<char>(v);
      return true;
    }
    return fail(std::string("unknown escape sequence \\") + c + " in string");
  }

  bool hexEscape(int digits, std::string& value) {
    unsigned long code = 0;
    for (int k = 0; k < digits; ++k) {
      if (i_ >= in_.size() || !std::isxdigit(static_cast<unsigned char>(in_[i_]))) {
        return fail("invalid hex escape in string");
      }
      const char h = static_cast<char>(std::tolower(static_cast<unsigned char>(in_[i_])));
      code = code * 16 + static_cast<unsigned long>(isDigit(h) ? h - '0' : h - 'a' + 10);
      advance();
    }
    if (digits == 2) {
      value += static_cast<char>(code);
      return true;
    }
    if (code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
      return fail("invalid unicode escape in string");
    }
    appendUtf8(code, value);
    return true;
  }

  static void appendUtf8(unsigned long code, std::string& out) {
    if (code < 0x80) {
      out += static_cast<char>(code);
    } else if (code < 0x800) {
      out += static_cast<char>(0xC0 | (code >> 6));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
      out += static_cast<char>(0xE0 | (code >> 12));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (code >> 18));
      out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    }
  }

  bool punctuation(Token& token) {
    const char c = in_[i_];
    const char n = i_ + 1 < in_.size() ? in_[i_ + 1] : '\0';
    auto emit = [&](TokenKind kind, int length) {
      token.kind = kind;
      token.text = std::string(in_.substr(i_, static_cast<std::size_t>(length)));
      for (int k = 0; k < length; ++k) advance();
      return true;
    };
    switch (c) {
      case '(':
        return emit(TokenKind::kLeftParen, 1);
      case ')':
        return emit(TokenKind::kRightParen, 1);
      case '{':
        return emit(TokenKind::kLeftBrace, 1);
      case '}':
        return emit(TokenKind::kRightBrace, 1);
      case '[':
        return emit(TokenKind::kLeftBracket, 1);
      case ']':
        return emit(TokenKind::kRightBracket, 1);
      case ',':
        return emit(TokenKind::kComma, 1);
      case '@':
        return emit(TokenKind::kAt, 1);
      case '+':
        return emit(TokenKind::kAdd, 1);
      case '-':
        return emit(TokenKind::kSub, 1);
      case '*':
        return emit(TokenKind::kMul, 1);
      case '/':
        return emit(TokenKind::kDiv, 1);
      case '%':
        return emit(TokenKind::kMod, 1);
      case '^':
        return emit(TokenKind::kPow, 1);
      case '=':
        if (n == '=') return emit(TokenKind::kEql, 2);
        if (n == '~') return emit(TokenKind::kRegexMatch, 2);
        return emit(TokenKind::kAssign, 1);
      case '!':
        if (n == '=') return emit(TokenKind::kNeq, 2);
        if (n == '~') return emit(TokenKind::kRegexNoMatch, 2);
        return fail("unexpected character after '!': '" + std::string(1, n) + "'");
      case '<':
        if (n == '=') return emit(TokenKind::kLte, 2);
        return emit(TokenKind::kLss, 1);
      case '>':
        if (n == '=') return emit(TokenKind::kGte, 2);
        return emit(TokenKind::kGtr, 1);
      default:
        break;
    }
    return fail("unexpected character: '" + std::string(1, c) + "'");
  }

  std::string_view in_;
  std::size_t i_ = 0;
  int line_ = 1;
  std::size_t line_start_ = 0;
  std::string error_;
  Position error_pos_{0, 0};
};

}  // namespace

LexResult lex(std::string_view input) { return Lexer(input).run(); }

std::string_view tokenKindName(TokenKind kind) {
  switch (kind) {
    case TokenKind::kEnd:
      return "end of input";
    case TokenKind::kIdentifier:
      return "identifier";
    case TokenKind::kNumber:
      return "number";
    case TokenKind::kDuration:
      return "duration";
    case TokenKind::kString:
      return "string";
    case TokenKind::kLeftParen:
      return "\"(\"";
    case TokenKind::kRightParen:
      return "\")\"";
    case TokenKind::kLeftBrace:
      return "\"{\"";
    case TokenKind::kRightBrace:
      return "\"}\"";
    case TokenKind::kLeftBracket:
      return "\"[\"";
    case TokenKind::kRightBracket:
      return "\"]\"";
    case TokenKind::kComma:
      return "\",\"";
    case TokenKind::kColon:
      return "\":\"";
    case TokenKind::kAt:
      return "\"@\"";
    case TokenKind::kAssign:
      return "\"=\"";
    case TokenKind::kRegexMatch:
      return "\"=~\"";
    case TokenKind::kRegexNoMatch:
      return "\"!~\"";
    default:
      return "operator";
  }
}

}  // namespace appliance::plugins::alert_evaluator::promql
