#pragma once
// The host's own configuration sections (http, log, data, plugins, instance, roles), read
// from the effective config. Plugin sections are validated by their plugins.

#include <map>
#include <string>
#include <vector>

#include "appliance/config.h"
#include "http_server.h"
#include "logging.h"

namespace appliance::host {

struct HostConfig {
  ServerSettings http;
  std::chrono::milliseconds drain_timeout{10'000};
  std::chrono::milliseconds shutdown_delay{0};
  LogSettings log;
  std::string data_dir = "./data";
  std::vector<std::string> plugin_dirs;
  std::string instance_id;
  std::vector<std::pair<std::string, std::vector<std::string>>> roles;  // in file order
};

// `installed` are the plugin names found in the plugin folders; they are the only other
// top-level sections allowed. `default_plugin_dir` applies unless plugins.dir overrides it.
Result<HostConfig> parseHostConfig(const ConfigNode& root,
                                   const std::vector<std::string>& installed,
                                   const std::string& default_plugin_dir);

// The plugin folders named by the config (before plugins are discovered).
std::vector<std::string> pluginDirsFromConfig(const ConfigNode& root,
                                              const std::string& default_plugin_dir);

// The plugins for a comma-separated role selection ("api", "api,alerts", "all"), in order,
// without duplicates. "all" is the role named all if the config defines one, else the union
// of every role.
Result<std::vector<std::string>> pluginsForRoles(const HostConfig& config,
                                                 const std::vector<std::string>& roles);

}  // namespace appliance::host
