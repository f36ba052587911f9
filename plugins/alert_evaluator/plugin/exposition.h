#pragma once
// The Prometheus text exposition format 0.0.4, parsed completely: `# HELP` (with `\\` and
// `\n` escapes) and `# TYPE` lines (counter, gauge, histogram, summary, untyped; a second TYPE
// for one name is an error, as in Prometheus), other comments ignored, samples with optional
// labels (`\\`, `\"`, `\n` escapes, a trailing comma allowed), values as Go's ParseFloat
// reads them (`NaN`, `+Inf`, `-Inf`, exponents), optional millisecond timestamps, blank
// lines, and OpenMetrics' `# EOF` tolerated (nothing after it is read). Histograms and
// summaries are their `_bucket`/`_sum`/`_count` and quantile samples. The first error ends
// parsing with the line and column. Pure function; safe from any thread.
//
// parse(text) keeps every sample; parse(text, each) hands each sample to `each` as it is read
// and keeps none (a large scrape's samples are never all in memory: the scraper validates
// the text with a no-op `each`, then reads it again straight into the store).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "promql/value.h"

namespace appliance::plugins::alert_evaluator::exposition {

struct ParsedSample {
  promql::Labels labels;  // including __name__
  double value = 0;
  std::optional<std::int64_t> timestamp_ms;
};

struct ParseResult {
  std::vector<ParsedSample> samples;         // empty when parsed with `each`
  std::size_t sample_count = 0;              // the samples read (all of them when ok())
  std::map<std::string, std::string> types;  // metric family -> type
  std::map<std::string, std::string> help;   // metric family -> unescaped help text
  std::string error;                         // "line 3, column 7: ..." ; "" when ok
  bool ok() const { return error.empty(); }
};

ParseResult parse(std::string_view text);
// The same parse, streaming: `each` sees the samples in order (up to the first error, if
// any, which then ends the parse as above); the result has types, help, sample_count and
// error, and no samples.
ParseResult parse(std::string_view text, const std::function<void(ParsedSample&)>& each);

// Go's strconv.ParseFloat for exposition values; nullopt when `text` is not a number.
std::optional<double> parseValue(std::string_view text);

}  // namespace appliance::plugins::alert_evaluator::exposition
