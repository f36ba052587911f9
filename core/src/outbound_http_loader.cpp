#include <dlfcn.h>

#include <filesystem>
#include <mutex>

#include "host.h"
#include "outbound_http.h"

namespace appliance::host {

Result<const OutboundHttpModule*> loadOutboundHttpModule(const std::string& path) {
  static std::mutex mutex;
  static const OutboundHttpModule* loaded = nullptr;
  std::lock_guard lock(mutex);
  if (loaded) return loaded;
  const std::string file =
      !path.empty()
          ? path
          : std::filesystem::weakly_canonical(std::filesystem::path(executableDir()) / ".." /
                                              "lib" / "appliance" / "libappliance_outbound_http.so")
                .string();
  // Never unloaded: clients and their metrics live until the process exits.
  void* handle = ::dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = ::dlerror();
    return Status::failedPrecondition("outbound HTTP module " + file +
                                      ": cannot load: " + (why ? why : "unknown error") +
                                      " (reinstall appliance: the file ships with it)");
  }
  using Entry = const OutboundHttpModule* (*)();
  auto entry = reinterpret_cast<Entry>(::dlsym(handle, "appliance_outbound_http_module"));
  const OutboundHttpModule* module = entry ? entry() : nullptr;
  if (!module || module->struct_size != sizeof(OutboundHttpModule)) {
    return Status::failedPrecondition("outbound HTTP module " + file +
                                      " does not match this appliance binary");
  }
  loaded = module;
  return loaded;
}

}  // namespace appliance::host
