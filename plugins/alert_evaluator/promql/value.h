#pragma once
// Values of the PromQL engine: label sets, samples, series, and the four expression result
// types (scalar, string, instant vector, range vector). Plain values; no sharing, no locking.

#include <compare>
#include <cstddef>
#include <cstdint>
#include <iterator>
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

// The labels of a Labels, in name order: a view of its shared list that may leave one item
// out (withoutName() hides the metric name instead of copying the list) and may merge in a
// second shared list (with(): ALERTS{...} is its alert's labels plus two shared ones).
class LabelRange {
 public:
  class iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = Label;
    using difference_type = std::ptrdiff_t;
    using pointer = const Label*;
    using reference = const Label&;
    iterator() = default;
    iterator(const Label* a, const Label* a_end, const Label* hidden, const Label* b,
             const Label* b_end)
        : a_(hidden != nullptr && a == hidden ? a + 1 : a),
          a_end_(a_end),
          hidden_(hidden),
          b_(b),
          b_end_(b_end) {
      pick();
    }
    reference operator*() const { return *cur_; }
    pointer operator->() const { return cur_; }
    iterator& operator++() {
      if (a_ != a_end_ && cur_ == a_) {
        ++a_;
        if (a_ == hidden_) ++a_;
      } else {
        ++b_;
      }
      pick();
      return *this;
    }
    iterator operator++(int) {
      iterator old = *this;
      ++*this;
      return old;
    }
    bool operator==(const iterator& other) const { return a_ == other.a_ && b_ == other.b_; }

   private:
    void pick() {  // the current item: the smaller name of the two lists' next items
      if (a_ == a_end_) {
        cur_ = b_;
      } else if (b_ == b_end_) {
        cur_ = a_;
      } else {
        cur_ = b_->name < a_->name ? b_ : a_;
      }
    }
    const Label* a_ = nullptr;
    const Label* a_end_ = nullptr;
    const Label* hidden_ = nullptr;
    const Label* b_ = nullptr;
    const Label* b_end_ = nullptr;
    const Label* cur_ = nullptr;
  };

  LabelRange(const Label* begin, const Label* end, const Label* hidden, const Label* extra,
             const Label* extra_end)
      : begin_(begin), end_(end), hidden_(hidden), extra_(extra), extra_end_(extra_end) {}
  iterator begin() const { return iterator(begin_, end_, hidden_, extra_, extra_end_); }
  iterator end() const { return iterator(end_, end_, nullptr, extra_end_, extra_end_); }
  std::size_t size() const {
    return static_cast<std::size_t>(end_ - begin_) - (hidden_ ? 1 : 0) +
           static_cast<std::size_t>(extra_end_ - extra_);
  }
  bool empty() const { return size() == 0; }

 private:
  const Label* begin_;
  const Label* end_;
  const Label* hidden_;  // null: none hidden
  const Label* extra_;
  const Label* extra_end_;
};

class LabelMerges;

// A label set, sorted by name, without empty values (Prometheus treats an empty value as an
// absent label). Copies share one immutable item list (copy-on-write); withoutName() shares
// it too, hiding the name, and with() shares both lists: the evaluator copies label sets and
// drops metric names for every sample it touches, and neither may cost an allocation.
// Distinct Labels objects may be used from different threads; one object is not thread-safe.
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
  // These labels with every label of `extra` set on them (extra's values win). Shares both
  // lists when `extra` is a plain list and names nothing these labels' own list holds; when
  // these labels already combine two lists, the two extra lists are merged once per pair in
  // `merges` (without it, or otherwise, the result is a copy).
  Labels with(const Labels& extra, LabelMerges* merges = nullptr) const;
  // Only the listed names, or everything but the listed names.
  Labels keep(const std::vector<std::string>& names) const;
  Labels drop(const std::vector<std::string>& names) const;

  LabelRange items() const;
  bool empty() const { return items().empty(); }
  // {a="1", b="2"}: Prometheus's own rendering, used in messages and test output.
  std::string toString() const;
  // A hash of the names and values (equal label sets hash equally); not cached.
  std::uint64_t hash() const;

  std::strong_ordering operator<=>(const Labels& other) const;
  bool operator==(const Labels& other) const;

 private:
  using List = std::shared_ptr<const std::vector<Label>>;
  bool sameAs(const Labels& other) const {
    return items_ == other.items_ && hidden_ == other.hidden_ && extra_ == other.extra_;
  }

  List items_;                // null: no labels
  List extra_;                // null, or labels merged in (no name also in items_)
  std::int32_t hidden_ = -1;  // the index of an item of items_ left out, or -1
};

// Merged extra lists for Labels::with(), remembered by the pair they came from (held, so
// the addresses stay theirs): a rule's alerts, whose labels all combine the same lists,
// share one merged list. Forgets everything past 256 pairs. Not thread-safe.
class LabelMerges {
 public:
  using List = std::shared_ptr<const std::vector<Label>>;
  List find(const List& a, const List& b) const;
  void remember(List a, List b, List merged);

 private:
  struct Entry {
    List a, b, merged;
  };
  std::vector<Entry> entries_;
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
