#pragma once
// PluginContext: every host service a plugin may use, handed to Plugin::init(). No globals:
// a plugin that only talks to its context can be unit-tested with testing::FakeContext.
//
// ABI rule: within one SDK ABI version these interfaces only grow, by appending virtual
// functions at the end. Never reorder or remove.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/http.h"
#include "appliance/http_client.h"
#include "appliance/logger.h"
#include "appliance/status.h"

namespace prometheus {
class Registry;
}

namespace appliance {

// Facts about this process, fixed at start-up.
struct RuntimeInfo {
  std::vector<std::string> roles;  // the selected roles, e.g. {"api"} or {"api","scaler","alerts"}
  std::string env;                 // "local", "dev", "prod", or "" when --env was not used
  std::string instance_id;         // unique per process (pod name when HOSTNAME is set)
  std::string version;             // appliance version, e.g. "0.1.0"
  std::string revision;            // git revision of the build, or "unknown"
  std::string data_dir;            // writable folder for local state (data.dir, default ./data)
  std::string share_dir;           // read-only assets (config, docs), installed or in-tree
};

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::system_clock::time_point now() const = 0;
  virtual std::chrono::steady_clock::time_point steadyNow() const = 0;
};

using TimerId = std::uint64_t;

// Periodic and delayed work on host threads. A callback may block (an HTTP call) but runs
// of one timer never overlap: a run still going when the next is due delays that run.
// Timers created during init() first fire once every plugin has started. The host
// cancels a plugin's timers, and waits for running callbacks, before calling its stop().
class Scheduler {
 public:
  virtual ~Scheduler() = default;
  virtual TimerId every(std::string name, std::chrono::milliseconds period,
                        std::function<void()> callback) = 0;
  virtual TimerId after(std::string name, std::chrono::milliseconds delay,
                        std::function<void()> callback) = 0;
  virtual void cancel(TimerId id) = 0;  // waits for a running callback to finish
};

struct HealthResult {
  bool healthy = true;
  std::string message;  // why not, for /readyz and logs
};

// Named checks behind /readyz and /health. A check must answer quickly (cache the state of
// a remote dependency; do not dial it on every probe) and is called from HTTP threads.
class HealthRegistry {
 public:
  virtual ~HealthRegistry() = default;
  virtual void addCheck(std::string name, std::function<HealthResult()> check) = 0;
};

// Typed services shared between plugins. A service type declares
//   static constexpr std::string_view kServiceName = "task_store";
// and the providing plugin lists that name in its descriptor's `provides`.
class ServiceRegistry {
 public:
  virtual ~ServiceRegistry() = default;
  virtual Status provideService(std::string_view name, std::shared_ptr<void> service) = 0;
  virtual std::shared_ptr<void> findService(std::string_view name) const = 0;

  template <class T>
  Status provide(std::shared_ptr<T> service) {
    return provideService(T::kServiceName, std::static_pointer_cast<void>(std::move(service)));
  }
  // nullptr when no started plugin provides it (the host refuses to start a role whose
  // plugins require a service nobody provides, so a required service is never null).
  template <class T>
  std::shared_ptr<T> find() const {
    return std::static_pointer_cast<T>(findService(T::kServiceName));
  }
};

class PluginContext {
 public:
  virtual ~PluginContext() = default;

  virtual std::string_view pluginName() const = 0;
  virtual const Logger& logger() const = 0;
  // The one registry shared by all plugins and served by metrics_exporter.
  virtual prometheus::Registry& metrics() = 0;
  virtual HttpRouter& http() = 0;
  virtual ServiceRegistry& services() = 0;
  virtual Scheduler& scheduler() = 0;
  virtual const Clock& clock() const = 0;
  virtual const RuntimeInfo& runtime() const = 0;
  virtual HealthRegistry& health() = 0;
  // Registers `callback` to run on every host reload (SIGHUP), after the host re-read its own
  // settings (the config files, log.level): re-read whatever your plugin can pick up without
  // a restart, e.g. rotated secret files. Called from a host thread, never from a signal
  // handler, and never after your stop(); callbacks must be quick and thread-safe (they may
  // run alongside your routes and timers). Register during init().
  virtual void onReload(std::function<void()> callback) = 0;
  // An outbound HTTP(S) client (appliance/http_client.h), counted in the shared registry
  // under options.name. kInvalidArgument when the options are wrong (no name, an unreadable
  // CA, certificate or key file). Call from init() and keep it; it is thread-safe.
  // Appended in ABI 2 (SDK 0.2.0).
  virtual Result<std::shared_ptr<HttpClient>> httpClient(const HttpClientOptions& options) = 0;
  // Append new services here.
};

}  // namespace appliance
