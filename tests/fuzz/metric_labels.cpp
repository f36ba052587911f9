// Fuzz target: the metrics exporter's exposition text (metrics_text.h), which writes label
// values and HELP text that may come from anywhere (a route, a plugin's metric help).
//
// Input: one flags byte (metric type, whether a user label collides with the format's own
// `le`/`quantile`), then the HELP text, a NUL byte, and the label value. Invariants: every
// escaped string is one line that unescapes to the input (valid UTF-8) or to valid UTF-8
// (invalid input); a whole family parses back line by line as Prometheus reads it, with the
// expected samples, each label name once; numbers parse back to the same double.

#include <prometheus/metric_family.h>

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fuzz_check.h"
#include "metrics_text.h"
#include "utf8.h"

namespace mx = appliance::plugins::metrics_exporter;

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

constexpr std::string_view kFamily = "fuzz_metric";
constexpr std::string_view kUserLabel = "path";

// Undoes the format's escapes (\\, \n and, in label values, \"); false on anything else,
// including an unescaped quote in a label value.
bool unescape(std::string_view text, bool label_value, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') return false;
    if (label_value && c == '"') return false;
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++i == text.size()) return false;
    const char e = text[i];
    if (e == 'n') {
      out += '\n';
    } else if (e == '\\' || (label_value && e == '"')) {
      out += e;
    } else {
      return false;
    }
  }
  return true;
}

// The text after escaping, as Prometheus reads it back, must be the input when that is valid
// UTF-8, else valid UTF-8 itself.
void checkEscaped(std::string_view input, std::string_view escaped, bool label_value) {
  std::string back;
  FUZZ_CHECK(unescape(escaped, label_value, back));
  FUZZ_CHECK(appliance::fuzz::isValidUtf8(back));
  if (appliance::fuzz::isValidUtf8(input)) FUZZ_CHECK(back == input);
}

bool parseNumber(std::string_view text, double& value) {
  if (text == "NaN") {
    value = std::nan("");
    return true;
  }
  if (text == "+Inf" || text == "-Inf") {
    value = text[0] == '+' ? HUGE_VAL : -HUGE_VAL;
    return true;
  }
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size();
}

void checkNumber(double value) {
  std::string text;
  mx::appendNumber(text, value);
  double back = 0;
  FUZZ_CHECK(parseNumber(text, back));
  if (std::isnan(value)) {
    FUZZ_CHECK(std::isnan(back));
  } else {
    FUZZ_CHECK(std::memcmp(&back, &value, sizeof value) == 0);
  }
}

struct Sample {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;  // values unescaped
};

bool isNameChar(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
         (!first && c >= '0' && c <= '9');
}

// `name{label="value",...} number [timestamp]`, as the exposition format defines a sample.
bool parseSample(std::string_view line, Sample& out) {
  std::size_t i = 0;
  while (i < line.size() && isNameChar(line[i], i == 0)) ++i;
  if (i == 0) return false;
  out.name = std::string(line.substr(0, i));
  if (i < line.size() && line[i] == '{') {
    ++i;
    while (true) {
      const std::size_t start = i;
      while (i < line.size() && isNameChar(line[i], i == start) && line[i] != ':') ++i;
      if (i == start || line.substr(i, 2) != "=\"") return false;
      std::string name(line.substr(start, i - start));
      i += 2;
      const std::size_t value_start = i;
      while (i < line.size() && line[i] != '"') i += line[i] == '\\' ? 2 : 1;
      if (i >= line.size()) return false;
      std::string value;
      if (!unescape(line.substr(value_start, i - value_start), true, value)) return false;
      out.labels.emplace_back(std::move(name), std::move(value));
      ++i;  // the closing quote
      if (i < line.size() && line[i] == ',') {
        ++i;
        continue;
      }
      if (i < line.size() && line[i] == '}') {
        ++i;
        break;
      }
      return false;
    }
  }
  if (i >= line.size() || line[i] != ' ') return false;
  const std::string_view rest = line.substr(i + 1);
  const std::size_t space = rest.find(' ');
  double value = 0;
  if (!parseNumber(rest.substr(0, space), value)) return false;
  if (space == std::string_view::npos) return true;
  std::int64_t timestamp = 0;
  const std::string_view ts = rest.substr(space + 1);
  const auto [end, ec] = std::from_chars(ts.data(), ts.data() + ts.size(), timestamp);
  return ec == std::errc() && end == ts.data() + ts.size();
}

