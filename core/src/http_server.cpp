#include "http_server.h"

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/ThreadPool.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <random>
#include <thread>
#include <unordered_map>

#include "logging.h"

namespace appliance::host {
namespace {

constexpr std::size_t kStatusSlots = 600;

std::string_view normalizedMethod(std::string_view m) {
  for (std::string_view known : {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"}) {
    if (m == known) return known;
  }
  return "OTHER";
}

// Metric handles for one route (or for unmatched requests), resolved before serving starts.
struct RouteMetrics {
  prometheus::Histogram* duration = nullptr;
  std::array<std::atomic<prometheus::Counter*>, kStatusSlots> by_status{};
  std::string method;
  std::string route;
};

void discardBody(std::istream& in, std::size_t at_most) {
  char buffer[16384];
  std::size_t total = 0;
  while (total < at_most && (in.read(buffer, sizeof buffer) || in.gcount() > 0)) {
    total += static_cast<std::size_t>(in.gcount());
  }
}

bool acceptableCorrelationId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == ':';
    if (!ok) return false;
  }
  return true;
}

std::string newCorrelationId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(32, '0');
  std::uint64_t a = rng(), b = rng();
  for (int i = 0; i < 16; ++i) {
    out[i] = kHex[(a >> (i * 4)) & 0xF];
    out[16 + i] = kHex[(b >> (i * 4)) & 0xF];
  }
  return out;
}

}  // namespace

struct Listener {
  std::string name;
  std::string owner;  // the plugin that added it; empty for the host's main listener
  ListenerOptions options;
  std::unique_ptr<Poco::Net::ServerSocket> socket;
  std::unique_ptr<Poco::ThreadPool> pool;
  std::unique_ptr<Poco::Net::HTTPServer> server;
  std::string bound;
};

struct HttpServer::Impl {
  ServerSettings settings;
  RouteTable routes;
  std::map<std::string, Listener> listeners;
  std::atomic<bool> draining{false};
  std::atomic<std::int64_t> in_flight{0};
  bool started = false;

  prometheus::Family<prometheus::Counter>* requests_total = nullptr;
  prometheus::Family<prometheus::Histogram>* duration = nullptr;
  prometheus::Gauge* in_flight_gauge = nullptr;
  std::unordered_map<const RouteTable::Entry*, std::unique_ptr<RouteMetrics>> route_metrics;
  std::unordered_map<std::string, std::unique_ptr<RouteMetrics>> unmatched_metrics;  // by method
  HostLogger log{"http"};

  RouteMetrics& metricsFor(const RouteTable::Entry* entry, std::string_view method);
  void count(RouteMetrics& m, int status, double seconds);
  void handle(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& resp,
              const std::string& listener, bool access_log);
};

namespace {

const prometheus::Histogram::BucketBoundaries& durationBuckets() {
  static const prometheus::Histogram::BucketBoundaries kBuckets{
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return kBuckets;
}

class Handler : public Poco::Net::HTTPRequestHandler {
 public:
  Handler(HttpServer::Impl& impl, const Listener& listener) : impl_(impl), listener_(listener) {}
  void handleRequest(Poco::Net::HTTPServerRequest& req,
                     Poco::Net::HTTPServerResponse& resp) override {
    impl_.handle(req, resp, listener_.name, listener_.options.access_log);
  }

 private:
  HttpServer::Impl& impl_;
  const Listener& listener_;
};

class Factory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  Factory(HttpServer::Impl& impl, const Listener& listener) : impl_(impl), listener_(listener) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest&) override {
    return new Handler(impl_, listener_);
  }

 private:
  HttpServer::Impl& impl_;
  const Listener& listener_;
};

}  // namespace

RouteMetrics& HttpServer::Impl::metricsFor(const RouteTable::Entry* entry,
                                           std::string_view method) {
  if (entry) return *route_metrics.at(entry);
  auto it = unmatched_metrics.find(std::string(normalizedMethod(method)));
  return *it->second;
}

void HttpServer::Impl::count(RouteMetrics& m, int status, double seconds) {
  m.duration->Observe(seconds);
  const std::size_t slot = status >= 0 && status < static_cast<int>(kStatusSlots) ? status : 0;
  prometheus::Counter* counter = m.by_status[slot].load(std::memory_order_acquire);
  if (!counter) {
    // First response with this status on this route: Family::Add is idempotent and locked.
    counter = &requests_total->Add(
        {{"method", m.method}, {"route", m.route}, {"status", std::to_string(status)}});
    m.by_status[slot].store(counter, std::memory_order_release);
  }
  counter->Increment();
}

