#include "host.h"

#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <boost/dll/runtime_symbol_info.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <thread>

#include "appliance/plugin.h"
#include "appliance/time.h"
#include "config_loader.h"
#include "host_config.h"
#include "http_server.h"
#include "logging.h"
#include "outbound_http.h"
#include "plugin_loader.h"
#include "scheduler.h"
#include "test_clock.h"

#ifndef APPLIANCE_VERSION
#define APPLIANCE_VERSION "0.0.0"
#endif
#ifndef APPLIANCE_REVISION
#define APPLIANCE_REVISION "unknown"
#endif
#ifndef APPLIANCE_SOURCE_DIR
#define APPLIANCE_SOURCE_DIR ""
#endif

namespace appliance::host {
namespace fs = std::filesystem;

std::string executableDir() { return boost::dll::program_location().parent_path().string(); }

namespace {

void fail(const std::string& message) { std::fprintf(stderr, "appliance: %s\n", message.c_str()); }

std::string shareDir() {
  const fs::path installed = fs::path(executableDir()) / ".." / "share" / "appliance";
  if (fs::exists(installed)) return fs::weakly_canonical(installed).string();
  return APPLIANCE_SOURCE_DIR;  // running from a build tree
}

std::string configDir() {
  if (fs::is_directory("config")) return "config";
  return shareDir() + "/config";
}

std::string defaultPluginDir() {
  return fs::weakly_canonical(fs::path(executableDir()) / ".." / "lib" / "appliance" / "plugins")
      .string();
}

// The wall clock, or for end-to-end tests the one APPLIANCE_TEST_CLOCK_FILE drives.
class SystemClock : public Clock {
 public:
  std::unique_ptr<FileClock> test_clock;  // set once at start-up, before any plugin runs
  std::chrono::system_clock::time_point now() const override {
    return test_clock ? test_clock->now() : std::chrono::system_clock::now();
  }
  std::chrono::steady_clock::time_point steadyNow() const override {
    return std::chrono::steady_clock::now();
  }
};

// Services, health checks and reload callbacks shared by all plugins.
struct SharedServices {
  std::mutex mutex;
  std::map<std::string, std::shared_ptr<void>, std::less<>> services;
  struct Check {
    std::string name;
    std::function<HealthResult()> fn;
  };
  std::vector<Check> checks;
  struct ReloadHook {
    std::string owner;  // plugin name: its hooks are dropped before its stop()
    std::function<void()> fn;
  };
  std::vector<ReloadHook> reload_hooks;
  std::shared_ptr<OutboundHttpMetrics> outbound_metrics;  // created by the first httpClient()
};

class PluginServices : public ServiceRegistry {
 public:
  PluginServices(SharedServices& shared, const LoadedPlugin& plugin)
      : shared_(shared), plugin_(plugin) {}
  Status provideService(std::string_view name, std::shared_ptr<void> service) override {
    const auto& declared = plugin_.provides;
    if (std::find(declared.begin(), declared.end(), name) == declared.end()) {
      return Status::failedPrecondition("plugin " + plugin_.name + " provided service '" +
                                        std::string(name) +
                                        "' without declaring it in its descriptor's provides");
    }
    std::lock_guard lock(shared_.mutex);
    if (!shared_.services.emplace(std::string(name), std::move(service)).second) {
      return Status::failedPrecondition("service '" + std::string(name) + "' is already provided");
    }
    return Status::ok();
  }
  std::shared_ptr<void> findService(std::string_view name) const override {
    std::lock_guard lock(shared_.mutex);
    auto it = shared_.services.find(name);
    return it == shared_.services.end() ? nullptr : it->second;
  }

 private:
  SharedServices& shared_;
  const LoadedPlugin& plugin_;
};

class PluginHealth : public HealthRegistry {
 public:
  explicit PluginHealth(SharedServices& shared) : shared_(shared) {}
  void addCheck(std::string name, std::function<HealthResult()> check) override {
    std::lock_guard lock(shared_.mutex);
    shared_.checks.push_back({std::move(name), std::move(check)});
  }

