#include "metrics_text.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

namespace appliance::plugins::metrics_exporter {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";  // U+FFFD

// Length of the valid UTF-8 sequence that starts at text[i] (a byte >= 0x80), or 0 when the
// bytes there are not valid UTF-8 (overlong forms, surrogates and > U+10FFFF included).
std::size_t utf8SequenceLength(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  std::size_t length = 0;
  unsigned char low = 0x80;  // range of the first continuation byte
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    low = lead == 0xE0 ? 0xA0 : low;
    high = lead == 0xED ? 0x9F : high;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    low = lead == 0xF0 ? 0x90 : low;
    high = lead == 0xF4 ? 0x8F : high;
  } else {
    return 0;
  }
  if (i + length > text.size() || byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (std::size_t k = 2; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  }
  return length;
}

// Appends `text` with backslash, newline and (when `quote`) the double quote escaped, and
// each invalid UTF-8 byte replaced by U+FFFD. Unchanged runs are copied in one append.
void appendEscaped(std::string& out, std::string_view text, bool quote) {
  std::size_t run = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (c == '\\' || c == '\n' || (quote && c == '"')) {
        out.append(text.data() + run, i - run);
        out += '\\';
        out += c == '\n' ? 'n' : static_cast<char>(c);
        run = i + 1;
      }
      ++i;
      continue;
    }
    const std::size_t length = utf8SequenceLength(text, i);
    if (length == 0) {
      out.append(text.data() + run, i - run);
      out += kReplacementCharacter;
      run = ++i;
    } else {
      i += length;
    }
  }
  out.append(text.data() + run, text.size() - run);
}

void appendInteger(std::string& out, std::int64_t value) {
  char buffer[24];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, result.ptr);
}

std::string_view typeName(MetricType type) {
  switch (type) {
    case MetricType::Counter:
      return "counter";
    case MetricType::Gauge:
      return "gauge";
    case MetricType::Summary:
      return "summary";
    case MetricType::Histogram:
      return "histogram";
    case MetricType::Untyped:
      break;
  }
  return "untyped";
}

// The label the format itself adds to some samples of a type.
std::string_view reservedLabel(MetricType type) {
  if (type == MetricType::Histogram) return "le";
  if (type == MetricType::Summary) return "quantile";
  return {};
}

bool hasLabel(const ClientMetric& metric, std::string_view name) {
  return std::any_of(metric.label.begin(), metric.label.end(),
                     [&](const ClientMetric::Label& label) { return label.name == name; });
}

// Writes the samples of one label set. A user label named like the one the format adds is
// written as exported_<name> (prefixed again while that name is taken too), so every sample
// carries each label name once and distinct user series stay distinct.
class SampleWriter {
 public:
  SampleWriter(std::string& out, const MetricFamily& family, const ClientMetric& metric)
      : out_(out), family_(family.name), metric_(metric), reserved_(reservedLabel(family.type)) {
    if (!reserved_.empty() && hasLabel(metric, reserved_)) {
      renamed_ = "exported_";
      renamed_ += reserved_;
      while (hasLabel(metric, renamed_)) renamed_.insert(0, "exported_");
    }
  }

  template <class Value>
  void write(std::string_view suffix, Value value) {
    write(suffix, {}, 0.0, value);
  }

  // A sample with the format's own label (`le` or `quantile`) set to `extra_value`.
  template <class Value>
  void write(std::string_view suffix, std::string_view extra_label, double extra_value,
             Value value) {
    out_ += family_;
    out_ += suffix;
    appendLabels(extra_label, extra_value);
    out_ += ' ';
    appendNumber(out_, value);
    if (metric_.timestamp_ms != 0) {
      out_ += ' ';
      appendInteger(out_, metric_.timestamp_ms);
    }
    out_ += '\n';
  }

 private:
  void appendLabels(std::string_view extra_label, double extra_value) {
    if (metric_.label.empty() && extra_label.empty()) return;
    char separator = '{';
    for (const auto& label : metric_.label) {
      out_ += separator;
      separator = ',';
      out_ += (!renamed_.empty() && label.name == reserved_) ? std::string_view(renamed_)
                                                             : std::string_view(label.name);
      out_ += "=\"";
      appendLabelValue(out_, label.value);
      out_ += '"';
    }
    if (!extra_label.empty()) {
      out_ += separator;
      out_ += extra_label;
      out_ += "=\"";
      appendNumber(out_, extra_value);
      out_ += '"';
    }
    out_ += '}';
  }

