// alert_rules_test FILE...: runs promtool-format rule unit tests through this engine and
// prints each failing case as `promtool test rules` does. Exit 0 when every case passes.
// alert_rules_test --check FILE...: loads rule files as `promtool check rules` does; exit 0
// when every file loads, else 1 with file:line:col, group, rule and message per error.
// (`appliance --test-rules` / `--check-rules` run the same code from alert_evaluator.so.)

#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "rules/rules_cli.h"

int main(int argc, char** argv) {
  const bool check = argc > 1 && std::strcmp(argv[1], "--check") == 0;
  if (argc < (check ? 3 : 2)) {
    std::cerr << "usage: alert_rules_test FILE...\n       alert_rules_test --check FILE...\n";
    return 2;
  }
  std::vector<std::string> files(argv + (check ? 2 : 1), argv + argc);
  std::string out;
  const int rc = appliance::plugins::alert_evaluator::rules::runRulesCli(check, files, out);
  std::cout << out;
  return rc;
}
