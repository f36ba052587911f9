#pragma once
// An in-memory series store: samples (millisecond timestamps, float values, stale markers)
// per label set, kept in time order, with an inverted index (label name -> value -> series)
// so a selector costs what it matches, not what the store holds: 1,000 rules over 100,000
// series would otherwise scan every series for every selector. Not thread-safe: the owner
// serialises writes and reads.

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ast.h"
#include "value.h"

namespace appliance::plugins::alert_evaluator::promql {

class SeriesStore {
 public:
  SeriesStore() = default;
  SeriesStore(const SeriesStore&) = delete;  // the index points into series_
  SeriesStore& operator=(const SeriesStore&) = delete;
  SeriesStore(SeriesStore&&) = default;  // set nodes move with the set: the index stays valid
  SeriesStore& operator=(SeriesStore&&) = default;

  // Adds a sample; a sample at an existing timestamp replaces it. Labels with empty values
  // are dropped, as Prometheus does. Returns the series' own label set: a caller that keeps
  // the labels (the scraper's and the rules' last-seen sets) keeps that one, shared, rather
  // than a second copy of every label set.
  const Labels& append(const Labels& labels, std::int64_t t, double v);
  // The series whose labels satisfy every matcher (a missing label reads as ""), in label
  // order.
  std::vector<const Series*> select(const std::vector<LabelMatcher>& matchers) const;
  std::size_t seriesCount() const { return series_.size(); }
  // Drops samples older than `cutoff_ms`, and series left without samples (bounded history).
  void dropBefore(std::int64_t cutoff_ms);

 private:
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // The series with one label value. Kept in label order, so a selection needs no sort: a
  // series created out of order marks the list, and the next selection through it sorts it.
  struct Postings {
    std::vector<const Series*> series;
    bool ordered = true;
  };
  using SeriesList = std::vector<const Series*>;
  using ValueIndex = std::unordered_map<std::string, Postings, StringHash, std::equal_to<>>;

  void index(const Series& series);
  void rebuildIndex();
  // The smallest candidate set the matchers allow, or nullptr for "every series"; `ordered`
  // tells whether it is in label order, `holds` the matcher every candidate satisfies (the
  // equality whose postings they are), or matchers.size().
  const SeriesList* candidates(const std::vector<LabelMatcher>& matchers, SeriesList& scratch,
                               bool& ordered, std::size_t& holds) const;

  // Ordered by labels; the labels live once, in the Series (set nodes are stable: postings
  // point into them).
  struct ByLabels {
    using is_transparent = void;
    bool operator()(const Series& a, const Series& b) const { return a.labels < b.labels; }
    bool operator()(const Series& a, const Labels& b) const { return a.labels < b; }
    bool operator()(const Labels& a, const Series& b) const { return a < b.labels; }
  };
  std::set<Series, ByLabels> series_;
  // Mutable: a selection may put a postings list back in label order.
  mutable std::unordered_map<std::string, ValueIndex, StringHash, std::equal_to<>> index_;
};

}  // namespace appliance::plugins::alert_evaluator::promql
