#pragma once
// Evaluates one rule group at a time step, as Prometheus's rule manager does: rules in
// order, recording-rule output written to the store at once (later rules of the group see
// it), alerting rules driven through inactive -> pending -> firing with `for` and
// `keep_firing_for`, ALERTS and ALERTS_FOR_STATE written, stale markers for series a rule
// stopped producing, and resolved alerts kept for 15 minutes. Holds the group's alert state;
// not thread-safe (one evaluation loop owns it).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "promql/evaluator.h"
#include "promql/series_store.h"
#include "rules/rule_file.h"

namespace appliance::plugins::alert_evaluator::rules {

enum class AlertState { kInactive, kPending, kFiring };
std::string_view alertStateName(AlertState state);

struct Alert {
  promql::Labels labels;
  promql::Labels annotations;
  double value = 0;
  AlertState state = AlertState::kPending;
  std::int64_t active_at = 0;
  std::optional<std::int64_t> fired_at;
  std::optional<std::int64_t> resolved_at;
  std::optional<std::int64_t> keep_firing_since;
};

struct RuleState {
  const Rule* rule = nullptr;
  std::map<promql::Labels, Alert> active;  // alerting rules: by alert labels
  std::string last_error;
  std::map<promql::Labels, bool> series_in_last_eval;  // for stale markers
};

struct EvalContext {
  promql::Labels external_labels;
  std::string external_url;
  promql::EvalOptions options;
};

class GroupEvaluator {
 public:
  static constexpr std::int64_t kResolvedRetentionMs = 15 * 60 * 1000;

  GroupEvaluator(const RuleGroup& group, EvalContext context);

  // Evaluates every rule at `ts`; returns the errors of this step ("rule: message").
  std::vector<std::string> evaluate(promql::SeriesStore& store, std::int64_t ts);

  const RuleGroup& group() const { return group_; }
  const std::vector<RuleState>& rules() const { return states_; }

 private:
  promql::Vector evaluateRecording(RuleState& state, const promql::Vector& result);
  promql::Vector evaluateAlerting(RuleState& state, const promql::Vector& result, std::int64_t ts);
  void applyAlerts(RuleState& state, std::map<promql::Labels, Alert> current, std::int64_t ts);

  const RuleGroup& group_;
  EvalContext context_;
  std::vector<RuleState> states_;
};

}  // namespace appliance::plugins::alert_evaluator::rules
