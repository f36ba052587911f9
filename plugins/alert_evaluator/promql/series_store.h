#pragma once
// An in-memory series store: samples (millisecond timestamps, float values, stale markers)
// per label set, kept in time order. Not thread-safe: the owner serialises writes and reads.

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "ast.h"
#include "value.h"

namespace appliance::plugins::alert_evaluator::promql {

class SeriesStore {
 public:
  SeriesStore() = default;
  SeriesStore(const SeriesStore&) = delete;  // the index points into series_
  SeriesStore& operator=(const SeriesStore&) = delete;
  SeriesStore(SeriesStore&&) = default;  // map nodes move with the map: the index stays valid
  SeriesStore& operator=(SeriesStore&&) = default;

  // Adds a sample; a sample at an existing timestamp replaces it. Labels with empty values
  // are dropped, as Prometheus does.
  void append(const Labels& labels, std::int64_t t, double v);
  // The series whose labels satisfy every matcher (a missing label reads as "").
  // In label order. A __name__="x" matcher is answered from an index by metric name.
  std::vector<const Series*> select(const std::vector<LabelMatcher>& matchers) const;
  std::size_t seriesCount() const { return series_.size(); }
  // Drops samples older than `cutoff_ms`, and series left without samples (bounded history).
  void dropBefore(std::int64_t cutoff_ms);

 private:
  struct ByLabels {
    bool operator()(const Series* a, const Series* b) const { return a->labels < b->labels; }
  };
  std::map<Labels, Series> series_;
  // Metric name -> its series (pointers into series_, whose nodes never move).
  std::map<std::string, std::set<const Series*, ByLabels>, std::less<>> by_name_;
};

}  // namespace appliance::plugins::alert_evaluator::promql
