// appliance: one binary, many roles. See README.md and `appliance --help`.

#include <Poco/Util/HelpFormatter.h>
#include <Poco/Util/Option.h>
#include <Poco/Util/OptionException.h>
#include <Poco/Util/OptionSet.h>
#include <Poco/Util/ServerApplication.h>

#include <malloc.h>
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "appliance/plugin.h"
#include "host.h"
#include "plugin_loader.h"

namespace {

using Poco::Util::Option;
using Poco::Util::OptionSet;

class ApplianceApp : public Poco::Util::ServerApplication {
 protected:
  void defineOptions(OptionSet& options) override {
    ServerApplication::defineOptions(options);
    options.addOption(
        Option("role", "r", "roles to run: api, scaler, alerts, all, or a comma list (default all)")
            .argument("ROLES")
            .callback(Poco::Util::OptionCallback<ApplianceApp>(this, &ApplianceApp::onRole)));
    options.addOption(
        Option("config", "c", "a YAML config file; repeat to overlay later files on earlier ones")
            .argument("FILE")
            .repeatable(true)
            .callback(Poco::Util::OptionCallback<ApplianceApp>(this, &ApplianceApp::onConfig)));
    options.addOption(
        Option("env", "e", "environment: loads base.yaml and NAME.yaml from the config folder")
            .argument("NAME")
            .callback(Poco::Util::OptionCallback<ApplianceApp>(this, &ApplianceApp::onEnv)));
    options.addOption(
        Option("check-config", "",
               "validate the configuration, print it with secrets redacted, exit")
            .callback(Poco::Util::OptionCallback<ApplianceApp>(this, &ApplianceApp::onCheck)));
    options.addOption(
        Option("list-plugins", "", "list installed plugins (name, version, ABI, services, file)")
            .callback(Poco::Util::OptionCallback<ApplianceApp>(this, &ApplianceApp::onList)));
    options.addOption(
        Option("version", "v", "print the version and exit")
            .callback(Poco::Util::OptionCallback<ApplianceApp>(this, &ApplianceApp::onVersion)));
    options.addOption(
        Option("help", "h", "show this help")
            .callback(Poco::Util::OptionCallback<ApplianceApp>(this, &ApplianceApp::onHelp)));
  }

  int main(const std::vector<std::string>& args) override {
    if (exit_now_) return appliance::host::kExitOk;
    if (!args.empty()) {
      std::fprintf(stderr, "appliance: unexpected argument '%s'; see --help\n",
                   args.front().c_str());
      return appliance::host::kExitConfig;
    }
    if (cli_.roles.empty()) cli_.roles = {"all"};
    appliance::host::Host host;
    if (cli_.list_plugins) return host.listPlugins(cli_);
    const int rc = host.startUp(cli_);
    if (rc >= 0) return rc;
    waitForTerminationRequest();
    return host.shutDown();
  }

 private:
  void onRole(const std::string&, const std::string& value) {
    for (auto& r : appliance::host::splitList(value)) cli_.roles.push_back(r);
  }
  void onConfig(const std::string&, const std::string& value) {
    cli_.config_files.push_back(value);
  }
  void onEnv(const std::string&, const std::string& value) { cli_.env = value; }
  void onCheck(const std::string&, const std::string&) { cli_.check_config = true; }
  void onList(const std::string&, const std::string&) { cli_.list_plugins = true; }
  void onVersion(const std::string&, const std::string&) {
    std::printf("appliance %s (SDK %s, ABI %u)\n", APPLIANCE_VERSION, APPLIANCE_SDK_VERSION,
                APPLIANCE_SDK_ABI_VERSION);
    stopOptionsProcessing();
    exit_now_ = true;
  }
  void onHelp(const std::string&, const std::string&) {
    Poco::Util::HelpFormatter help(options());
    help.setCommand("appliance");
    help.setUsage(
        "[--role=ROLES] [--env=NAME] [--config=FILE]... [--check-config | --list-plugins]");
    help.setHeader(
        "One binary for the Task Manager platform: task API, storage, metrics, alerts, runner "
        "scaler.");
    help.setUnixStyle(true);
    help.format(std::cout);
    stopOptionsProcessing();
    exit_now_ = true;
  }

  appliance::host::CommandLine cli_;
  bool exit_now_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  // Block the termination signals before any thread exists, so every thread inherits the mask
  // and only the main thread's sigwait (waitForTerminationRequest) ever receives them.
  sigset_t termination;
  sigemptyset(&termination);
  sigaddset(&termination, SIGINT);
  sigaddset(&termination, SIGQUIT);
  sigaddset(&termination, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &termination, nullptr);
  // glibc gives each busy thread its own malloc arena; with one HTTP thread per keep-alive
  // connection that costs megabytes of RSS for no measurable throughput (bench/README.md).
  if (!std::getenv("MALLOC_ARENA_MAX")) mallopt(M_ARENA_MAX, 2);
  try {
    ApplianceApp app;
    return app.run(argc, argv);
  } catch (const Poco::Util::OptionException& e) {
    std::fprintf(stderr, "appliance: %s; see --help\n", e.displayText().c_str());
    return appliance::host::kExitConfig;
  } catch (const Poco::Exception& e) {
    std::fprintf(stderr, "appliance: %s\n", e.displayText().c_str());
    return appliance::host::kExitFailure;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "appliance: %s\n", e.what());
    return appliance::host::kExitFailure;
  }
}
