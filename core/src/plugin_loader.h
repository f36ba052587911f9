#pragma once
// Finds plugin files, loads them with Boost.DLL, checks their descriptors, and orders them by
// the services they provide and require. Every refusal is one line naming the file.

#include <boost/dll/shared_library.hpp>

#include <memory>
#include <string>
#include <vector>

#include "appliance/plugin.h"
#include "appliance/status.h"

namespace appliance::host {

struct PluginDeleter {
  void (*destroy)(Plugin*) noexcept = nullptr;
  void operator()(Plugin* p) const noexcept {
    if (p && destroy) destroy(p);
  }
};

// One loaded plugin library. Members are declared so that the instance is destroyed before
// the library that holds its code is unloaded.
struct LoadedPlugin {
  boost::dll::shared_library library;
  const appliance_plugin_descriptor* descriptor = nullptr;
  std::string name;
  std::string file;
  std::vector<std::string> provides;
  std::vector<std::string> requires_services;
  std::unique_ptr<Plugin, PluginDeleter> instance;

  ~LoadedPlugin() { instance.reset(); }
};

std::vector<std::string> splitList(std::string_view comma_separated);

// "<dir>/<name>.so" for each name, searched in `dirs` in order. Unknown name -> error
// listing what is installed.
Result<std::vector<std::string>> locatePlugins(const std::vector<std::string>& names,
                                               const std::vector<std::string>& dirs);

// Every "*.so" in `dirs` (for --list-plugins and to recognise config sections).
std::vector<std::string> discoverPluginFiles(const std::vector<std::string>& dirs);

// Loads one file and checks its descriptor; does not create the plugin.
Result<std::unique_ptr<LoadedPlugin>> loadPlugin(const std::string& file);

// Refuses duplicate names, missing required services and ambiguous providers; returns the
// plugins ordered so that providers come before the plugins that require them.
Status orderByDependencies(std::vector<std::unique_ptr<LoadedPlugin>>& plugins,
                           const std::string& role_description);

}  // namespace appliance::host
