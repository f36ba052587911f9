// The HTTP ceiling on this machine: a Poco::Net::HTTPServer with the appliance host's
// server parameters (thread-per-connection pool, listen queue, keep-alive) that answers every
// request with a small constant JSON body and does nothing else. bench/run.sh loads it with
// the same wrk settings as the Task API, so the ratio between the two shows what the host,
// the plugins and the store cost on top of Poco itself.
//
//   bench_trivial_server [--listen 127.0.0.1:0] [--threads 64] [--queue 256]
//
// Prints `listening on HOST:PORT` once it accepts connections, then serves until SIGINT or
// SIGTERM.
#include <Poco/Exception.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/ThreadPool.h>
#include <Poco/Timespan.h>

#include <signal.h>
#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

namespace {

constexpr std::string_view kBody = R"({"status":"ok","service":"trivial"})";

struct Options {
  std::string listen = "127.0.0.1:0";
  int threads = 64;  // http.threads in config/base.yaml
  int queue = 256;   // http.queue
};

// Answers with the constant body. Poco deletes the handler after each request, as it does
// for the host's handlers, so the per-request allocation pattern matches.
class ConstantHandler final : public Poco::Net::HTTPRequestHandler {
 public:
  void handleRequest(Poco::Net::HTTPServerRequest& request,
                     Poco::Net::HTTPServerResponse& response) override {
    // Drain any request body so the keep-alive connection stays in sync.
    request.stream().ignore(static_cast<std::streamsize>(1) << 30);
    response.setStatus(Poco::Net::HTTPResponse::HTTP_OK);
    response.setContentType("application/json");
    response.sendBuffer(kBody.data(), kBody.size());
  }
};

class ConstantFactory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest&) override {
    return new ConstantHandler;
  }
};

constexpr const char* kUsage =
    "usage: bench_trivial_server [--listen HOST:PORT] [--threads N] [--queue N]\n"
    "Answers every request with a constant JSON body (the HTTP ceiling for bench/run.sh).\n"
    "Defaults: --listen 127.0.0.1:0 (a free port, printed) --threads 64 --queue 256.\n";

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

  // Block the termination signals before Poco starts its threads, so only sigwait sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  try {
    Poco::Net::ServerSocket socket;
    socket.bind(Poco::Net::SocketAddress(options.listen), /*reuseAddress=*/true,
                /*reusePort=*/false);
    socket.listen(options.queue);

    // The same parameters as core/src/http_server.cpp sets from http.* in config/base.yaml.
    auto* params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(options.threads);
    params->setMaxQueued(options.queue);
    params->setKeepAlive(true);
    params->setKeepAliveTimeout(Poco::Timespan(10, 0));
    params->setMaxKeepAliveRequests(0);  // unlimited, as the host's default
    params->setServerName("trivial");
    Poco::ThreadPool pool(std::min(2, options.threads), options.threads);
    Poco::Net::HTTPServer server(new ConstantFactory, pool, socket, params);
    server.start();
    std::cout << "listening on " << socket.address().toString() << std::endl;

    int received = 0;
    sigwait(&signals, &received);
    server.stopAll(true);
    pool.joinAll();
  } catch (const Poco::Exception& e) {
    std::cerr << "bench_trivial_server: " << options.listen << ": " << e.displayText() << "\n";
    return 1;
  }
  return 0;
}
