#pragma once
// `appliance --check-rules=FILE` / `--test-rules=FILE` and tools/alert_rules_test: `check`
// loads each rule file as `promtool check rules` does, `test` runs promtool-format unit-test
// files through this engine. Output (promtool's layout) goes to `out`. Returns 0 when every
// file passes, else 1.

#include <string>
#include <vector>

namespace appliance::plugins::alert_evaluator::rules {

int runRulesCli(bool check, const std::vector<std::string>& files, std::string& out);

}  // namespace appliance::plugins::alert_evaluator::rules
