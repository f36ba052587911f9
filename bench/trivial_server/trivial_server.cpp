// The HTTP ceiling on this machine: the host's own HttpServer (core/src/http_server.*: event
// loop, workers, middleware with metrics and correlation ids) with one route that answers a
// small constant JSON body and does nothing else. bench/run.sh loads it with the same wrk
// settings as the Task API, so the ratio between the two shows what the plugins and the
// store cost on top of the HTTP layer.
//
//   bench_trivial_server [--listen 127.0.0.1:0] [--threads 64] [--queue 1024]
//
// Prints `listening on HOST:PORT` once it accepts connections, then serves until SIGINT or
// SIGTERM.
#include <prometheus/registry.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

#include "http_server.h"
#include "logging.h"

namespace {

constexpr std::string_view kBody = R"({"status":"ok","service":"trivial"})";

struct Options {
  std::string listen = "127.0.0.1:0";
  int threads = 64;  // http.threads in config/base.yaml
  int queue = 1024;  // http.queue
};

constexpr const char* kUsage =
    "usage: bench_trivial_server [--listen HOST:PORT] [--threads N] [--queue N]\n"
    "Answers every request with a constant JSON body (the HTTP ceiling for bench/run.sh).\n"
    "Defaults: --listen 127.0.0.1:0 (a free port, printed) --threads 64 --queue 1024.\n";

[[noreturn]] void usage(const std::string& problem) {
  std::cerr << "bench_trivial_server: " << problem << "\n" << kUsage;
  std::exit(2);
}

int parsePositive(const std::string& flag, const std::string& text) {
  try {
    std::size_t used = 0;
    const int value = std::stoi(text, &used);
    if (used == text.size() && value > 0) return value;
  } catch (const std::exception&) {
  }
  usage(flag + " must be a positive integer, got '" + text + "'");
}

Options parseArgs(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::cout << kUsage;
      std::exit(0);
    }
    if (i + 1 >= argc) usage(flag + " needs a value");
    const std::string value = argv[++i];
    if (flag == "--listen") {
      options.listen = value;
    } else if (flag == "--threads") {
      options.threads = parsePositive(flag, value);
    } else if (flag == "--queue") {
      options.queue = parsePositive(flag, value);
    } else {
      usage("unknown option " + flag);
    }
  }
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parseArgs(argc, argv);

  // Block the termination signals before the server starts its threads, so only sigwait
  // sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  appliance::host::configureLogging(
      {appliance::LogLevel::kWarn, appliance::host::LogFormat::kText, 2});
  prometheus::Registry registry;
  appliance::host::ServerSettings settings;  // the defaults of config/base.yaml
  settings.listen = options.listen;
  settings.threads = options.threads;
  settings.queue = options.queue;
  settings.access_log = false;
  appliance::host::HttpServer server(settings, registry);
  // Every path and method: the scenarios' targets all get the constant answer.
  for (const char* method : {"GET", "POST", "PUT", "DELETE"}) {
    for (const char* path : {"/tasks", "/tasks/{id}", "/"}) {
      (void)server.addRoute(
          {method, path, [](const appliance::HttpRequest&, appliance::HttpResponse& response) {
             response.json(200, std::string(kBody));
           }});
    }
  }
  if (auto s = server.bind(); !s.isOk()) {
    std::cerr << "bench_trivial_server: " << s.message() << "\n";
    return 1;
  }
  server.start();
  std::cout << "listening on " << server.boundAddress("main") << std::endl;

  int received = 0;
  sigwait(&signals, &received);
  server.stop(std::chrono::steady_clock::now() + std::chrono::seconds(2));
  return 0;
}
