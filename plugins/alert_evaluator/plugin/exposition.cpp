#include "exposition.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <set>

namespace appliance::plugins::alert_evaluator::exposition {
namespace {

bool isNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}
bool isNameChar(char c) { return isNameStart(c) || (c >= '0' && c <= '9'); }
bool isLabelStart(char c) { return isNameStart(c) && c != ':'; }
bool isLabelChar(char c) { return isNameChar(c) && c != ':'; }
bool isBlank(char c) { return c == ' ' || c == '\t'; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

class LineParser {
 public:
  LineParser(std::string_view line, int line_no) : line_(line), line_no_(line_no) {}

  std::string error(std::string_view what) const {
    return "line " + std::to_string(line_no_) + ", column " + std::to_string(pos_ + 1) + ": " +
           std::string(what);
  }
  void skipBlanks() {
    while (pos_ < line_.size() && isBlank(line_[pos_])) ++pos_;
  }
  bool atEnd() const { return pos_ >= line_.size(); }
  char peek() const { return atEnd() ? '\0' : line_[pos_]; }
  std::string_view name(bool label) {
    const std::size_t start = pos_;
    if (atEnd() || !(label ? isLabelStart(line_[pos_]) : isNameStart(line_[pos_]))) return {};
    ++pos_;
    while (pos_ < line_.size() && (label ? isLabelChar(line_[pos_]) : isNameChar(line_[pos_]))) {
      ++pos_;
    }
    return line_.substr(start, pos_ - start);
  }
  std::string_view token() {
    const std::size_t start = pos_;
    while (pos_ < line_.size() && !isBlank(line_[pos_])) ++pos_;
    return line_.substr(start, pos_ - start);
  }
  std::string_view rest() {
    std::string_view r = line_.substr(std::min(pos_, line_.size()));
    pos_ = line_.size();
    return r;
  }
  // A quoted label value; false with `err` set on a bad escape or a missing quote.
  bool quoted(std::string& out, std::string& err) {
    if (peek() != '"') {
      err = error("expected '\"' to start a label value");
      return false;
    }
    ++pos_;
    while (pos_ < line_.size()) {
      const char c = line_[pos_++];
      if (c == '"') return true;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= line_.size()) break;
      const char e = line_[pos_++];
      if (e == '\\')
        out += '\\';
      else if (e == '"')
        out += '"';
      else if (e == 'n')
        out += '\n';
      else {
        --pos_;
        err = error(std::string("invalid escape sequence '\\") + e + "' in a label value");
        return false;
      }
    }
    err = error("label value is not terminated by '\"'");
    return false;
  }
  std::size_t pos() const { return pos_; }
  int lineNo() const { return line_no_; }
  void advance() { ++pos_; }

 private:
  std::string_view line_;
  int line_no_;
  std::size_t pos_ = 0;
};

std::string unescapeHelp(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && (s[i + 1] == '\\' || s[i + 1] == 'n')) {
      out += s[i + 1] == 'n' ? '\n' : '\\';
      ++i;
    } else {
      out += s[i];
    }
  }
  return out;
}

// metric_name [{label="value",...}] value [timestamp]
bool parseSample(LineParser& p, std::string_view line, ParsedSample& sample, std::string& err) {
  (void)line;
  std::vector<promql::Label> labels;
  const std::string_view name = p.name(false);
  if (name.empty()) {
    err = p.error("invalid metric name");
    return false;
  }
  labels.push_back({std::string(promql::kMetricNameLabel), std::string(name)});
  std::set<std::string, std::less<>> seen;
  const std::size_t after_name = p.pos();
  p.skipBlanks();
  bool has_labels = false;
  if (p.peek() == '{') {
    has_labels = true;
    p.advance();
    for (;;) {
      p.skipBlanks();
      if (p.peek() == '}') {
        p.advance();
        break;
      }
      const std::string_view label = p.name(true);
      if (label.empty()) {
        err = p.error("invalid label name");
        return false;
      }
      p.skipBlanks();
      if (p.peek() != '=') {
        err = p.error("expected '=' after label name \"" + std::string(label) + "\"");
        return false;
      }
      p.advance();
      p.skipBlanks();
      std::string value;
      if (!p.quoted(value, err)) return false;
      if (label == promql::kMetricNameLabel || !seen.insert(std::string(label)).second) {
        err = p.error("duplicate label name \"" + std::string(label) + "\"");
        return false;
      }
      labels.push_back({std::string(label), std::move(value)});
      p.skipBlanks();
      if (p.peek() == ',') {
        p.advance();
        continue;
      }
      if (p.peek() == '}') {
        p.advance();
        break;
      }
      err = p.error("expected ',' or '}' after a label value");
      return false;
    }
  }
  if ((has_labels && !p.atEnd() && !isBlank(p.peek())) ||
      (!has_labels && p.pos() == after_name && !p.atEnd())) {
    err = p.error("expected a blank before the value");
    return false;
  }
  p.skipBlanks();
  const std::size_t value_pos = p.pos();
  const std::string_view value_text = p.token();
  const auto value = parseValue(value_text);
  if (value_text.empty() || !value) {
    err = "line " + std::to_string(p.lineNo()) + ", column " + std::to_string(value_pos + 1) +
          ": \"" + std::string(value_text) + "\" is not a valid sample value";
    return false;
  }
  sample.value = *value;
  p.skipBlanks();
  if (!p.atEnd()) {
    const std::size_t ts_pos = p.pos();
    const std::string_view ts_text = p.token();
    std::int64_t ts = 0;
    const auto [ptr, ec] = std::from_chars(ts_text.data(), ts_text.data() + ts_text.size(), ts);
    if (ec != std::errc() || ptr != ts_text.data() + ts_text.size()) {
      err = "line " + std::to_string(p.lineNo()) + ", column " + std::to_string(ts_pos + 1) +
            ": \"" + std::string(ts_text) + "\" is not a valid timestamp (integer milliseconds)";
      return false;
    }
    sample.timestamp_ms = ts;
    p.skipBlanks();
    if (!p.atEnd()) {
      err = p.error("unexpected text after the timestamp");
      return false;
    }
  }
  sample.labels = promql::Labels(std::move(labels));
  return true;
}

}  // namespace