 private:
  SharedServices& shared_;
};

// Routes and listeners added through a plugin's context carry its name into error messages.
class PluginRouter : public HttpRouter {
 public:
  PluginRouter(HttpServer& server, std::string owner) : server_(server), owner_(std::move(owner)) {}
  Status addRoute(Route route) override {
    return server_.addRouteOwnedBy(owner_, std::move(route));
  }
  Status addListener(std::string name, ListenerOptions options) override {
    return server_.addListenerOwnedBy(owner_, std::move(name), std::move(options));
  }
  std::string boundAddress(std::string_view listener) const override {
    return server_.boundAddress(listener);
  }

 private:
  HttpServer& server_;
  std::string owner_;
};

class HostContext : public PluginContext {
 public:
  HostContext(LoadedPlugin& plugin, prometheus::Registry& registry, HttpServer& http,
              SharedServices& shared, HostScheduler& scheduler, const Clock& clock,
              const RuntimeInfo& runtime)
      : plugin_(plugin),
        logger_(plugin.name),
        registry_(registry),
        http_(http, plugin.name),
        services_(shared, plugin),
        scheduler_(scheduler, plugin.name),
        clock_(clock),
        runtime_(runtime),
        health_(shared),
        shared_(shared) {}

  std::string_view pluginName() const override { return plugin_.name; }
  const Logger& logger() const override { return logger_; }
  prometheus::Registry& metrics() override { return registry_; }
  HttpRouter& http() override { return http_; }
  ServiceRegistry& services() override { return services_; }
  Scheduler& scheduler() override { return scheduler_; }
  const Clock& clock() const override { return clock_; }
  const RuntimeInfo& runtime() const override { return runtime_; }
  HealthRegistry& health() override { return health_; }
  void onReload(std::function<void()> callback) override {
    std::lock_guard lock(shared_.mutex);
    shared_.reload_hooks.push_back({plugin_.name, std::move(callback)});
  }
  Result<std::shared_ptr<HttpClient>> httpClient(const HttpClientOptions& options) override {
    auto module = loadOutboundHttpModule();
    if (!module) return module.status();
    std::shared_ptr<OutboundHttpMetrics> metrics;
    {
      std::lock_guard lock(shared_.mutex);
      if (!shared_.outbound_metrics) {
        shared_.outbound_metrics = module.value()->make_metrics(registry_);
      }
      metrics = shared_.outbound_metrics;
    }
    auto client =
        module.value()->make_client(options, std::move(metrics), "appliance/" + runtime_.version);
    if (client && !options.verify_tls) {
      logger_.warn("outbound TLS certificate verification is off for this client",
                   {{"client", options.name}});
    }
    return client;
  }

 private:
  LoadedPlugin& plugin_;
  HostLogger logger_;
  prometheus::Registry& registry_;
  PluginRouter http_;
  PluginServices services_;
  PluginScheduler scheduler_;
  const Clock& clock_;
  const RuntimeInfo& runtime_;
  PluginHealth health_;
  SharedServices& shared_;
};

// The plugin names found in the plugin folders the config names: the only other top-level
// sections the host config accepts.
std::vector<std::string> installedPluginNames(const ConfigNode& root,
                                              const std::string& default_dir) {
  std::vector<std::string> installed;
  for (const auto& file : discoverPluginFiles(pluginDirsFromConfig(root, default_dir))) {
    installed.push_back(fs::path(file).stem().string());
  }
  return installed;
}

}  // namespace

struct Host::State {
  CommandLine cli;  // kept to re-read the same configuration on reload()
  HostConfig config;
  RuntimeInfo runtime;
  SystemClock clock;
  HostLogger log{"host"};
  // Declaration order is destruction order in reverse: plugins (and their libraries) go last,
  // after everything that may hold a pointer into their code.
  std::vector<std::unique_ptr<LoadedPlugin>> plugins;
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  SharedServices shared;
  std::unique_ptr<HostScheduler> scheduler;
  std::unique_ptr<HttpServer> http;
  std::vector<std::unique_ptr<HostContext>> contexts;
  std::vector<LoadedPlugin*> started;
  prometheus::Family<prometheus::Gauge>* plugin_up = nullptr;
  std::atomic<bool> ready{false};
  std::chrono::steady_clock::time_point boot = std::chrono::steady_clock::now();

