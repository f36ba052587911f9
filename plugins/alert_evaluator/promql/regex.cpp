// Label-matcher regexes. Prometheus compiles them with Go's regexp, whose syntax is RE2's,
// fully anchored as ^(?:...)$; this engine compiles the same string with RE2 itself, so the
// meaning is the same by construction, matching is linear in the input (no recursion: a long
// label value cannot exhaust the stack), and `.` matches a UTF-8 code point as in Go.

#include <re2/re2.h>

#include <string>

#include "parser.h"

namespace appliance::plugins::alert_evaluator::promql {
namespace {

// The one construct RE2 accepts and Go's regexp refuses: \C (any single byte).
bool hasAnyByteEscape(const std::string& pattern) {
  for (std::size_t i = 0; i + 1 < pattern.size(); ++i) {
    if (pattern[i] != '\\') continue;
    if (pattern[i + 1] == 'C') return true;
    ++i;  // skip the escaped character
  }
  return false;
}

}  // namespace

std::string compileRegex(const std::string& pattern, std::shared_ptr<const re2::RE2>& out) {
  if (hasAnyByteEscape(pattern)) {
    return "regex \"" + pattern + "\": the escape \\C is not supported (Go's regexp has none)";
  }
  re2::RE2::Options options;
  options.set_log_errors(false);
  options.set_encoding(re2::RE2::Options::EncodingUTF8);
  auto compiled = std::make_shared<const re2::RE2>("^(?:" + pattern + ")$", options);
  if (!compiled->ok()) {
    return "invalid regex \"" + pattern + "\": " + compiled->error();
  }
  out = std::move(compiled);
  return "";
}

}  // namespace appliance::plugins::alert_evaluator::promql
