#pragma once
// FakeContext: a PluginContext for unit tests, with no host. Everything a plugin does
// through it can be read back: log lines, metrics, routes (call them directly), services,
// timers (fire them by hand), health checks, reload callbacks (run them with reload()), and a
// manual clock.
//
// Link target: appliance::sdk_testing.

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "appliance/context.h"
#include "appliance/http.h"
#include "appliance/logger.h"
#include "appliance/testing/fake_http_client.h"

namespace appliance::testing {

class ManualClock : public Clock {
 public:
  std::chrono::system_clock::time_point now() const override;
  std::chrono::steady_clock::time_point steadyNow() const override;
  void advance(std::chrono::microseconds by);
  void set(std::chrono::system_clock::time_point to);

 private:
  mutable std::mutex mutex_;
  std::chrono::system_clock::time_point now_{std::chrono::seconds(1'700'000'000)};
  std::chrono::steady_clock::time_point steady_{};
};

struct CapturedLog {
  LogLevel level;
  std::string message;
  std::map<std::string, std::string> fields;
};

class CapturingLogger : public Logger {
 public:
  bool enabled(LogLevel) const override { return true; }
  void log(LogLevel level, std::string_view message,
           std::span<const LogField> fields) const override;
  std::vector<CapturedLog> lines() const;
  bool contains(std::string_view text) const;  // any message or field value contains text

 private:
  mutable std::mutex mutex_;
  mutable std::vector<CapturedLog> lines_;
};

// Routes registered by the plugin, callable without a server. Applies the same matching
// (404/405, path parameters) and body limit as the host.
class FakeRouter : public HttpRouter {
 public:
  FakeRouter();
  ~FakeRouter() override;
  Status addRoute(Route route) override;
  Status addListener(std::string name, ListenerOptions options) override;
  std::string boundAddress(std::string_view listener) const override;

  // Sends a request through the route table. `target` may include a query string.
  HttpResponse call(std::string method, std::string target, std::string body = {},
                    std::vector<HttpHeader> headers = {}, std::string listener = "main");
  std::vector<std::string> routes() const;  // "GET /tasks", ...
  std::map<std::string, ListenerOptions> listeners() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class FakeServices : public ServiceRegistry {
 public:
  Status provideService(std::string_view name, std::shared_ptr<void> service) override;
  std::shared_ptr<void> findService(std::string_view name) const override;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<void>, std::less<>> services_;
};

// Timers never fire on their own: tests call fire()/fireAll().
class FakeScheduler : public Scheduler {
 public:
  struct Timer {
    std::string name;
    std::chrono::milliseconds period;
    bool repeating;
    std::function<void()> callback;
  };
  TimerId every(std::string name, std::chrono::milliseconds period,
                std::function<void()> callback) override;
  TimerId after(std::string name, std::chrono::milliseconds delay,
                std::function<void()> callback) override;
  void cancel(TimerId id) override;

  bool fire(std::string_view name);  // runs the named timer once; false if none
  void fireAll();
  std::vector<std::string> names() const;

 private:
  mutable std::mutex mutex_;
  std::map<TimerId, Timer> timers_;
  TimerId next_ = 1;
};

class FakeHealth : public HealthRegistry {
 public:
  void addCheck(std::string name, std::function<HealthResult()> check) override;
  // name -> result of running each check now.
  std::map<std::string, HealthResult> run() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::function<HealthResult()>> checks_;
};

class FakeContext : public PluginContext {
 public:
  explicit FakeContext(std::string plugin_name = "test_plugin");
  ~FakeContext() override;

  std::string_view pluginName() const override { return name_; }
  const Logger& logger() const override { return log; }
  prometheus::Registry& metrics() override { return *registry; }
  HttpRouter& http() override { return router; }
  ServiceRegistry& services() override { return service_registry; }
  Scheduler& scheduler() override { return timers; }
  const Clock& clock() const override { return manual_clock; }
  const RuntimeInfo& runtime() const override { return runtime_info; }
  HealthRegistry& health() override { return health_checks; }
  void onReload(std::function<void()> callback) override;
  // Returns `http_client` (shared by every caller) and records the options asked for;
  // kInvalidArgument when options.name is empty, as the host does.
  Result<std::shared_ptr<HttpClient>> httpClient(const HttpClientOptions& options) override;

  // Runs every callback registered with onReload(), in order, as the host does on SIGHUP.
  void reload();

  // The value of a counter or gauge sample (histograms: the sample count), or nullopt.
  std::optional<double> metricValue(std::string_view name,
                                    const std::map<std::string, std::string>& labels = {}) const;
  // The whole registry in Prometheus text format.
  std::string metricsText() const;

  CapturingLogger log;
  std::shared_ptr<prometheus::Registry> registry;
  FakeRouter router;
  FakeServices service_registry;
  FakeScheduler timers;
  ManualClock manual_clock;
  RuntimeInfo runtime_info;
  FakeHealth health_checks;
  std::shared_ptr<FakeHttpClient> http_client = std::make_shared<FakeHttpClient>();
  std::vector<HttpClientOptions> http_client_options;

 private:
  std::string name_;
  std::mutex reload_mutex_;
  std::vector<std::function<void()>> reload_callbacks_;
};

}  // namespace appliance::testing
