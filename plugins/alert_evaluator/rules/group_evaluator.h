#pragma once
// Evaluates one rule group at a time step, as Prometheus's rule manager does: rules in
// order, recording-rule output written to the store at once (later rules of the group see
// it), alerting rules driven through inactive -> pending -> firing with `for` and
// `keep_firing_for`, ALERTS and ALERTS_FOR_STATE written, stale markers for series a rule
// stopped producing, and resolved alerts kept for 15 minutes. Holds the group's alert state;
// not thread-safe (one evaluation loop owns it).

#include <cstdint>
#include <functional>
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
  // Notification bookkeeping (rules/alerting.go's lastSentAt and validUntil) and the
  // evaluations in a row that did not return this alert (missing_evaluations_to_resolve).
  std::optional<std::int64_t> last_sent_at;
  std::int64_t valid_until = 0;
  int missing_evaluations = 0;
};

struct RuleState {
  const Rule* rule = nullptr;
  std::map<promql::Labels, Alert> active;  // alerting rules: by alert labels
  std::string last_error;
  std::map<promql::Labels, bool> series_in_last_eval;  // for stale markers
  std::int64_t last_evaluation_ms = 0;                 // 0: never evaluated
  double evaluation_seconds = 0;                       // the last evaluation's duration
  // Shared label lists: the rule's labels with alertname as last expanded, and their merges
  // with the target's labels and ALERTS' (alert label sets share them instead of copying).
  promql::Labels rule_labels;
  promql::LabelMerges label_merges;
};

struct EvalContext {
  promql::Labels external_labels;
  std::string external_url;
  promql::EvalOptions options;
  // When set, rules are evaluated by this (an instant query against a remote Prometheus)
  // instead of against the store; recording rules' output is still written to the store.
  std::function<promql::EvalResult(const Rule&, std::int64_t ts)> query;
  // Evaluations in a row an active alert must be missing from its rule's result before it is
  // resolved (pending: dropped). 1 is Prometheus's behaviour; more rides out a failed scrape.
  int missing_evaluations_to_resolve = 1;
};

class GroupEvaluator {
 public:
  static constexpr std::int64_t kResolvedRetentionMs = 15 * 60 * 1000;

  GroupEvaluator(const RuleGroup& group, EvalContext context);

  // Evaluates every rule at `ts`; returns the errors of this step ("rule: message").
  std::vector<std::string> evaluate(promql::SeriesStore& store, std::int64_t ts);

  const RuleGroup& group() const { return group_; }
  const std::vector<RuleState>& rules() const { return states_; }
  std::vector<RuleState>& mutableRules() { return states_; }
  // Until `ts_ms`, an active alert missing from its rule's result is held as it is (neither
  // resolved nor dropped): after a restart the history a rule reads (rate over 5m) has to
  // refill before "no result" means "resolved".
  void holdMissingUntil(std::int64_t ts_ms) { hold_missing_until_ms_ = ts_ms; }
  // Puts back an alert saved before a restart (its rule found by name and position); false
  // when no alerting rule of that name exists at `rule_index` or elsewhere in the group.
  bool restoreAlert(std::size_t rule_index, const std::string& rule_name, Alert alert);

 private:
  promql::Vector evaluateRecording(RuleState& state, const promql::Vector& result);
  promql::Vector evaluateAlerting(RuleState& state, const promql::Vector& result, std::int64_t ts);
  void applyAlerts(RuleState& state, std::map<promql::Labels, Alert> current, std::int64_t ts);

  const RuleGroup& group_;
  EvalContext context_;
  std::vector<RuleState> states_;
  std::int64_t hold_missing_until_ms_ = 0;
};

}  // namespace appliance::plugins::alert_evaluator::rules