void HttpServer::Impl::handle(Poco::Net::HTTPServerRequest& req,
                              Poco::Net::HTTPServerResponse& resp, const std::string& listener,
                              bool access_log) {
  const auto started_at = std::chrono::steady_clock::now();
  in_flight.fetch_add(1, std::memory_order_relaxed);
  in_flight_gauge->Increment();

  HttpRequest request;
  HttpResponse response;
  request.method = req.getMethod();
  const std::string& uri = req.getURI();
  const std::size_t q = uri.find('?');
  request.path = uri.substr(0, q);
  if (q != std::string::npos) request.query = uri.substr(q + 1);

  // get(name, default) returns a reference to `default`: it must outlive this function.
  static const std::string kNoId;
  const std::string& given_id =
      req.has("correlation-id") ? req.get("correlation-id") : req.get("X-Request-ID", kNoId);
  request.correlation_id = acceptableCorrelationId(given_id) ? given_id : newCorrelationId();
  setThreadCorrelationId(request.correlation_id);

  auto match = routes.match(request.method, request.path, request.path_params, listener);
  bool close_connection = draining.load(std::memory_order_relaxed);
  if (match.kind == RouteTable::MatchKind::kNotFound) {
    response.error(404, "Not Found");
  } else if (match.kind == RouteTable::MatchKind::kMethodNotAllowed) {
    response.error(405, "Method Not Allowed");
    response.setHeader("Allow", match.allowed_methods);
  } else {
    const Route& route = match.entry->route;
    request.route = route.path;
    const std::size_t limit = route.max_body_bytes ? route.max_body_bytes : settings.max_body_bytes;
    const std::streamsize declared = req.getContentLength();
    std::istream& in = req.stream();
    bool too_large = declared > static_cast<std::streamsize>(limit);
    if (!too_large && declared > 0) {
      request.body.resize(static_cast<std::size_t>(declared));
      in.read(request.body.data(), declared);
      request.body.resize(static_cast<std::size_t>(in.gcount()));
    } else if (!too_large && declared < 0 && req.getChunkedTransferEncoding()) {
      char buffer[8192];
      while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
        request.body.append(buffer, static_cast<std::size_t>(in.gcount()));
        if (request.body.size() > limit) {
          too_large = true;
          break;
        }
      }
    }
    if (too_large) {
      // Read and discard a bounded amount of what the client is still sending, so it sees the
      // 413 instead of a reset; the connection cannot carry another request either way.
      discardBody(in, limit * 16);
      response.error(413,
                     "Request body too large: the limit is " + std::to_string(limit) + " bytes");
      close_connection = true;
    } else {
      request.remote_address = req.clientAddress().toString();
      request.headers.reserve(req.size());
      for (const auto& [name, value] : req) request.headers.push_back({name, value});
      try {
        route.handler(request, response);
      } catch (const std::exception& e) {
        log.error("handler threw", {{"route", route.path}, {"error", e.what()}});
        response = HttpResponse{};
        response.error(500, "Internal Server Error");
      } catch (...) {
        log.error("handler threw a non-standard exception", {{"route", route.path}});
        response = HttpResponse{};
        response.error(500, "Internal Server Error");
      }
    }
  }

  resp.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(response.status));
  resp.setContentType(response.content_type);
  resp.set("correlation-id", request.correlation_id);
  for (const auto& h : response.headers) resp.set(h.name, h.value);
  if (close_connection) resp.setKeepAlive(false);
  resp.setContentLength64(static_cast<Poco::Int64>(response.body.size()));
  try {
    if (request.method == "HEAD") {
      resp.send();
    } else {
      resp.sendBuffer(response.body.data(), response.body.size());
    }
  } catch (const Poco::Exception& e) {
    log.warn("client went away before the response was sent", {{"error", e.displayText()}});
  }

  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_at).count();
  count(metricsFor(match.kind == RouteTable::MatchKind::kFound ? match.entry : nullptr,
                   request.method),
        response.status, seconds);
  if (access_log) {
    log.info("request", {{"method", request.method},
                         {"path", request.path},
                         {"route", request.route.empty() ? "unmatched" : request.route},
                         {"status", response.status},
                         {"duration_ms", seconds * 1000.0},
                         {"bytes", static_cast<std::uint64_t>(response.body.size())},
                         {"listener", listener}});
  }
  setThreadCorrelationId({});
  in_flight_gauge->Decrement();
  in_flight.fetch_sub(1, std::memory_order_relaxed);
}

HttpServer::HttpServer(ServerSettings settings, prometheus::Registry& metrics)
    : impl_(std::make_unique<Impl>()) {
  impl_->settings = std::move(settings);
  impl_->requests_total =
      &prometheus::BuildCounter()
           .Name("http_requests_total")
           .Help("HTTP requests answered, by method, route template and status.")
           .Register(metrics);
  impl_->duration = &prometheus::BuildHistogram()
                         .Name("http_request_duration_seconds")
                         .Help("Time to answer an HTTP request, by method and route template.")
                         .Register(metrics);
  impl_->in_flight_gauge = &prometheus::BuildGauge()
                                .Name("http_requests_in_flight")
                                .Help("HTTP requests being handled now.")
                                .Register(metrics)
                                .Add({});
  Listener main;
  main.name = "main";
  main.options.address = impl_->settings.listen;
  main.options.max_threads = impl_->settings.threads;
  main.options.access_log = impl_->settings.access_log;
  impl_->listeners.emplace("main", std::move(main));
}

HttpServer::~HttpServer() { stop(std::chrono::steady_clock::now()); }

