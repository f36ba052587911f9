#pragma once
// Instant evaluation of a parsed PromQL expression over a SeriesStore, with Prometheus 2.x
// semantics: a 5-minute lookback for instant selectors, closed [t - range, t] windows for
// range selectors, stale markers ending a series at once, rate/increase extrapolation and
// counter resets as promql/functions.go does them, vector matching as promql/engine.go.
// An Evaluator holds no state between calls; concurrent calls are safe while the store is
// not written.

#include <cstdint>
#include <string>

#include "ast.h"
#include "series_store.h"
#include "value.h"

namespace appliance::plugins::alert_evaluator::promql {

struct EvalOptions {
  std::int64_t lookback_ms = 5 * 60 * 1000;
};

struct EvalResult {
  Value value;
  std::string error;  // a runtime error (duplicate series in matching, ...); empty on success
  bool ok() const { return error.empty(); }
};

class Evaluator {
 public:
  explicit Evaluator(const SeriesStore& store, EvalOptions options = {})
      : store_(store), options_(options) {}

  EvalResult evaluate(const Expr& expr, std::int64_t t_ms) const;

 private:
  const SeriesStore& store_;
  EvalOptions options_;
};

}  // namespace appliance::plugins::alert_evaluator::promql