  ~State() {
    // Anything holding plugin code goes before the libraries are unloaded.
    if (http) http->stop(std::chrono::steady_clock::now());
    scheduler.reset();
    if (http) http->clearRoutes();
    {
      std::lock_guard lock(shared.mutex);
      shared.services.clear();
      shared.checks.clear();
      shared.reload_hooks.clear();
    }
    contexts.clear();
    for (auto it = plugins.rbegin(); it != plugins.rend(); ++it) (*it)->instance.reset();
    http.reset();
    registry.reset();
    plugins.clear();
  }

  Result<ConfigNode> loadEffectiveConfig(const CommandLine& cli);
  int loadAndConfigure(const CommandLine& cli, const ConfigNode& root);
  void addHostRoutes();
  void stopStarted(std::chrono::steady_clock::time_point deadline);
  Status reloadSettings();
  void runReloadHooks();
};

Result<ConfigNode> Host::State::loadEffectiveConfig(const CommandLine& cli) {
  ConfigSources sources;
  sources.environment = processEnvironment();
  std::string env = cli.env;
  if (env.empty() && cli.config_files.empty()) {
    auto it = sources.environment.find("APPLIANCE_ENV");
    if (it == sources.environment.end() || it->second.empty()) {
      return Status::invalid(
          "no configuration given: pass --env=NAME (config/NAME.yaml) or --config=FILE");
    }
    env = it->second;
  }
  if (!env.empty()) {
    auto files = filesForEnv(configDir(), env);
    if (!files) return files.status();
    sources.files = std::move(files).value();
  }
  sources.files.insert(sources.files.end(), cli.config_files.begin(), cli.config_files.end());
  if (runtime.env != env) runtime.env = env;  // unchanged on reload, while plugins read it
  return loadConfig(sources);
}

int Host::State::loadAndConfigure(const CommandLine& cli, const ConfigNode& root) {
  const std::string default_dir = defaultPluginDir();
  auto parsed = parseHostConfig(root, installedPluginNames(root, default_dir), default_dir);
  if (!parsed) {
    fail(parsed.status().message());
    return kExitConfig;
  }
  config = std::move(parsed).value();
  configureLogging(config.log);

  auto names = pluginsForRoles(config, cli.roles);
  if (!names) {
    fail(names.status().message());
    return kExitConfig;
  }
  auto files = locatePlugins(*names, config.plugin_dirs);
  if (!files) {
    fail(files.status().message());
    return kExitConfig;
  }
  for (const auto& file : *files) {
    auto loaded = loadPlugin(file);
    if (!loaded) {
      fail(loaded.status().message());
      return kExitConfig;
    }
    plugins.push_back(std::move(loaded).value());
  }
  std::string role_description = "role ";
  for (std::size_t i = 0; i < cli.roles.size(); ++i)
    role_description += (i ? "," : "") + cli.roles[i];
  if (Status s = orderByDependencies(plugins, role_description); !s) {
    fail(s.message());
    return kExitConfig;
  }
  std::string errors;
  for (auto& p : plugins) {
    p->instance.reset(p->descriptor->create());
    if (!p->instance) {
      fail(p->file + ": create() failed");
      return kExitConfig;
    }
    Status s;
    try {
      s = p->instance->configure(root.child(p->name));
    } catch (const std::exception& e) {
      s = Status::internal(p->name + ": configure() threw: " + e.what());
    }
    if (!s) errors += (errors.empty() ? "" : "\n") + s.message();
  }
  if (!errors.empty()) {
    fail(errors);
    return kExitConfig;
  }
  return kExitOk;
}

void Host::State::addHostRoutes() {
  auto checks = [this](std::string& failing) {
    std::vector<SharedServices::Check> copy;
    {
      std::lock_guard lock(shared.mutex);
      copy = shared.checks;
    }
    std::string body = "{";
    bool all_ok = true;
    for (std::size_t i = 0; i < copy.size(); ++i) {
      HealthResult r;
      try {
        r = copy[i].fn();
      } catch (const std::exception& e) {
        r = {false, e.what()};
      }
      if (!r.healthy) {
        all_ok = false;
        failing += (failing.empty() ? "" : ", ") + copy[i].name;
      }
      body += (i ? "," : "") + jsonQuote(copy[i].name) +
              ":{\"healthy\":" + (r.healthy ? "true" : "false") +
              ",\"message\":" + jsonQuote(r.message) + "}";
    }
    body += "}";
    return std::make_pair(all_ok, body);
  };
  (void)http->addRoute({"GET", "/livez", [](const HttpRequest&, HttpResponse& r) {
                          r.json(200, "{\"status\":\"alive\"}");
                        }});
  (void)http->addRoute(
      {"GET", "/readyz", [this, checks](const HttpRequest&, HttpResponse& r) {
         std::string failing;
         if (!ready.load()) {
           r.json(503, "{\"status\":\"not ready\",\"failing\":[\"host\"],\"checks\":{}}");
           return;
         }
         auto [ok, body] = checks(failing);
         std::string list = "[";
         for (const auto& name : splitList(failing))
           list += (list.size() > 1 ? "," : "") + jsonQuote(name);
         list += "]";
         r.json(ok ? 200 : 503, std::string("{\"status\":\"") + (ok ? "ready" : "not ready") +
                                    "\",\"failing\":" + list + ",\"checks\":" + body + "}");
       }});
  (void)http->addRoute(
      {"GET", "/health", [this, checks](const HttpRequest&, HttpResponse& r) {
         std::string failing;
         auto [ok, body] = checks(failing);
         const std::string ts = formatTimestamp(
             std::chrono::duration_cast<std::chrono::microseconds>(clock.now().time_since_epoch())
                 .count());
         if (ok) {
           r.json(200, "{\"status\":\"healthy\",\"timestamp\":\"" + ts + "\"}");
         } else {
           r.json(503, "{\"status\":\"unhealthy\",\"timestamp\":\"" + ts +
                           "\",\"detail\":" + jsonQuote("failing: " + failing) + "}");
         }
       }});
}

void Host::State::stopStarted(std::chrono::steady_clock::time_point deadline) {
  for (auto it = started.rbegin(); it != started.rend(); ++it) {
    LoadedPlugin* p = *it;
    scheduler->cancelOwnedBy(p->name);
    {
      std::lock_guard lock(shared.mutex);
      std::erase_if(shared.reload_hooks, [p](const auto& hook) { return hook.owner == p->name; });
    }
    try {
      p->instance->stop(deadline);
    } catch (const std::exception& e) {
      log.error("plugin stop() threw", {{"plugin", p->name}, {"error", e.what()}});
    }
    plugin_up->Add({{"plugin", p->name}}).Set(0);
    log.info("plugin stopped", {{"plugin", p->name}});
  }
  started.clear();
}

// Re-reads the configuration exactly as at start-up and applies what can change while serving:
// log.level. Plugin sections are not re-configured; other host settings need a restart.
Status Host::State::reloadSettings() {
  auto root = loadEffectiveConfig(cli);
  if (!root) return root.status();
  const std::string default_dir = defaultPluginDir();
  auto parsed = parseHostConfig(*root, installedPluginNames(*root, default_dir), default_dir);
  if (!parsed) return parsed.status();
  setLogLevel(parsed->log.level);
  config.log.level = parsed->log.level;
  log.info("configuration re-read", {{"log_level", logLevelName(parsed->log.level)}});
  return Status::ok();
}

// Runs on the main thread, like stopStarted(), so a hook never runs once its plugin stopped.
void Host::State::runReloadHooks() {
  std::vector<SharedServices::ReloadHook> hooks;
  {
    std::lock_guard lock(shared.mutex);
    hooks = shared.reload_hooks;
  }
  for (const auto& hook : hooks) {
    try {
      hook.fn();
    } catch (const std::exception& e) {
      log.error("plugin reload callback threw", {{"plugin", hook.owner}, {"error", e.what()}});
    }
  }
}

Host::Host() : state_(std::make_unique<State>()) {}
Host::~Host() = default;

int Host::startUp(const CommandLine& cli) {
  State& st = *state_;
  st.cli = cli;
  configureLogging({LogLevel::kInfo, defaultLogFormat(), 1});
  auto root = st.loadEffectiveConfig(cli);
  if (!root) {
    fail(root.status().message());
    return kExitConfig;
  }
  if (int rc = st.loadAndConfigure(cli, *root); rc != kExitOk) return rc;
  if (const char* path = std::getenv(kTestClockEnv); path && *path) {
    auto clock = FileClock::open(path);
    if (!clock) {
      fail(clock.status().message());
      return kExitConfig;
    }
    st.clock.test_clock = std::move(clock).value();
    st.log.warn("the wall clock is read from a file (testing only; unset " +
                    std::string(kTestClockEnv) + " in production)",
                {{"file", st.clock.test_clock->path()}});
  }
  if (cli.check_config) {
    std::fputs(redactedYaml(*root).c_str(), stdout);
    std::string names;
    for (const auto& p : st.plugins) names += (names.empty() ? "" : ", ") + p->name;
    std::fprintf(stderr, "appliance: configuration is valid (plugins: %s)\n", names.c_str());
    return kExitOk;
  }

  st.runtime.roles = cli.roles;
  st.runtime.instance_id = st.config.instance_id;
  st.runtime.version = APPLIANCE_VERSION;
  st.runtime.revision = APPLIANCE_REVISION;
  st.runtime.share_dir = shareDir();
  std::error_code ec;
  fs::create_directories(st.config.data_dir, ec);
  if (ec) {
    fail("data.dir " + st.config.data_dir + ": cannot create: " + ec.message());
    return kExitFailure;
  }
  st.runtime.data_dir = fs::absolute(st.config.data_dir).string();

  st.scheduler = std::make_unique<HostScheduler>();
  st.http = std::make_unique<HttpServer>(st.config.http, *st.registry);
  st.plugin_up = &prometheus::BuildGauge()
                      .Name("appliance_plugin_up")
                      .Help("1 while a plugin is started and running, else 0.")
                      .Register(*st.registry);
  st.addHostRoutes();

  for (auto& p : st.plugins) {
    st.plugin_up->Add({{"plugin", p->name}}).Set(0);
    st.contexts.push_back(std::make_unique<HostContext>(*p, *st.registry, *st.http, st.shared,
                                                        *st.scheduler, st.clock, st.runtime));
    Status s;
    try {
      s = p->instance->init(*st.contexts.back());
    } catch (const std::exception& e) {
      s = Status::internal(std::string("init() threw: ") + e.what());
    }
    if (!s) {
      fail("plugin " + p->name + ": init failed: " + s.message());
      return kExitFailure;
    }
  }
  if (Status s = st.http->bind(); !s) {
    fail(s.message());
    return kExitFailure;
  }
  for (auto& p : st.plugins) {
    Status s;
    try {
      s = p->instance->start();
    } catch (const std::exception& e) {
      s = Status::internal(std::string("start() threw: ") + e.what());
    }
    if (!s) {
      fail("plugin " + p->name + ": start failed: " + s.message());
      st.stopStarted(std::chrono::steady_clock::now() + std::chrono::seconds(5));
      return kExitFailure;
    }
    st.started.push_back(p.get());
    st.plugin_up->Add({{"plugin", p->name}}).Set(1);
  }
  st.http->start();
  st.scheduler->activate();
  st.ready.store(true);
  const auto startup_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - st.boot)
                              .count();
  std::string names;
  for (const auto& p : st.plugins) names += (names.empty() ? "" : ",") + p->name;
  std::string roles;
  for (const auto& r : cli.roles) roles += (roles.empty() ? "" : ",") + r;
  st.log.info("ready", {{"listen", st.http->boundAddress("main")},
                        {"roles", roles},
                        {"plugins", names},
                        {"env", st.runtime.env},
                        {"startup_ms", static_cast<std::int64_t>(startup_ms)}});
  return -1;
}

