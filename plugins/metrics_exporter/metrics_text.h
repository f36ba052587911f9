#pragma once
// The Prometheus text exposition format 0.0.4, written by hand because prometheus-cpp
// 1.0.1's TextSerializer produces output that Prometheus rejects or misreads:
//   - HELP text is not escaped (a newline in it ends the line early);
//   - a user label `le` on a histogram (or `quantile` on a summary) is written next to the
//     format's own, so the sample has the label twice and the whole scrape fails;
//   - NaN is written as "Nan";
//   - label values and HELP text are not checked for valid UTF-8 (Prometheus refuses the scrape).
// Here: HELP escapes `\` and newline; label values escape `\`, `"` and newline; invalid UTF-8
// becomes U+FFFD; a user label that collides with `le`/`quantile` is written as
// `exported_le`/`exported_quantile` (Prometheus's own convention for clashing labels); numbers
// are NaN, +Inf, -Inf or the shortest round-trip decimal; a histogram always ends with an
// `le="+Inf"` bucket.
//
// Everything appends to one caller-owned string: no per-sample allocation. Stateless and
// thread-safe.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <prometheus/metric_family.h>

namespace appliance::plugins::metrics_exporter {

struct TextOptions {
  // Most label sets written per family (a histogram or summary label set counts once);
  // 0 means no limit. Over the limit, the lexicographically smallest label sets are kept so
  // that the same series survive from one scrape to the next.
  std::size_t max_series_per_family = 0;
};

// A family that had more label sets than TextOptions::max_series_per_family.
struct TruncatedFamily {
  std::string name;
  std::size_t total = 0;    // label sets the family had
  std::size_t dropped = 0;  // label sets left out of the exposition
};

// Appends every family that has at least one sample. Truncations are appended to
// `truncated` when it is not null.
void appendText(std::string& out, const std::vector<prometheus::MetricFamily>& families,
                const TextOptions& options, std::vector<TruncatedFamily>* truncated = nullptr);

// Appends one family: HELP (when not empty), TYPE, then its samples.
void appendFamily(std::string& out, const prometheus::MetricFamily& family,
                  const TextOptions& options, std::vector<TruncatedFamily>* truncated = nullptr);

// The building blocks, exposed for tests.
void appendHelpText(std::string& out, std::string_view text);    // escapes \ and newline
void appendLabelValue(std::string& out, std::string_view text);  // escapes \, " and newline
void appendNumber(std::string& out, double value);               // NaN, +Inf, -Inf, 0.25, 1e+21
void appendNumber(std::string& out, std::uint64_t value);

}  // namespace appliance::plugins::metrics_exporter
