#pragma once
// Prometheus rule files: `groups` of alerting and recording rules, loaded and validated the
// way `promtool check rules` does (unknown keys, missing fields, bad durations, invalid
// names, PromQL and template errors), each error naming file, line, column, group and rule.
// A loaded RuleFile is immutable and shared read-only by evaluators.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "promql/ast.h"
#include "rules/template.h"

namespace appliance::plugins::alert_evaluator::rules {

struct TemplatedLabel {
  std::string name;
  std::string text;  // the template as written
  Template compiled;
};

struct Rule {
  std::string alert;   // set for alerting rules
  std::string record;  // set for recording rules
  std::string expr_text;
  std::shared_ptr<const promql::Expr> expr;
  std::int64_t for_ms = 0;
  std::int64_t keep_firing_for_ms = 0;
  std::vector<TemplatedLabel> labels;       // in file order
  std::vector<TemplatedLabel> annotations;  // in file order
  int line = 0;                             // of the rule's first key, 1-based
  bool isAlert() const { return !alert.empty(); }
  const std::string& name() const { return isAlert() ? alert : record; }
};

struct RuleGroup {
  std::string name;
  std::int64_t interval_ms = 0;  // 0: the global evaluation interval
  int limit = 0;                 // 0: no limit
  std::vector<Rule> rules;
};

struct RuleFile {
  std::string path;
  std::vector<RuleGroup> groups;
};

struct RuleFileResult {
  RuleFile file;
  std::vector<std::string> errors;  // "path:line:col: group "g", rule "r": message"
  bool ok() const { return errors.empty(); }
};

RuleFileResult loadRuleFile(const std::string& path);
// `path` names the content in messages.
RuleFileResult parseRuleFile(const std::string& content, const std::string& path);

}  // namespace appliance::plugins::alert_evaluator::rules
