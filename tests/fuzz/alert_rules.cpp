// Fuzz target: the rule-file loader (YAML, PromQL in every expr, label and annotation
// templates, durations). `appliance --check-rules` runs it on user files in their CI, and the
// evaluator at start-up: a broken file must produce errors that say where, never a crash.
//
// Input: one rule file. Invariants: every error starts with the file name; a file that loads
// has named groups, each rule either alerting or recording (never both), parsed expressions,
// and non-negative durations; its annotation templates expand without crashing.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "rules/rule_file.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 16384) return 0;
  namespace rules = appliance::plugins::alert_evaluator::rules;
  const std::string content(reinterpret_cast<const char*>(data), size);
  const rules::RuleFileResult result = rules::parseRuleFile(content, "fuzz-rules.yaml");
  if (!result.ok()) {
    for (const std::string& error : result.errors)
      FUZZ_CHECK(error.rfind("fuzz-rules.yaml", 0) == 0);
    return 0;
  }
  namespace promql = appliance::plugins::alert_evaluator::promql;
  const promql::Labels labels({{"instance", "i"}, {"job", "j"}});
  const promql::Labels external(std::vector<promql::Label>{{"cluster", "c"}});
  for (const rules::RuleGroup& group : result.file.groups) {
    FUZZ_CHECK(!group.name.empty());
    FUZZ_CHECK(group.interval_ms >= 0 && group.limit >= 0);
    for (const rules::Rule& rule : group.rules) {
      FUZZ_CHECK(rule.alert.empty() != rule.record.empty());
      FUZZ_CHECK(rule.expr != nullptr);
      FUZZ_CHECK(rule.for_ms >= 0 && rule.keep_firing_for_ms >= 0);
      for (const auto& annotation : rule.annotations) {
        (void)annotation.compiled.expand(
            rules::TemplateData{&labels, &external, "http://example", 0.5});
      }
    }
  }
  return 0;
}
