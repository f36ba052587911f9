#include "series_store.h"

#include <algorithm>

namespace appliance::plugins::alert_evaluator::promql {

void SeriesStore::append(const Labels& labels, std::int64_t t, double v) {
  auto [it, inserted] = series_.try_emplace(labels);
  Series& s = it->second;
  if (inserted) {
    s.labels = labels;
    by_name_[std::string(labels.get(kMetricNameLabel))].insert(&s);
  }
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
      auto name = by_name_.find(it->first.get(kMetricNameLabel));
      if (name != by_name_.end()) {
        name->second.erase(&it->second);
        if (name->second.empty()) by_name_.erase(name);
      }
      it = series_.erase(it);
    } else {
      ++it;
    }
  }
}

std::vector<const Series*> SeriesStore::select(const std::vector<LabelMatcher>& matchers) const {
  std::vector<const Series*> out;
  for (const auto& m : matchers) {
    if (m.name != kMetricNameLabel || m.op != MatchOp::kEqual) continue;
    auto it = by_name_.find(m.value);
    if (it == by_name_.end()) return out;
    for (const Series* s : it->second) {
      const bool all = std::all_of(matchers.begin(), matchers.end(), [&](const LabelMatcher& lm) {
        return lm.matches(s->labels.get(lm.name));
      });
      if (all) out.push_back(s);
    }
    return out;
  }
  for (const auto& entry : series_) {
    const Labels& labels = entry.first;  // not a structured binding: clang 14 cannot capture one
    const bool all = std::all_of(matchers.begin(), matchers.end(), [&](const LabelMatcher& m) {
      return m.matches(labels.get(m.name));
    });
    if (all) out.push_back(&entry.second);
  }
  return out;
}

}  // namespace appliance::plugins::alert_evaluator::promql
