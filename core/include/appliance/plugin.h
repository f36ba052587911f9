#pragma once
// The plugin contract. Each plugin is one shared library exporting one C function,
// `appliance_plugin`, that returns a static descriptor. The host reads `abi_version` before
// anything else and refuses a mismatch, naming the file and both versions.
//
// Lifecycle (host thread, in dependency order; stop in reverse):
//   create() -> configure(section) -> init(ctx) -> start() -> ... -> stop(deadline) -> destroy
//   configure: parse and validate the plugin's config section; no side effects (also used by
//              --check-config). init: register routes, metrics, health checks, services,
//              timers; no slow I/O. start: open connections, start threads; may take time,
//              should retry in the background rather than fail for a dependency that is down.
//   stop: finish in-flight work by `deadline`, release everything. Called only after start().
// No exception may escape any of these; return a Status.

#include <chrono>
#include <cstdint>

#include "appliance/config.h"
#include "appliance/context.h"
#include "appliance/status.h"

// Bumped on any incompatible change to the SDK headers or libappliance_sdk. Within one
// version the SDK only grows (new functions appended, new descriptor fields at the end).
#define APPLIANCE_SDK_ABI_VERSION 2u
#define APPLIANCE_SDK_VERSION "0.2.0"
#define APPLIANCE_PLUGIN_ENTRY_SYMBOL "appliance_plugin"

#define APPLIANCE_EXPORT __attribute__((visibility("default")))

namespace appliance {

class Plugin {
 public:
  virtual ~Plugin() = default;
  virtual Status configure(const ConfigNode& section) = 0;
  virtual Status init(PluginContext& context) = 0;
  virtual Status start() { return Status::ok(); }
  virtual void stop(std::chrono::steady_clock::time_point deadline) { (void)deadline; }
};

}  // namespace appliance

extern "C" {

// Plain C so that the host can read it from any plugin before trusting its C++ parts.
struct appliance_plugin_descriptor {
  std::uint32_t struct_size;      // sizeof(appliance_plugin_descriptor) as the plugin saw it
  std::uint32_t abi_version;      // APPLIANCE_SDK_ABI_VERSION the plugin was compiled against
  const char* name;               // == folder name == config section == role entry
  const char* version;            // the plugin's own version
  const char* description;        // one line
  const char* provides_services;  // comma-separated service names, "" for none
  const char* requires_services;  // comma-separated service names, "" for none
  appliance::Plugin* (*create)() noexcept;  // nullptr on failure
  void (*destroy)(appliance::Plugin*) noexcept;
};

typedef const appliance_plugin_descriptor* (*appliance_plugin_entry_fn)();
}

// Defines the entry point for `PluginClass` (default-constructible, derived from Plugin).
//   APPLIANCE_PLUGIN(HelloPlugin, "hello", "1.0.0", "Says hello", "", "")
#define APPLIANCE_PLUGIN(PluginClass, NAME, VERSION, DESCRIPTION, PROVIDES, REQUIRES) \
  extern "C" APPLIANCE_EXPORT const appliance_plugin_descriptor* appliance_plugin() { \
    static const appliance_plugin_descriptor descriptor{                              \
        sizeof(appliance_plugin_descriptor),                                          \
        APPLIANCE_SDK_ABI_VERSION,                                                    \
        NAME,                                                                         \
        VERSION,                                                                      \
        DESCRIPTION,                                                                  \
        PROVIDES,                                                                     \
        REQUIRES,                                                                     \
        []() noexcept -> appliance::Plugin* {                                         \
          try {                                                                       \
            return new PluginClass();                                                 \
          } catch (...) {                                                             \
            return nullptr;                                                           \
          }                                                                           \
        },                                                                            \
        [](appliance::Plugin* plugin) noexcept { delete plugin; },                    \
    };                                                                                \
    return &descriptor;                                                               \
  }
