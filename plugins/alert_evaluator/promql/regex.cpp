// Label-matcher regexes. Prometheus uses Go's RE2 syntax, fully anchored; this engine uses
// std::regex (ECMAScript) wrapped as ^(?:...)$ and refuses every construct whose meaning
// differs between the two or that one of them lacks. Known remaining difference, documented
// in the README: std::regex works on bytes, RE2 on UTF-8 code points, so `.` matches one
// byte of a multi-byte character here.

#include <cctype>
#include <regex>
#include <string>

#include "parser.h"

namespace appliance::plugins::alert_evaluator::promql {
namespace {

// Returns a refusal message for the construct at pattern[i] ('\\' or '('), or "".
std::string refusalAt(const std::string& p, std::size_t i, bool in_class) {
  if (p[i] == '\\') {
    if (i + 1 >= p.size()) return "trailing backslash";
    const char c = p[i + 1];
    if (std::isdigit(static_cast<unsigned char>(c))) {
      return "backreferences and octal escapes (\\" + std::string(1, c) + ") are not supported";
    }
    if (c == 'p' || c == 'P') return "Unicode classes (\\p, \\P) are not supported";
    if (c == 'A' || c == 'z' || c == 'Q' || c == 'E' || c == 'C') {
      return "the escape \\" + std::string(1, c) + " is not supported";
    }
    if (c == 'x' && i + 2 < p.size() && p[i + 2] == '{') {
      return "\\x{...} escapes are not supported";
    }
    return "";
  }
  if (in_class || p[i] != '(' || i + 1 >= p.size() || p[i + 1] != '?') return "";
  if (i + 2 < p.size() && p[i + 2] == ':') return "";
  if (p.compare(i, 4, "(?P<") == 0 || p.compare(i, 3, "(?<") == 0) {
    if (p.compare(i, 4, "(?<=") == 0 || p.compare(i, 4, "(?<!") == 0) {
      return "lookbehind is not supported (RE2 has none)";
    }
    return "named groups are not supported";
  }
  if (p.compare(i, 3, "(?=") == 0 || p.compare(i, 3, "(?!") == 0) {
    return "lookahead is not supported (RE2 has none)";
  }
  return "flag groups other than a leading (?i) are not supported";
}

std::string checkSyntax(const std::string& p) {
  bool in_class = false;
  for (std::size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (std::string refusal = refusalAt(p, i, in_class); !refusal.empty()) return refusal;
    if (c == '\\') {
      ++i;
    } else if (c == '[' && !in_class) {
      in_class = true;
      if (i + 1 < p.size() && p[i + 1] == '^') ++i;
      if (i + 1 < p.size() && p[i + 1] == ']') ++i;  // a leading ] is literal
    } else if (c == '[' && in_class && i + 1 < p.size() && p[i + 1] == ':') {
      const auto end = p.find(":]", i + 2);
      if (end != std::string::npos) i = end + 1;
    } else if (c == ']' && in_class) {
      in_class = false;
    }
  }
  return "";
}

}  // namespace

std::string compileRegex(const std::string& pattern, std::shared_ptr<const std::regex>& out) {
  std::string body = pattern;
  auto flags = std::regex::ECMAScript | std::regex::optimize;
  if (body.starts_with("(?i)")) {
    body = body.substr(4);
    flags |= std::regex::icase;
  }
  if (std::string refusal = checkSyntax(body); !refusal.empty()) {
    return "regex \"" + pattern + "\": " + refusal;
  }
  try {
    out = std::make_shared<const std::regex>("^(?:" + body + ")$", flags);
  } catch (const std::regex_error& e) {
    return "invalid regex \"" + pattern + "\": " + e.what();
  }
  return "";
}

}  // namespace appliance::plugins::alert_evaluator::promql
