// alert_rules_test FILE...: runs promtool-format rule unit tests through this engine and
// prints each failing case as `promtool test rules` does. Exit 0 when every case passes.

#include <iostream>

#include "rules/rule_unit_test.h"

int main(int argc, char** argv) {
  using appliance::plugins::alert_evaluator::rules::runRuleUnitTestFile;
  if (argc < 2) {
    std::cerr << "usage: alert_rules_test FILE...\n";
    return 2;
  }
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
