#pragma once
// Loads the effective configuration: YAML files overlaid in order, ${VAR} / ${VAR:-default}
// interpolated, then APPLIANCE__SECTION__KEY=value environment overrides applied. Every value
// remembers its origin so errors read "config/local.yaml:12: http.listen: ...".

#include <map>
#include <string>
#include <vector>

#include "appliance/config.h"
#include "appliance/status.h"

namespace appliance::host {

struct ConfigSources {
  std::vector<std::string> files;                  // in overlay order
  std::map<std::string, std::string> environment;  // usually the process environment
};

// The files for --env=NAME: base.yaml (if present) and NAME.yaml from `config_dir`.
Result<std::vector<std::string>> filesForEnv(const std::string& config_dir, const std::string& env);

Result<ConfigNode> loadConfig(const ConfigSources& sources);

std::map<std::string, std::string> processEnvironment();

// The effective config as YAML with every secret value (isSecretKey) and URL password
// replaced by "<redacted>".
std::string redactedYaml(const ConfigNode& root);

}  // namespace appliance::host
