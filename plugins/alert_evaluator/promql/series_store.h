#pragma once
// An in-memory series store: samples (millisecond timestamps, float values, stale markers)
// per label set, kept in time order. Not thread-safe: the owner serialises writes and reads.

#include <cstdint>
#include <map>
#include <vector>

#include "ast.h"
#include "value.h"

namespace appliance::plugins::alert_evaluator::promql {

class SeriesStore {
 public:
  // Adds a sample; a sample at an existing timestamp replaces it. Labels with empty values
  // are dropped, as Prometheus does.
  void append(const Labels& labels, std::int64_t t, double v);
  // The series whose labels satisfy every matcher (a missing label reads as "").
  std::vector<const Series*> select(const std::vector<LabelMatcher>& matchers) const;
  std::size_t seriesCount() const { return series_.size(); }
  // Drops samples older than `cutoff_ms`, and series left without samples (bounded history).
  void dropBefore(std::int64_t cutoff_ms);

 private:
  std::map<Labels, Series> series_;
};

}  // namespace appliance::plugins::alert_evaluator::promql
