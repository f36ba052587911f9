#include "group_evaluator.h"

#include <chrono>
#include <stdexcept>

namespace appliance::plugins::alert_evaluator::rules {

using promql::Labels;
using promql::Sample;
using promql::Vector;

std::string_view alertStateName(AlertState state) {
  switch (state) {
    case AlertState::kInactive:
      return "inactive";
    case AlertState::kPending:
      return "pending";
    case AlertState::kFiring:
      return "firing";
  }
  return "unknown";
}

namespace {

struct RuleError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A rule's result as a vector: a scalar becomes one sample without labels.
Vector asVector(const promql::Value& v, std::int64_t ts) {
  if (v.type == promql::ValueType::kScalar) return {Sample{Labels{}, v.scalar, ts}};
  return v.vector;
}

// {__name__="ALERTS", alertstate="..."} and {__name__="ALERTS_FOR_STATE"}, made once.
const Labels& alertSeriesLabels(AlertState state) {
  static const Labels pending({{std::string(promql::kMetricNameLabel), "ALERTS"},
                               {"alertstate", std::string(alertStateName(AlertState::kPending))}});
  static const Labels firing({{std::string(promql::kMetricNameLabel), "ALERTS"},
                              {"alertstate", std::string(alertStateName(AlertState::kFiring))}});
  return state == AlertState::kFiring ? firing : pending;
}

const Labels& forStateLabels() {
  static const Labels labels({{std::string(promql::kMetricNameLabel), "ALERTS_FOR_STATE"}});
  return labels;
}

}  // namespace

GroupEvaluator::GroupEvaluator(const RuleGroup& group, EvalContext context)
    : group_(group), context_(std::move(context)) {
  for (const auto& rule : group_.rules) {
    RuleState state;
    state.rule = &rule;
    states_.push_back(std::move(state));
  }
}

std::vector<std::string> GroupEvaluator::evaluate(promql::SeriesStore& store, std::int64_t ts) {
  std::vector<std::string> errors;
  const promql::Evaluator evaluator(store, context_.options);
  for (auto& state : states_) {
    const Rule& rule = *state.rule;
    const auto started = std::chrono::steady_clock::now();
    promql::EvalResult result =
        context_.query ? context_.query(rule, ts) : evaluator.evaluate(*rule.expr, ts);
    state.last_evaluation_ms = ts;
    state.evaluation_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    Vector out;
    try {
      if (!result.ok()) throw RuleError(result.error);
      const Vector vec = asVector(result.value, ts);
      out = rule.isAlert() ? evaluateAlerting(state, vec, ts) : evaluateRecording(state, vec);
      state.last_error.clear();
    } catch (const RuleError& e) {
      state.last_error = e.what();
      errors.push_back(rule.name() + ": " + e.what());
      continue;
    }
    std::map<Labels, bool> returned;
    for (const auto& s : out) {
      returned[store.append(s.labels, ts, s.v)] = true;
    }
    for (const auto& [labels, _] : state.series_in_last_eval) {
      if (returned.count(labels) == 0) store.append(labels, ts, promql::staleNaN());
    }
    state.series_in_last_eval = std::move(returned);
  }
  return errors;
}

Vector GroupEvaluator::evaluateRecording(RuleState& state, const Vector& result) {
  const Rule& rule = *state.rule;
  Vector out;
  std::map<Labels, bool> seen;
  for (const auto& s : result) {
    Labels labels = s.labels;
    labels.set(promql::kMetricNameLabel, rule.record);
    for (const auto& l : rule.labels) labels.set(l.name, l.text);
    if (!seen.emplace(labels, true).second) {
      throw RuleError("vector contains metrics with the same labelset after applying rule labels");
    }
    out.push_back(Sample{std::move(labels), s.v, s.t});
  }
  if (group_.limit > 0 && static_cast<int>(out.size()) > group_.limit) {
    throw RuleError("exceeded limit of " + std::to_string(group_.limit) + " with " +
                    std::to_string(out.size()) + " series");
  }
  return out;
}

Vector GroupEvaluator::evaluateAlerting(RuleState& state, const Vector& result, std::int64_t ts) {
  const Rule& rule = *state.rule;
  std::map<Labels, Alert> current;
  for (const auto& s : result) {
    TemplateData data{&s.labels, &context_.external_labels, context_.external_url, s.v};
    // The sample's labels (shared) plus the rule's as one shared list; an empty expansion
    // deletes a label, which only a copy can do.
    std::vector<promql::Label> own;
    own.reserve(rule.labels.size() + 1);
    bool deletes = false;
    for (const auto& l : rule.labels) {
      own.push_back(promql::Label{l.name, l.compiled.expand(data)});
      deletes = deletes || own.back().value.empty();
    }
    own.push_back(promql::Label{"alertname", rule.alert});
    Labels labels = s.labels.withoutName();
    if (deletes) {
      for (const auto& l : own) labels.set(l.name, l.value);
    } else {
      Labels extra(std::move(own));  // the last of a repeated name wins, as with set()
      if (!(extra == state.rule_labels)) state.rule_labels = std::move(extra);
      labels = labels.with(state.rule_labels, &state.label_merges);
    }
    Labels annotations;
    for (const auto& a : rule.annotations) annotations.set(a.name, a.compiled.expand(data));
    if (current.count(labels) != 0) {
      throw RuleError("vector contains metrics with the same labelset after applying alert labels");
    }
    Alert alert;
    alert.labels = labels;
    alert.annotations = std::move(annotations);
    alert.active_at = ts;
    alert.value = s.v;
    current.emplace(std::move(labels), std::move(alert));
  }
  applyAlerts(state, std::move(current), ts);

  Vector out;
  int active_or_pending = 0;
  for (const auto& [labels, alert] : state.active) {
    if (alert.state == AlertState::kInactive) continue;
    ++active_or_pending;
    // The alert's labels plus shared lists: an ALERTS series costs no copy of its labels.
    out.push_back(Sample{labels.with(alertSeriesLabels(alert.state), &state.label_merges), 1, ts});
    out.push_back(Sample{labels.with(forStateLabels(), &state.label_merges),
                         static_cast<double>(alert.active_at / 1000), ts});
  }
  if (group_.limit > 0 && active_or_pending > group_.limit) {
    state.active.clear();
    throw RuleError("exceeded limit of " + std::to_string(group_.limit) + " with " +
                    std::to_string(active_or_pending) + " alerts");
  }
  return out;
}

// Prometheus's AlertingRule.Eval state transitions (rules/alerting.go).
void GroupEvaluator::applyAlerts(RuleState& state, std::map<Labels, Alert> current,
                                 std::int64_t ts) {
  const Rule& rule = *state.rule;
  for (auto& [labels, alert] : current) {
    auto it = state.active.find(labels);
    if (it != state.active.end() && it->second.state != AlertState::kInactive) {
      it->second.value = alert.value;
      it->second.annotations = std::move(alert.annotations);
      continue;
    }
    state.active[labels] = std::move(alert);
  }
  for (auto it = state.active.begin(); it != state.active.end();) {
    Alert& a = it->second;
    const bool returned = current.count(it->first) != 0;
    if (!returned && a.state != AlertState::kInactive &&
        (++a.missing_evaluations < context_.missing_evaluations_to_resolve ||
         ts < hold_missing_until_ms_)) {
      ++it;  // held: missing fewer times in a row than missing_evaluations_to_resolve
      continue;
    }
    if (returned) a.missing_evaluations = 0;
    if (!returned) {
      bool keep_firing = false;
      if (a.state == AlertState::kFiring && rule.keep_firing_for_ms > 0) {
        if (!a.keep_firing_since) a.keep_firing_since = ts;
        keep_firing = ts - *a.keep_firing_since < rule.keep_firing_for_ms;
      }
      if (a.state == AlertState::kPending ||
          (a.resolved_at && ts - *a.resolved_at > kResolvedRetentionMs)) {
        it = state.active.erase(it);
        continue;
      }
      if (a.state != AlertState::kInactive && !keep_firing) {
        a.state = AlertState::kInactive;
        a.resolved_at = ts;
      }
      if (!keep_firing) {
        ++it;
        continue;
      }
    } else {
      a.keep_firing_since.reset();
    }
    if (a.state == AlertState::kPending && ts - a.active_at >= rule.for_ms) {
      a.state = AlertState::kFiring;
      a.fired_at = ts;
    }
    ++it;
  }
}

bool GroupEvaluator::restoreAlert(std::size_t rule_index, const std::string& rule_name,
                                  Alert alert) {
  RuleState* target = nullptr;
  if (rule_index < states_.size() && states_[rule_index].rule->alert == rule_name) {
    target = &states_[rule_index];
  } else {
    for (auto& s : states_) {
      if (s.rule->alert == rule_name) {
        target = &s;
        break;
      }
    }
  }
  if (target == nullptr) return false;
  promql::Labels labels = alert.labels;
  target->active[labels] = std::move(alert);
  return true;
}

}  // namespace appliance::plugins::alert_evaluator::rules