  std::string& out_;
  std::string_view family_;
  const ClientMetric& metric_;
  std::string_view reserved_;
  std::string renamed_;  // empty unless a user label collides with reserved_
};

void appendSamples(std::string& out, const MetricFamily& family, const ClientMetric& metric) {
  SampleWriter writer(out, family, metric);
  switch (family.type) {
    case MetricType::Counter:
      writer.write("", metric.counter.value);
      return;
    case MetricType::Gauge:
      writer.write("", metric.gauge.value);
      return;
    case MetricType::Untyped:
      writer.write("", metric.untyped.value);
      return;
    case MetricType::Summary:
      for (const auto& quantile : metric.summary.quantile) {
        writer.write("", "quantile", quantile.quantile, quantile.value);
      }
      writer.write("_sum", metric.summary.sample_sum);
      writer.write("_count", metric.summary.sample_count);
      return;
    case MetricType::Histogram: {
      const auto& histogram = metric.histogram;
      for (const auto& bucket : histogram.bucket) {
        writer.write("_bucket", "le", bucket.upper_bound, bucket.cumulative_count);
      }
      // Prometheus computes quantiles from the +Inf bucket; a custom collector may omit it.
      if (histogram.bucket.empty() || !std::isinf(histogram.bucket.back().upper_bound)) {
        writer.write("_bucket", "le", std::numeric_limits<double>::infinity(),
                     histogram.sample_count);
      }
      writer.write("_sum", histogram.sample_sum);
      writer.write("_count", histogram.sample_count);
      return;
    }
  }
}

// Writes the `limit` lexicographically smallest label sets, in that order. Only families
// over the limit pay for the selection.
void appendTruncated(std::string& out, const MetricFamily& family, std::size_t limit) {
  std::vector<const ClientMetric*> order;
  order.reserve(family.metric.size());
  for (const auto& metric : family.metric) order.push_back(&metric);
  const auto by_labels = [](const ClientMetric* a, const ClientMetric* b) {
    return a->label < b->label;
  };
  const auto end = order.begin() + static_cast<std::ptrdiff_t>(limit);
  std::partial_sort(order.begin(), end, order.end(), by_labels);
  for (auto it = order.begin(); it != end; ++it) appendSamples(out, family, **it);
}

}  // namespace

void appendHelpText(std::string& out, std::string_view text) { appendEscaped(out, text, false); }

void appendLabelValue(std::string& out, std::string_view text) { appendEscaped(out, text, true); }

void appendNumber(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
  } else if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
  } else {
    // Go's strconv.FormatFloat(v, 'g', -1, 64), as client_golang writes: the shortest digits
    // that round-trip, in exponent form when the exponent is < -4 or >= 6. Matching it keeps
    // `le` label values identical to other exporters' ("0.0005", not "5e-04").
    char buffer[32];  // the longest shortest-round-trip double is 24 characters
    auto result =
        std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific);
    const char* e = std::find(buffer, result.ptr, 'e');
    int exponent = 0;
    std::from_chars(e + (e[1] == '+' ? 2 : 1), result.ptr, exponent);
    if (exponent >= -4 && exponent < 6) {
      result = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed);
    }
    out.append(buffer, result.ptr);
  }
}

void appendNumber(std::string& out, std::uint64_t value) {
  char buffer[24];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, result.ptr);
}

void appendFamily(std::string& out, const MetricFamily& family, const TextOptions& options,
                  std::vector<TruncatedFamily>* truncated) {
  if (family.metric.empty()) return;
  if (!family.help.empty()) {
    out += "# HELP ";
    out += family.name;
    out += ' ';
    appendHelpText(out, family.help);
    out += '\n';
  }
  out += "# TYPE ";
  out += family.name;
  out += ' ';
  out += typeName(family.type);
  out += '\n';

  const std::size_t limit = options.max_series_per_family;
  if (limit == 0 || family.metric.size() <= limit) {
    for (const auto& metric : family.metric) appendSamples(out, family, metric);
    return;
  }
  appendTruncated(out, family, limit);
  if (truncated != nullptr) {
    truncated->push_back({family.name, family.metric.size(), family.metric.size() - limit});
  }
}

void appendText(std::string& out, const std::vector<MetricFamily>& families,
                const TextOptions& options, std::vector<TruncatedFamily>* truncated) {
  for (const auto& family : families) appendFamily(out, family, options, truncated);
}

}  // namespace appliance::plugins::metrics_exporter
