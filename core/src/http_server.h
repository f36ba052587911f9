#pragma once
// The host's HTTP server: listeners sharing one route table, served by an event loop
// (Boost.Asio) that owns every connection while it is idle, sending its request or receiving
// its response, and worker threads that run only for complete requests. A slow or silent
// client therefore costs a socket and a few hundred bytes, never a thread.
//
// Every request passes the middleware (correlation id, body limit, metrics, access log,
// JSON 404/405/413/500) before its handler runs. Routes are registered during init and read
// lock-free afterwards.

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "appliance/http.h"
#include "sdk/route_table.h"

namespace prometheus {
class Registry;
}

namespace appliance::host {

struct ServerSettings {
  std::string listen = "0.0.0.0:8080";
  int threads = 16;    // workers running handlers for the main listener
  int io_threads = 1;  // event loops shared by every listener
  int queue = 1024;    // listen backlog
  bool keep_alive = true;
  std::chrono::milliseconds keep_alive_timeout{10'000};  // idle between requests
  std::chrono::milliseconds header_timeout{10'000};      // the whole request head
  std::chrono::milliseconds body_timeout{30'000};        // the whole request body
  std::chrono::milliseconds write_timeout{30'000};       // the whole response
  int max_keep_alive_requests = 0;                       // 0: unlimited
  std::size_t max_connections = 10'000;                  // per listener
  std::size_t max_head_bytes = 16 * 1024;
  std::size_t max_header_count = 100;
  std::size_t max_body_bytes = 1024 * 1024;
  bool access_log = true;
};

class HttpServer : public HttpRouter {
 public:
  HttpServer(ServerSettings settings, prometheus::Registry& metrics);
  ~HttpServer() override;

  // HttpRouter, for plugins (and the host's own routes).
  Status addRoute(Route route) override;
  Status addListener(std::string name, ListenerOptions options) override;
  std::string boundAddress(std::string_view listener) const override;
  // The same, naming the plugin in errors ("metrics_exporter: listener 'metrics' ...").
  Status addRouteOwnedBy(const std::string& owner, Route route);
  Status addListenerOwnedBy(const std::string& owner, std::string name, ListenerOptions options);

  // Binds every listener's socket; a port in use fails with the address and the OS error.
  Status bind();
  void start();
  // While draining, responses carry "Connection: close" so keep-alive clients let go.
  void setDraining(bool draining);
  // Stops accepting, closes idle connections, waits (up to `deadline`) for requests being
  // read or handled, then closes the rest. Idempotent.
  void stop(std::chrono::steady_clock::time_point deadline);
  // Drops every handler (they may point into plugin code about to be unloaded).
  void clearRoutes();

  std::int64_t inFlight() const;
  // Open connections over every listener.
  std::int64_t openConnections() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace appliance::host
