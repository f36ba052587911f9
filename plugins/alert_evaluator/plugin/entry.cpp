// The exported entry points of alert_evaluator.so: the plugin descriptor, and
// appliance_alert_rules_cli, which `appliance --check-rules` / `--test-rules` call after
// dlopen (so the host does not link the rule engine; see README.md).
#include <cstdio>
#include <string>
#include <vector>

#include "alert_evaluator_plugin.h"
#include "rules/rules_cli.h"

APPLIANCE_PLUGIN(appliance::plugins::alert_evaluator::AlertEvaluatorPlugin, "alert_evaluator",
                 "0.1.0",
                 "Evaluates Prometheus alerting and recording rules and notifies Alertmanager", "",
                 "")

// mode: "check" or "test". Prints promtool-style output to stdout; returns 0 when every file
// passes, 1 otherwise, 2 for a bad mode. No exception escapes.
extern "C" APPLIANCE_EXPORT int appliance_alert_rules_cli(const char* mode, int count,
                                                          const char* const* files) noexcept {
  try {
    const std::string m = mode != nullptr ? mode : "";
    if (m != "check" && m != "test") return 2;
    std::vector<std::string> paths;
    for (int i = 0; i < count; ++i) paths.emplace_back(files[i]);
    std::string out;
    const int rc =
        appliance::plugins::alert_evaluator::rules::runRulesCli(m == "check", paths, out);
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
    return rc;
  } catch (...) {
    std::fputs("appliance: the rule tooling failed unexpectedly\n", stderr);
    return 1;
  }
}
