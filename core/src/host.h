#pragma once
// Host: owns the loaded plugins and every host service, and drives the lifecycle:
// load -> configure -> init -> bind -> start -> serve -> drain -> stop (reverse) -> unload.

#include <memory>
#include <string>
#include <vector>

#include "appliance/status.h"

namespace appliance::host {

struct CommandLine {
  std::vector<std::string> roles;         // from --role (comma list), default {"all"}
  std::vector<std::string> config_files;  // --config, repeatable
  std::string env;                        // --env
  bool check_config = false;
  bool list_plugins = false;
  std::vector<std::string> check_rules;  // --check-rules, repeatable
  std::vector<std::string> test_rules;   // --test-rules, repeatable
};

// Exit codes: 0 fine, 1 start-up or runtime failure, 2 bad configuration or plugin.
constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitConfig = 2;

class Host {
 public:
  Host();
  ~Host();

  // Everything up to serving. Prints one line per problem to stderr; returns an exit code,
  // or -1 when the host is serving and should wait for a termination request.
  int startUp(const CommandLine& cli);
  // On SIGHUP, while serving, on the thread that calls shutDown(): re-reads the configuration
  // (the same --env/--config files and environment) and applies log.level, then runs every
  // plugin's onReload callback. A broken configuration is logged and the old settings stay;
  // the callbacks run either way.
  void reload();
  // Graceful shutdown after SIGTERM/SIGINT; returns the exit code.
  int shutDown();

  int listPlugins(const CommandLine& cli);
  // --check-rules / --test-rules: loads alert_evaluator.so (the plugin folder, or plugins.dir
  // when --env/--config are given) and runs its appliance_alert_rules_cli; starts no server.
  // 0 when every file passes, 1 when one fails, 2 when the plugin cannot be loaded.
  int runRuleTool(const CommandLine& cli);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Folder of the running binary.
std::string executableDir();

}  // namespace appliance::host
