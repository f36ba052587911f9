#include "series_store.h"

#include <algorithm>

namespace appliance::plugins::alert_evaluator::promql {

void SeriesStore::append(const Labels& labels, std::int64_t t, double v) {
  auto [it, inserted] = series_.try_emplace(labels);
  Series& s = it->second;
  if (inserted) s.labels = labels;
  auto& points = s.points;
  if (points.empty() || points.back().t < t) {
    points.push_back(Point{t, v});
    return;
  }
  auto pos = std::lower_bound(points.begin(), points.end(), t,
                              [](const Point& p, std::int64_t time) { return p.t < time; });
  if (pos != points.end() && pos->t == t) {
    pos->v = v;
  } else {
    points.insert(pos, Point{t, v});
  }
}

void SeriesStore::dropBefore(std::int64_t cutoff_ms) {
  for (auto it = series_.begin(); it != series_.end();) {
    auto& points = it->second.points;
    auto keep = std::lower_bound(points.begin(), points.end(), cutoff_ms,
                                 [](const Point& p, std::int64_t time) { return p.t < time; });
    points.erase(points.begin(), keep);
    if (points.empty()) {
      it = series_.erase(it);
    } else {
      ++it;
    }
  }
}

std::vector<const Series*> SeriesStore::select(const std::vector<LabelMatcher>& matchers) const {
  std::vector<const Series*> out;
  for (const auto& [labels, series] : series_) {
    const bool all = std::all_of(matchers.begin(), matchers.end(), [&](const LabelMatcher& m) {
      return m.matches(labels.get(m.name));
    });
    if (all) out.push_back(&series);
  }
  return out;
}

}  // namespace appliance::plugins::alert_evaluator::promql