std::optional<double> parseValue(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::string_view body = text;
  bool negative = false;
  if (body.front() == '+' || body.front() == '-') {
    negative = body.front() == '-';
    body.remove_prefix(1);
  }
  const std::string l = lower(body);
  if (l == "inf" || l == "infinity") {
    return negative ? -std::numeric_limits<double>::infinity()
                    : std::numeric_limits<double>::infinity();
  }
  if (l == "nan") {
    if (text.front() == '+' || text.front() == '-') return std::nullopt;  // Go refuses +NaN
    return std::numeric_limits<double>::quiet_NaN();
  }
  // Go accepts digits, '.', exponents and '_' only between digits with a base prefix; keep
  // to the decimal forms exporters write (and hex floats, which Go also reads).
  for (char c : body) {
    if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == 'e' || c == 'E' ||
          c == '+' || c == '-' || c == 'x' || c == 'X' || c == 'p' || c == 'P' ||
          std::isxdigit(static_cast<unsigned char>(c)))) {
      return std::nullopt;
    }
  }
  double v = 0;
  std::chars_format fmt = std::chars_format::general;
  std::string_view digits = body;
  if (l.rfind("0x", 0) == 0) {
    fmt = std::chars_format::hex;
    digits.remove_prefix(2);
  }
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v, fmt);
  if (ptr != digits.data() + digits.size()) return std::nullopt;
  if (ec == std::errc::result_out_of_range) {
    // Go returns ±Inf for overflow and 0 for underflow (with an error we ignore, as the
    // exposition parser would refuse; keep Prometheus's refusal).
    return std::nullopt;
  }
  if (ec != std::errc()) return std::nullopt;
  return negative ? -v : v;
}

ParseResult parse(std::string_view text) {
  // Lines that start like a metric name: reserving that many avoids doubling a large
  // scrape's vector (comments and blank lines do not count).
  std::size_t sample_lines = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if ((i == 0 || text[i - 1] == '\n') &&
        (std::isalpha(static_cast<unsigned char>(text[i])) || text[i] == '_' || text[i] == ':')) {
      ++sample_lines;
    }
  }
  std::vector<ParsedSample> samples;
  samples.reserve(sample_lines);
  ParseResult result =
      parse(text, [&](ParsedSample& sample) { samples.push_back(std::move(sample)); });
  result.samples = std::move(samples);
  return result;
}

ParseResult parse(std::string_view text, const std::function<void(ParsedSample&)>& each) {
  ParseResult result;
  int line_no = 0;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    const bool last = end == text.size();
    start = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    LineParser p(line, line_no);
    p.skipBlanks();
    if (p.atEnd()) {
      if (last) break;
      continue;
    }
    if (p.peek() == '#') {
      p.rest();
      LineParser c(line, line_no);
      c.skipBlanks();
      c.token();  // "#"
      c.skipBlanks();
      const std::string_view keyword = c.token();
      if (line.substr(0, 5) == "# EOF" && line.size() == 5) break;
      if (keyword != "HELP" && keyword != "TYPE") {
        if (last) break;
        continue;  // a plain comment
      }
      c.skipBlanks();
      const std::string_view metric = c.name(false);
      if (metric.empty()) {
        result.error =
            c.error(std::string("invalid metric name in ") + std::string(keyword) + " line");
        return result;
      }
      if (!c.atEnd() && !isBlank(c.peek())) {
        result.error = c.error("invalid metric name in " + std::string(keyword) + " line");
        return result;
      }
      c.skipBlanks();
      const std::string m(metric);
      if (keyword == "HELP") {
        if (result.help.count(m) != 0) {
          result.error = c.error("second HELP line for metric name \"" + m + "\"");
          return result;
        }
        result.help[m] = unescapeHelp(c.rest());
      } else {
        const std::string type(c.token());
        c.skipBlanks();
        if (!c.atEnd()) {
          result.error = c.error("unexpected text after the type in TYPE line");
          return result;
        }
        if (type != "counter" && type != "gauge" && type != "histogram" && type != "summary" &&
            type != "untyped") {
          result.error = c.error("unknown metric type \"" + type + "\"");
          return result;
        }
        if (result.types.count(m) != 0) {
          result.error = c.error("second TYPE line for metric name \"" + m + "\"");
          return result;
        }
        result.types[m] = type;
      }
      if (last) break;
      continue;
    }
    std::string err;
    ParsedSample sample;
    if (!parseSample(p, line, sample, err)) {
      result.error = std::move(err);
      return result;
    }
    ++result.sample_count;
    each(sample);
    if (last) break;
  }
  return result;
}

}  // namespace appliance::plugins::alert_evaluator::exposition
