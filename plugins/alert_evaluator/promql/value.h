#pragma once
// Values of the PromQL engine: label sets, samples, series, and the four expression result
// types (scalar, string, instant vector, range vector). Plain values; no sharing, no locking.

#include <compare>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace appliance::plugins::alert_evaluator::promql {

inline constexpr std::string_view kMetricNameLabel = "__name__";

struct Label {
  std::string name;
  std::string value;
  auto operator<=>(const Label&) const = default;
};

// A label set, sorted by name, without empty values (Prometheus treats an empty value as an
// absent label). Copies share one immutable item list (copy-on-write): the evaluator copies
// label sets for every sample it touches, and a copy must not cost an allocation. Distinct
// Labels objects may be used from different threads; one object is not thread-safe.
class Labels {
 public:
  Labels() = default;
  // Sorts `items` and drops empty values; the last of duplicate names wins.
  explicit Labels(std::vector<Label> items);

  std::string_view get(std::string_view name) const;
  bool has(std::string_view name) const { return !get(name).empty(); }
  void set(std::string_view name, std::string_view value);  // an empty value deletes
  void erase(std::string_view name) { set(name, ""); }
  Labels withoutName() const;
  // Only the listed names, or everything but the listed names.
  Labels keep(const std::vector<std::string>& names) const;
  Labels drop(const std::vector<std::string>& names) const;

  const std::vector<Label>& items() const { return items_ ? *items_ : emptyItems(); }
  bool empty() const { return !items_ || items_->empty(); }
  // {a="1", b="2"}: Prometheus's own rendering, used in messages and test output.
  std::string toString() const;
  // A hash of the names and values (equal label sets hash equally); not cached.
  std::uint64_t hash() const;

  std::strong_ordering operator<=>(const Labels& other) const {
    if (items_ == other.items_) return std::strong_ordering::equal;
    return items() <=> other.items();
  }
  bool operator==(const Labels& other) const {
    return items_ == other.items_ || items() == other.items();
  }

 private:
  static const std::vector<Label>& emptyItems();
  std::vector<Label>& mutableItems();  // clones the shared list first

  std::shared_ptr<std::vector<Label>> items_;  // null: no labels
};

// Prometheus's stale marker: a NaN with a fixed bit pattern, written when a series vanishes.
double staleNaN();
bool isStaleNaN(double v);

struct Point {
  std::int64_t t = 0;  // milliseconds since the epoch
  double v = 0;
};

struct Sample {
  Labels labels;
  double v = 0;
  std::int64_t t = 0;  // the sample's own time from a selector, else the evaluation time
};
using Vector = std::vector<Sample>;

struct Series {
  Labels labels;
  std::vector<Point> points;
};
using Matrix = std::vector<Series>;

enum class ValueType { kScalar, kString, kVector, kMatrix };
std::string_view valueTypeName(ValueType type);

struct Value {
  ValueType type = ValueType::kVector;
  double scalar = 0;
  std::string string;
  Vector vector;
  Matrix matrix;
};

// Go's %v for a float64 (shortest round-trip digits; exponent form below 1e-4 and from 1e6,
// e.g. 1.234567891e+06), as Prometheus prints {{ $value }}.
std::string formatGoFloat(double v);
// Go's strconv.FormatFloat(v, 'f', -1, 64): count_values' label values.
std::string formatGoFloatFixed(double v);

}  // namespace appliance::plugins::alert_evaluator::promql
