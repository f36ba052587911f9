// Fuzz target: the alert evaluator's rule-file loader (rules/rule_file.h: YAML, durations,
// names, PromQL, templates). Invariants: never crashes; an error names the file; an accepted
// file's templates expand without crashing.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "rules/rule_file.h"

namespace rules = appliance::plugins::alert_evaluator::rules;
namespace pq = appliance::plugins::alert_evaluator::promql;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 16384) return 0;
  const std::string text(reinterpret_cast<const char*>(data), size);
  const rules::RuleFileResult result = rules::parseRuleFile(text, "fuzz.yaml");
  for (const auto& e : result.errors) FUZZ_CHECK(e.rfind("fuzz.yaml", 0) == 0);
  if (!result.ok()) return 0;
  const pq::Labels labels({{"instance", "i"}, {"job", "j"}});
  const pq::Labels external(std::vector<pq::Label>{{"cluster", "c"}});
  for (const auto& g : result.file.groups) {
    for (const auto& r : g.rules) {
      FUZZ_CHECK(r.expr != nullptr);
      for (const auto& a : r.annotations) {
        (void)a.compiled.expand(rules::TemplateData{&labels, &external, "http://x", 0.5});
      }
    }
  }
  return 0;
}