Status HttpServer::addRoute(Route route) {
  if (impl_->started) return Status::failedPrecondition("routes must be added during init()");
  if (!impl_->listeners.count(route.listener)) {
    return Status::invalid("route " + route.method + " " + route.path +
                           " names unknown listener '" + route.listener +
                           "'; call addListener first");
  }
  return impl_->routes.add(std::move(route));
}

Status HttpServer::addListener(std::string name, ListenerOptions options) {
  return addListenerOwnedBy("", std::move(name), std::move(options));
}

Status HttpServer::addRouteOwnedBy(const std::string& owner, Route route) {
  Status s = addRoute(std::move(route));
  return s.isOk() || owner.empty() ? s : Status(s.code(), owner + ": " + s.message());
}

Status HttpServer::addListenerOwnedBy(const std::string& owner, std::string name,
                                      ListenerOptions options) {
  if (impl_->started) return Status::failedPrecondition("listeners must be added during init()");
  if (impl_->listeners.count(name)) {
    return Status::invalid((owner.empty() ? "" : owner + ": ") + "listener '" + name +
                           "' already exists");
  }
  Listener l;
  l.owner = owner;
  l.name = name;
  l.options = std::move(options);
  impl_->listeners.emplace(std::move(name), std::move(l));
  return Status::ok();
}

std::string HttpServer::boundAddress(std::string_view listener) const {
  auto it = impl_->listeners.find(std::string(listener));
  return it == impl_->listeners.end() ? std::string() : it->second.bound;
}

Status HttpServer::bind() {
  for (auto& [name, l] : impl_->listeners) {
    try {
      Poco::Net::SocketAddress address(l.options.address);
      l.socket = std::make_unique<Poco::Net::ServerSocket>();
      // SO_REUSEADDR for quick restarts, never SO_REUSEPORT: a second process on the same port
      // must fail here, not silently share the traffic.
      l.socket->bind(address, /*reuseAddress=*/true, /*reusePort=*/false);
      l.socket->listen(impl_->settings.queue);
      l.bound = l.socket->address().toString();
    } catch (const Poco::Exception& e) {
      const std::string key = name == "main"    ? "http.listen"
                              : l.owner.empty() ? "listener '" + name + "'"
                                                : l.owner + ": listener '" + name + "'";
      return Status::failedPrecondition(key + " " + l.options.address +
                                        ": cannot listen: " + e.displayText());
    }
  }
  return Status::ok();
}

void HttpServer::start() {
  impl_->started = true;
  // Resolve every metric handle now, so serving never builds label sets for known routes.
  for (const auto& entry : impl_->routes.entries()) {
    auto m = std::make_unique<RouteMetrics>();
    m->method = entry->route.method;
    m->route = entry->route.path;
    m->duration =
        &impl_->duration->Add({{"method", m->method}, {"route", m->route}}, durationBuckets());
    impl_->route_metrics.emplace(entry.get(), std::move(m));
  }
  for (std::string_view method :
       {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "OTHER"}) {
    auto m = std::make_unique<RouteMetrics>();
    m->method = method;
    m->route = "unmatched";
    m->duration =
        &impl_->duration->Add({{"method", m->method}, {"route", m->route}}, durationBuckets());
    impl_->unmatched_metrics.emplace(std::string(method), std::move(m));
  }
  for (auto& [name, l] : impl_->listeners) {
    auto* params = new Poco::Net::HTTPServerParams;
    const int threads =
        name == "main" ? impl_->settings.threads : std::max(1, l.options.max_threads);
    params->setMaxThreads(threads);
    params->setMaxQueued(impl_->settings.queue);
    params->setKeepAlive(impl_->settings.keep_alive);
    params->setKeepAliveTimeout(Poco::Timespan(impl_->settings.keep_alive_timeout.count() * 1000));
    params->setMaxKeepAliveRequests(impl_->settings.max_keep_alive_requests);
    params->setServerName("appliance");
    l.pool = std::make_unique<Poco::ThreadPool>(std::min(2, threads), threads);
    l.server =
        std::make_unique<Poco::Net::HTTPServer>(new Factory(*impl_, l), *l.pool, *l.socket, params);
    l.server->start();
  }
}

void HttpServer::setDraining(bool draining) { impl_->draining.store(draining); }

void HttpServer::stop(std::chrono::steady_clock::time_point deadline) {
  impl_->draining.store(true);
  for (auto& [name, l] : impl_->listeners) {
    if (l.server) l.server->stopAll(false);  // stop accepting; finish current requests
  }
  auto busy = [&] {
    if (impl_->in_flight.load() > 0) return true;
    for (auto& [name, l] : impl_->listeners) {
      if (l.server && l.server->currentConnections() > 0) return true;
    }
    return false;
  };
  while (busy() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (auto& [name, l] : impl_->listeners) {
    if (!l.server) continue;
    l.server->stopAll(true);  // idle keep-alive connections: close them now
    l.pool->joinAll();
    l.server.reset();
    l.pool.reset();
  }
}

void HttpServer::clearRoutes() { impl_->routes.clear(); }

std::int64_t HttpServer::inFlight() const { return impl_->in_flight.load(); }

}  // namespace appliance::host
