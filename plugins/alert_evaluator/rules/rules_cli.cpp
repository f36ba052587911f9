#include "rules_cli.h"

#include "rules/rule_file.h"
#include "rules/rule_unit_test.h"

namespace appliance::plugins::alert_evaluator::rules {

int runRulesCli(bool check, const std::vector<std::string>& files, std::string& out) {
  bool all_ok = true;
  for (const auto& file : files) {
    if (check) {
      out += "Checking " + file + "\n";
      const RuleFileResult result = loadRuleFile(file);
      if (result.ok()) {
        std::size_t rules = 0;
        for (const auto& g : result.file.groups) rules += g.rules.size();
        out += "  SUCCESS: " + std::to_string(rules) + " rules found\n\n";
        continue;
      }
      all_ok = false;
      out += "  FAILED:\n";
      for (const auto& e : result.errors) out += e + "\n";
      out += "\n";
      continue;
    }
    out += "Unit Testing:  " + file + "\n";
    const auto report = runRuleUnitTestFile(file);
    if (report.passed()) {
      out += "  SUCCESS (" + std::to_string(report.cases) + " cases)\n\n";
      continue;
    }
    all_ok = false;
    out += "  FAILED:\n";
    for (const auto& failure : report.failures) out += failure + "\n";
    out += "\n";
  }
  return all_ok ? 0 : 1;
}

}  // namespace appliance::plugins::alert_evaluator::rules
