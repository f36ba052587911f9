#pragma once
// Prometheus durations (model.ParseDuration): units y w d h m s ms, each at most once and in
// that order, e.g. "1h30m"; "0" alone is zero. Years are 365 days.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace appliance::plugins::alert_evaluator::promql {

// Milliseconds, or nullopt when `text` is not a valid duration.
std::optional<std::int64_t> parseDuration(std::string_view text);
// The shortest spelling Prometheus prints, e.g. 90000 -> "1m30s", 0 -> "0s".
std::string formatDuration(std::int64_t ms);

}  // namespace appliance::plugins::alert_evaluator::promql
