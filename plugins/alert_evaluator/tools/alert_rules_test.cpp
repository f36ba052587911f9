// alert_rules_test FILE...: runs promtool-format rule unit tests through this engine and
// prints each failing case as `promtool test rules` does. Exit 0 when every case passes.
// alert_rules_test --check FILE...: loads rule files as `promtool check rules` does; exit 0
// when every file loads, else 1 with file:line:col, group, rule and message per error.

#include <cstring>
#include <iostream>

#include "rules/rule_file.h"
#include "rules/rule_unit_test.h"

namespace {

using namespace appliance::plugins::alert_evaluator::rules;

int checkRules(int argc, char** argv) {
  bool all_ok = true;
  for (int i = 2; i < argc; ++i) {
    std::cout << "Checking " << argv[i] << "\n";
    const RuleFileResult result = loadRuleFile(argv[i]);
    if (result.ok()) {
      std::size_t rules = 0;
      for (const auto& g : result.file.groups) rules += g.rules.size();
      std::cout << "  SUCCESS: " << rules << " rules found\n\n";
      continue;
    }
    all_ok = false;
    std::cout << "  FAILED:\n";
    for (const auto& e : result.errors) std::cout << e << "\n";
    std::cout << "\n";
  }
  return all_ok ? 0 : 1;
}

int testRules(int argc, char** argv) {
  bool all_passed = true;
  for (int i = 1; i < argc; ++i) {
    std::cout << "Unit Testing:  " << argv[i] << "\n";
    const auto report = runRuleUnitTestFile(argv[i]);
    if (report.passed()) {
      std::cout << "  SUCCESS (" << report.cases << " cases)\n\n";
      continue;
    }
    all_passed = false;
    std::cout << "  FAILED:\n";
    for (const auto& failure : report.failures) std::cout << failure << "\n";
    std::cout << "\n";
  }
  return all_passed ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const bool check = argc > 1 && std::strcmp(argv[1], "--check") == 0;
  if (argc < (check ? 3 : 2)) {
    std::cerr << "usage: alert_rules_test FILE...\n       alert_rules_test --check FILE...\n";
    return 2;
  }
  return check ? checkRules(argc, argv) : testRules(argc, argv);
}
