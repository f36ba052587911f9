#include "series_store.h"

#include <algorithm>

namespace appliance::plugins::alert_evaluator::promql {

namespace {

// Grows by an eighth instead of doubling: a bounded history settles near its length, where
// doubling would leave up to half of every series' buffer unused (5m15s of 15s scrapes, 22
// or 23 points, settles at 24).
void appendPoint(std::vector<Point>& points, Point point) {
  if (points.size() == points.capacity()) points.reserve(points.size() + points.size() / 8 + 4);
  points.push_back(point);
}

}  // namespace

const Labels& SeriesStore::append(const Labels& labels, std::int64_t t, double v) {
  auto it = series_.find(labels);
  if (it == series_.end()) {
    it = series_.insert(Series{labels, {}}).first;
    index(*it);
  }
  // The points are not part of the set's ordering, so changing them in place is safe.
  auto& points = const_cast<Series&>(*it).points;
  if (points.empty() || points.back().t < t) {
    appendPoint(points, Point{t, v});
    return it->labels;
  }
  auto pos = std::lower_bound(points.begin(), points.end(), t,
                              [](const Point& p, std::int64_t time) { return p.t < time; });
  if (pos != points.end() && pos->t == t) {
    pos->v = v;
  } else {
    points.insert(pos, Point{t, v});
  }
  return it->labels;
}

void SeriesStore::index(const Series& series) {
  for (const Label& label : series.labels.items()) {
    auto name = index_.find(label.name);
    if (name == index_.end()) name = index_.try_emplace(label.name).first;
    auto value = name->second.find(label.value);
    if (value == name->second.end()) value = name->second.try_emplace(label.value).first;
    Postings& postings = value->second;
    if (postings.ordered && !postings.series.empty() &&
        !(postings.series.back()->labels < series.labels)) {
      postings.ordered = false;
    }
    if (postings.series.size() == postings.series.capacity()) {  // an eighth of slack at most
      postings.series.reserve(postings.series.size() + postings.series.size() / 8 + 4);
    }
    postings.series.push_back(&series);
  }
}

void SeriesStore::rebuildIndex() {
  index_.clear();
  for (const Series& series : series_) index(series);
  for (auto& [name, values] : index_) {
    for (auto& [value, postings] : values) postings.series.shrink_to_fit();  // no doubling slack
  }
}

void SeriesStore::dropBefore(std::int64_t cutoff_ms) {
  bool erased = false;
  for (auto it = series_.begin(); it != series_.end();) {
    auto& points = const_cast<Series&>(*it).points;
    auto keep = std::lower_bound(points.begin(), points.end(), cutoff_ms,
                                 [](const Point& p, std::int64_t time) { return p.t < time; });
    points.erase(points.begin(), keep);
    if (points.empty()) {
      it = series_.erase(it);
      erased = true;
    } else {
      ++it;
    }
  }
  if (erased) rebuildIndex();
}

namespace {

bool labelOrder(const Series* a, const Series* b) { return a->labels < b->labels; }

}  // namespace

const SeriesStore::SeriesList* SeriesStore::candidates(const std::vector<LabelMatcher>& matchers,
                                                       SeriesList& scratch, bool& ordered,
                                                       std::size_t& holds) const {
  static const SeriesList kNone;
  const SeriesList* best = nullptr;
  ordered = true;
  holds = matchers.size();
  for (std::size_t i = 0; i < matchers.size(); ++i) {
    const LabelMatcher& m = matchers[i];
    // Only a matcher that cannot match the empty string bounds the set to series that have
    // the label; `a=""` or `a=~".*"` also match series without it.
    if (m.matches("")) continue;
    const auto name = index_.find(m.name);
    if (name == index_.end()) return &kNone;
    if (m.op == MatchOp::kEqual) {
      const auto value = name->second.find(m.value);
      if (value == name->second.end()) return &kNone;
      Postings& postings = value->second;
      if (best && postings.series.size() >= best->size()) continue;
      if (!postings.ordered) {
        std::sort(postings.series.begin(), postings.series.end(), labelOrder);
        postings.ordered = true;
      }
      best = &postings.series;
      ordered = true;
      holds = i;
      continue;
    }
    // A regex or != matcher: test each distinct value once, not each series.
    std::size_t total = 0;
    for (const auto& [value, postings] : name->second) {
      if (m.matches(value)) total += postings.series.size();
    }
    if (best && total >= best->size()) continue;
    scratch.clear();
    scratch.reserve(total);
    for (const auto& [value, postings] : name->second) {
      if (m.matches(value)) {
        scratch.insert(scratch.end(), postings.series.begin(), postings.series.end());
      }
    }
    best = &scratch;
    ordered = false;
    holds = matchers.size();
  }
  return best;
}

std::vector<const Series*> SeriesStore::select(const std::vector<LabelMatcher>& matchers) const {
  std::vector<const Series*> out;
  SeriesList scratch;
  bool ordered = true;
  std::size_t holds = matchers.size();
  const SeriesList* set = candidates(matchers, scratch, ordered, holds);
  const auto matchesAll = [&](const Series& series) {
    for (std::size_t i = 0; i < matchers.size(); ++i) {
      if (i != holds && !matchers[i].matches(series.labels.get(matchers[i].name))) return false;
    }
    return true;
  };
  if (!set) {
    for (const Series& series : series_) {
      if (matchesAll(series)) out.push_back(&series);
    }
    return out;  // already in label order
  }
  out.reserve(set->size());
  for (const Series* series : *set) {
    if (matchesAll(*series)) out.push_back(series);
  }
  if (!ordered) std::sort(out.begin(), out.end(), labelOrder);
  return out;
}

}  // namespace appliance::plugins::alert_evaluator::promql
