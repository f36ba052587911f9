#include "plugin_loader.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <set>

namespace appliance::host {
namespace fs = std::filesystem;

std::vector<std::string> splitList(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

std::vector<std::string> discoverPluginFiles(const std::vector<std::string>& dirs) {
  std::vector<std::string> out;
  for (const auto& dir : dirs) {
    std::error_code ec;
    std::vector<std::string> here;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (entry.path().extension() == ".so") here.push_back(entry.path().string());
    }
    std::sort(here.begin(), here.end());
    out.insert(out.end(), here.begin(), here.end());
  }
  return out;
}

Result<std::vector<std::string>> locatePlugins(const std::vector<std::string>& names,
                                               const std::vector<std::string>& dirs) {
  std::vector<std::string> files;
  for (const auto& name : names) {
    std::vector<std::string> found;
    for (const auto& dir : dirs) {
      const fs::path candidate = fs::path(dir) / (name + ".so");
      if (fs::exists(candidate)) found.push_back(candidate.string());
    }
    if (found.size() > 1) {
      return Status::failedPrecondition("plugin name clash: '" + name + "' is provided by both " +
                                        found[0] + " and " + found[1] + "; remove one");
    }
    if (found.empty()) {
      std::string installed;
      for (const auto& f : discoverPluginFiles(dirs)) {
        if (!installed.empty()) installed += ", ";
        installed += fs::path(f).stem().string();
      }
      std::string searched;
      for (const auto& d : dirs) searched += (searched.empty() ? "" : ", ") + d;
      return Status::failedPrecondition("plugin '" + name + "' not found in " + searched +
                                        " (installed: " + (installed.empty() ? "none" : installed) +
                                        "); check roles: in the config or plugins.dir");
    }
    files.push_back(found.front());
  }
  return files;
}

namespace {

// Boost.DLL folds dlopen's message into its own; ask dlopen directly for the verbatim reason.
std::string dlopenError(const std::string& file) {
  void* handle = ::dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle) {
    ::dlclose(handle);
    return "unknown error";
  }
  const char* err = ::dlerror();
  return err ? err : "unknown error";
}

bool validName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

}  // namespace

Result<std::unique_ptr<LoadedPlugin>> loadPlugin(const std::string& file) {
  auto plugin = std::make_unique<LoadedPlugin>();
  plugin->file = file;
  boost::dll::fs::error_code ec;
  plugin->library.load(file, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local,
                       ec);
  if (ec) return Status::failedPrecondition(file + ": cannot load: " + dlopenError(file));
  if (!plugin->library.has(APPLIANCE_PLUGIN_ENTRY_SYMBOL)) {
    return Status::failedPrecondition(
        file + ": no entry point '" APPLIANCE_PLUGIN_ENTRY_SYMBOL
               "' (not an appliance plugin, or built without APPLIANCE_PLUGIN)");
  }
  auto entry =
      plugin->library.get<const appliance_plugin_descriptor*()>(APPLIANCE_PLUGIN_ENTRY_SYMBOL);
  const appliance_plugin_descriptor* d = entry();
  constexpr std::size_t kAbiFieldEnd =
      offsetof(appliance_plugin_descriptor, abi_version) + sizeof(std::uint32_t);
  if (!d || d->struct_size < kAbiFieldEnd) {
    return Status::failedPrecondition(file + ": entry point returned no valid descriptor");
  }
  if (d->abi_version != APPLIANCE_SDK_ABI_VERSION) {
    return Status::failedPrecondition(
        file + ": built for SDK ABI " + std::to_string(d->abi_version) +
        ", this host has SDK ABI " + std::to_string(APPLIANCE_SDK_ABI_VERSION) +
        "; rebuild the plugin against appliance SDK " + APPLIANCE_SDK_VERSION);
  }
  // ABI 1's descriptor ends at `destroy`; later fields may be appended within the same ABI,
  // so a plugin built against an older SDK 1.x has a smaller struct_size and is still valid.
  constexpr std::size_t kAbi1DescriptorSize =
      offsetof(appliance_plugin_descriptor, destroy) + sizeof(void*);
  if (d->struct_size < kAbi1DescriptorSize || !d->create || !d->destroy || !d->name) {
    return Status::failedPrecondition(file + ": descriptor is incomplete (size " +
                                      std::to_string(d->struct_size) + ", expected " +
                                      std::to_string(kAbi1DescriptorSize) + ")");
  }
  if (!validName(d->name)) {
    return Status::failedPrecondition(file + ": invalid plugin name '" + std::string(d->name) +
                                      "' (use lowercase letters, digits and '_')");
  }
  const std::string stem = fs::path(file).stem().string();
  if (stem != d->name) {
    return Status::failedPrecondition(file + ": declares plugin name '" + std::string(d->name) +
                                      "' but the file is named " + stem +
                                      ".so; a plugin's file must be <name>.so");
  }
  plugin->descriptor = d;
  plugin->name = d->name;
  plugin->provides = splitList(d->provides_services ? d->provides_services : "");
  plugin->requires_services = splitList(d->requires_services ? d->requires_services : "");
  plugin->instance = std::unique_ptr<Plugin, PluginDeleter>(nullptr, PluginDeleter{d->destroy});
  return plugin;
}

Status orderByDependencies(std::vector<std::unique_ptr<LoadedPlugin>>& plugins,
                           const std::string& role_description) {
  std::map<std::string, const LoadedPlugin*> by_name;
  std::map<std::string, const LoadedPlugin*> provider_of;
  for (const auto& p : plugins) {
    if (auto [it, inserted] = by_name.emplace(p->name, p.get()); !inserted) {
      return Status::failedPrecondition("duplicate plugin name '" + p->name +
                                        "': " + it->second->file + " and " + p->file);
    }
    for (const auto& service : p->provides) {
      if (auto [it, inserted] = provider_of.emplace(service, p.get()); !inserted) {
        return Status::failedPrecondition("both " + it->second->name + " and " + p->name +
                                          " provide service '" + service + "' in " +
                                          role_description + "; keep one of them in the role");
      }
    }
  }
  for (const auto& p : plugins) {
    for (const auto& service : p->requires_services) {
      if (!provider_of.count(service)) {
        return Status::failedPrecondition(p->file + ": plugin " + p->name + " requires service '" +
                                          service + "', which no plugin of " + role_description +
                                          " provides; add a plugin that provides it to the role");
      }
    }
  }
  // Depth-first topological order, stable with respect to the role's listing order.
  std::vector<std::unique_ptr<LoadedPlugin>> ordered;
  std::set<std::string> done, visiting;
  std::map<std::string, std::unique_ptr<LoadedPlugin>*> slot;
  for (auto& p : plugins) slot[p->name] = &p;
  std::function<Status(const std::string&)> visit = [&](const std::string& name) -> Status {
    if (done.count(name)) return Status::ok();
    if (visiting.count(name)) {
      return Status::failedPrecondition("plugins of " + role_description +
                                        " require each other in a cycle through " + name);
    }
    visiting.insert(name);
    for (const auto& service : (*slot[name])->requires_services) {
      Status s = visit(provider_of[service]->name);
      if (!s) return s;
    }
    visiting.erase(name);
    done.insert(name);
    ordered.push_back(std::move(*slot[name]));
    return Status::ok();
  };
  std::vector<std::string> names;
  for (const auto& p : plugins) names.push_back(p->name);
  for (const auto& name : names) {
    Status s = visit(name);
    if (!s) return s;
  }
  plugins = std::move(ordered);
  return Status::ok();
}

}  // namespace appliance::host