void Host::reload() {
  State& st = *state_;
  st.log.info("SIGHUP: reloading the configuration, then the plugins");
  Status s;
  try {
    s = st.reloadSettings();
  } catch (const std::exception& e) {
    s = Status::internal(e.what());
  }
  if (!s) {
    st.log.error("cannot reload the configuration; keeping the current settings",
                 {{"error", s.message()}});
  }
  st.runReloadHooks();
}

int Host::shutDown() {
  State& st = *state_;
  st.log.info("shutting down: readiness off, draining requests");
  st.ready.store(false);
  st.http->setDraining(true);
  if (st.config.shutdown_delay.count() > 0) std::this_thread::sleep_for(st.config.shutdown_delay);
  const auto deadline = std::chrono::steady_clock::now() + st.config.drain_timeout;
  st.http->stop(deadline);
  st.stopStarted(std::max(deadline, std::chrono::steady_clock::now() + std::chrono::seconds(2)));
  st.log.info("stopped");
  return kExitOk;
}

int Host::runRuleTool(const CommandLine& cli) {
  State& st = *state_;
  std::vector<std::string> dirs{defaultPluginDir()};
  if (!cli.env.empty() || !cli.config_files.empty()) {
    auto root = st.loadEffectiveConfig(cli);
    if (!root) {
      fail(root.status().message());
      return kExitConfig;
    }
    dirs = pluginDirsFromConfig(*root, defaultPluginDir());
  }
  auto files = locatePlugins({"alert_evaluator"}, dirs);
  if (!files) {
    fail("--check-rules/--test-rules need the alert_evaluator plugin: " + files.status().message());
    return kExitConfig;
  }
  auto loaded = loadPlugin(files->front());
  if (!loaded) {
    fail(loaded.status().message());
    return kExitConfig;
  }
  using RulesCli = int(const char*, int, const char* const*) noexcept;
  const auto& library = (*loaded)->library;
  if (!library.has("appliance_alert_rules_cli")) {
    fail(files->front() + ": does not export appliance_alert_rules_cli (an older alert_evaluator)");
    return kExitConfig;
  }
  auto& run = library.get<RulesCli>("appliance_alert_rules_cli");
  int rc = kExitOk;
  for (const auto& [mode, list] :
       {std::pair{"check", &cli.check_rules}, std::pair{"test", &cli.test_rules}}) {
    if (list->empty()) continue;
    std::vector<const char*> argv;
    for (const auto& f : *list) argv.push_back(f.c_str());
    const int r = run(mode, static_cast<int>(argv.size()), argv.data());
    if (r != 0) rc = r == 1 ? kExitFailure : kExitConfig;
  }
  std::fflush(stdout);
  return rc;
}