MetricFamily makeFamily(std::uint8_t flags, std::string_view help, std::string_view value,
                        double number) {
  static constexpr MetricType kTypes[] = {MetricType::Counter, MetricType::Gauge,
                                          MetricType::Untyped, MetricType::Summary,
                                          MetricType::Histogram};
  MetricFamily family;
  family.name = std::string(kFamily);
  family.help = std::string(help);
  family.type = kTypes[flags % 5];
  ClientMetric metric;
  metric.label.push_back({std::string(kUserLabel), std::string(value)});
  if (flags & 0x08) {
    const std::string reserved = family.type == MetricType::Summary ? "quantile" : "le";
    metric.label.push_back({reserved, std::string(value)});
    if (flags & 0x10) metric.label.push_back({"exported_" + reserved, "x"});
  }
  metric.counter.value = metric.gauge.value = metric.untyped.value = number;
  metric.summary = {7, number, {{0.5, number}, {0.99, 1.0}}};
  metric.histogram = {7, number, {{3, number}, {7, 10.0}}};
  if (flags & 0x20) metric.timestamp_ms = 1764158400000;
  family.metric.push_back(std::move(metric));
  return family;
}

std::size_t expectedSamples(const MetricFamily& family) {
  const ClientMetric& metric = family.metric.front();
  switch (family.type) {
    case MetricType::Summary:
      return metric.summary.quantile.size() + 2;
    case MetricType::Histogram:
      return metric.histogram.bucket.size() + 3;  // + the +Inf bucket, _sum, _count
    default:
      return 1;
  }
}

void checkFamily(const MetricFamily& family, std::string_view value) {
  std::string text;
  mx::appendFamily(text, family, mx::TextOptions{});
  FUZZ_CHECK(!text.empty() && text.back() == '\n');
  std::vector<std::string_view> lines;
  for (std::string_view rest = text; !rest.empty();) {
    const std::size_t nl = rest.find('\n');
    lines.push_back(rest.substr(0, nl));
    rest.remove_prefix(nl + 1);
  }
  std::size_t i = 0;
  if (!family.help.empty()) {
    const std::string prefix = "# HELP " + family.name + " ";
    FUZZ_CHECK(lines[i].substr(0, prefix.size()) == prefix);
    checkEscaped(family.help, lines[i].substr(prefix.size()), false);
    ++i;
  }
  FUZZ_CHECK(i < lines.size() && lines[i].substr(0, 7) == "# TYPE ");
  ++i;
  FUZZ_CHECK(lines.size() - i == expectedSamples(family));
  for (; i < lines.size(); ++i) {
    Sample sample;
    FUZZ_CHECK(parseSample(lines[i], sample));
    FUZZ_CHECK(sample.name.substr(0, kFamily.size()) == kFamily);
    std::set<std::string> names;
    bool user_label_seen = false;
    for (const auto& [name, label_value] : sample.labels) {
      FUZZ_CHECK(names.insert(name).second);  // each label name once
      if (name == kUserLabel) {
        user_label_seen = true;
        FUZZ_CHECK(appliance::fuzz::isValidUtf8(label_value));
        if (appliance::fuzz::isValidUtf8(value)) FUZZ_CHECK(label_value == value);
      }
    }
    FUZZ_CHECK(user_label_seen);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t flags = data[0];
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::size_t nul = rest.find('\0');
  const std::string_view help = rest.substr(0, nul);
  const std::string_view value =
      nul == std::string_view::npos ? std::string_view{} : rest.substr(nul + 1);

  std::string escaped;
  mx::appendLabelValue(escaped, value);
  checkEscaped(value, escaped, true);
  escaped.clear();
  mx::appendHelpText(escaped, help);
  checkEscaped(help, escaped, false);

  double number = 1.5;
  if (value.size() >= sizeof number) std::memcpy(&number, value.data(), sizeof number);
  checkNumber(number);
  checkFamily(makeFamily(flags, help, value, number), value);
  return 0;
}