int Host::listPlugins(const CommandLine& cli) {
  State& st = *state_;
  std::vector<std::string> dirs{defaultPluginDir()};
  if (!cli.env.empty() || !cli.config_files.empty()) {
    auto root = st.loadEffectiveConfig(cli);
    if (!root) {
      fail(root.status().message());
      return kExitConfig;
    }
    dirs = pluginDirsFromConfig(*root, defaultPluginDir());
  }
  std::printf("%-20s %-10s %-4s %-22s %-22s %s\n", "NAME", "VERSION", "ABI", "PROVIDES", "REQUIRES",
              "FILE");
  int rc = kExitOk;
  std::map<std::string, std::string> seen;
  for (const auto& file : discoverPluginFiles(dirs)) {
    auto loaded = loadPlugin(file);
    if (!loaded) {
      std::printf("%-20s refused: %s\n", fs::path(file).stem().c_str(),
                  loaded.status().message().c_str());
      rc = kExitConfig;
      continue;
    }
    const auto& p = **loaded;
    if (auto [it, inserted] = seen.emplace(p.name, file); !inserted) {
      std::printf("%-20s refused: %s: duplicate plugin name, already provided by %s\n",
                  p.name.c_str(), file.c_str(), it->second.c_str());
      rc = kExitConfig;
      continue;
    }
    auto join = [](const std::vector<std::string>& v) {
      std::string s;
      for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
      return s.empty() ? std::string("-") : s;
    };
    std::printf("%-20s %-10s %-4u %-22s %-22s %s\n", p.name.c_str(), p.descriptor->version,
                p.descriptor->abi_version, join(p.provides).c_str(),
                join(p.requires_services).c_str(), file.c_str());
  }
  return rc;
}

}  // namespace appliance::host
