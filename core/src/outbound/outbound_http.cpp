#include "../outbound_http.h"

#include <Poco/Exception.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SSLException.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/X509Certificate.h>
#include <Poco/Timespan.h>
#include <Poco/URI.h>
#include <openssl/x509v3.h>
#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <vector>

namespace appliance::host {

class OutboundHttpMetrics {
 public:
  explicit OutboundHttpMetrics(prometheus::Registry& registry)
      : requests_(prometheus::BuildCounter()
                      .Name("appliance_http_client_requests_total")
                      .Help("Outbound HTTP requests by client, endpoint and status "
                            "(\"error\": no response)")
                      .Register(registry)),
        duration_(prometheus::BuildHistogram()
                      .Name("appliance_http_client_request_duration_seconds")
                      .Help("Outbound HTTP request time until the whole response was read")
                      .Register(registry)) {}

  void observe(const std::string& client, const std::string& endpoint, const std::string& status,
               double seconds) {
    const std::string& ep = endpoint.empty() ? kOther : endpoint;
    requests_.Add({{"client", client}, {"endpoint", ep}, {"status", status}}).Increment();
    duration_
        .Add({{"client", client}, {"endpoint", ep}},
             prometheus::Histogram::BucketBoundaries{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                                     2.5, 5, 10, 30, 60})
        .Observe(seconds);
  }

 private:
  inline static const std::string kOther = "other";
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& duration_;
};

std::shared_ptr<OutboundHttpMetrics> makeOutboundHttpMetrics(prometheus::Registry& registry) {
  return std::make_shared<OutboundHttpMetrics>(registry);
}

namespace {

// Poco's own name check also accepts a certificate for any name that *resolves* to the
// address dialled; OpenSSL's X509_check_host/X509_check_ip_asc is the strict RFC 6125 match
// (SAN DNS names with one-label wildcards, or an IP SAN), which is what clients like curl and
// client-go enforce.
using ShutDownFlag = std::shared_ptr<const std::atomic<bool>>;

// shutdown() aborts the sockets of requests in flight, but a request that has not connected
// yet has no socket to abort: each session checks the flag again once connected.
void refuseIfShutDown(Poco::Net::HTTPClientSession& session, const ShutDownFlag& shut_down) {
  if (shut_down->load()) {
    session.abort();
    throw Poco::Net::NetException("client shut down");
  }
}

class PlainSession : public Poco::Net::HTTPClientSession {
 public:
  PlainSession(const std::string& host, Poco::UInt16 port, ShutDownFlag shut_down)
      : Poco::Net::HTTPClientSession(host, port), shut_down_(std::move(shut_down)) {}

 protected:
  void connect(const Poco::Net::SocketAddress& address) override {
    Poco::Net::HTTPClientSession::connect(address);
    refuseIfShutDown(*this, shut_down_);
  }

 private:
  ShutDownFlag shut_down_;
};

class StrictHttpsSession : public Poco::Net::HTTPSClientSession {
 public:
  StrictHttpsSession(const std::string& host, Poco::UInt16 port, Poco::Net::Context::Ptr context,
                     bool verify, ShutDownFlag shut_down)
      : Poco::Net::HTTPSClientSession(host, port, std::move(context)),
        verify_(verify),
        shut_down_(std::move(shut_down)) {}

 protected:
  void connect(const Poco::Net::SocketAddress& address) override {
    Poco::Net::HTTPSClientSession::connect(address);
    refuseIfShutDown(*this, shut_down_);
    if (!verify_) return;
    Poco::Net::X509Certificate certificate = serverCertificate();
    const std::string& host = getHost();
    Poco::Net::IPAddress ip;
    const bool is_ip = Poco::Net::IPAddress::tryParse(host, ip);
    const int match =
        is_ip ? X509_check_ip_asc(const_cast<X509*>(certificate.certificate()), host.c_str(), 0)
              : X509_check_host(const_cast<X509*>(certificate.certificate()), host.data(),
                                host.size(), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, nullptr);
    if (match != 1) {
      abort();
      throw Poco::Net::CertificateValidationException("the server certificate does not name " +
                                                      host);
    }
  }

 private:
  bool verify_;
  ShutDownFlag shut_down_;
};

bool readable(const std::string& path) { return std::ifstream(path).good(); }

std::string withoutQuery(const std::string& url) { return url.substr(0, url.find('?')); }

struct Origin {
  std::string scheme;
  std::string host;
  unsigned short port = 0;
  std::string key() const { return scheme + "://" + host + ":" + std::to_string(port); }
};

class PocoHttpClient : public HttpClient, public std::enable_shared_from_this<PocoHttpClient> {
 public:
  PocoHttpClient(HttpClientOptions options, std::shared_ptr<OutboundHttpMetrics> metrics,
                 Poco::Net::Context::Ptr tls)
      : options_(std::move(options)), metrics_(std::move(metrics)), tls_(std::move(tls)) {}

  Result<HttpClientResponse> send(const HttpClientRequest& request) override {
    return exchange(request, nullptr);
  }

  Result<HttpClientResponse> stream(const HttpClientRequest& request,
                                    const HttpStreamHandler& handler) override {
    return exchange(request, &handler);
  }

  void shutdown() override {
    std::lock_guard lock(mutex_);
    shut_down_ = true;
    shut_down_flag_->store(true);
    idle_.clear();
    for (auto* session : in_flight_) {
      try {
        session->abort();
      } catch (...) {
      }
    }
  }

 private:
  using Session = std::unique_ptr<Poco::Net::HTTPClientSession>;

  Result<Origin> parse(const HttpClientRequest& request) const {
    Origin origin;
    try {
      Poco::URI uri(request.url);
      origin.scheme = uri.getScheme();
      origin.host = uri.getHost();
      origin.port = uri.getPort();
    } catch (const Poco::Exception& e) {
      return Status::invalid(request.method + " " + withoutQuery(request.url) +
                             ": not a valid URL (" + e.displayText() + ")");
    }
    if ((origin.scheme != "http" && origin.scheme != "https") || origin.host.empty()) {
      return Status::invalid(request.method + " " + withoutQuery(request.url) +
                             ": the URL must be absolute http:// or https://");
    }
    return origin;
  }

  Session checkout(const Origin& origin) {
    {
      std::lock_guard lock(mutex_);
      auto it = idle_.find(origin.key());
      if (it != idle_.end() && !it->second.empty()) {
        Session session = std::move(it->second.back());
        it->second.pop_back();
        return session;
      }
    }
    Session session;
    if (origin.scheme == "https") {
      session = std::make_unique<StrictHttpsSession>(origin.host, origin.port, tls_,
                                                     options_.verify_tls, shut_down_flag_);
    } else {
      session = std::make_unique<PlainSession>(origin.host, origin.port, shut_down_flag_);
    }
    session->setKeepAlive(true);
    return session;
  }

  void checkin(const Origin& origin, Session session) {
    std::lock_guard lock(mutex_);
    if (shut_down_) return;
    auto& pool = idle_[origin.key()];
    if (pool.size() < kMaxIdlePerOrigin) pool.push_back(std::move(session));
  }

  bool track(Poco::Net::HTTPClientSession* session, bool add) {
    std::lock_guard lock(mutex_);
    if (add) {
      if (shut_down_) return false;
      in_flight_.insert(session);
    } else {
      in_flight_.erase(session);
    }
    return true;
  }

  Result<HttpClientResponse> exchange(const HttpClientRequest& request,
                                      const HttpStreamHandler* handler) {
    const auto started = std::chrono::steady_clock::now();
    const std::string where = request.method + " " + withoutQuery(request.url);
    auto origin = parse(request);
    if (!origin) return origin.status();
    const auto timeout = request.timeout.count() > 0 ? request.timeout : options_.timeout;

    // A kept-alive connection may have been closed by the server meanwhile: an idempotent
    // failure on a reused session is retried once on a fresh one.
    for (int attempt = 0;; ++attempt) {
      Session session = checkout(origin.value());
      const bool reused = session->connected();
      if (!track(session.get(), true)) return Status::unavailable(where + ": client shut down");
      bool keep = false;
      bool sent_body = false;
      auto result = exchangeOn(*session, request, handler, timeout, where, keep, sent_body);
      track(session.get(), false);
      bool closed = false;
      {
        std::lock_guard lock(mutex_);
        closed = shut_down_;
      }
      if (closed) return Status::unavailable(where + ": client shut down");
      if (!result && reused && attempt == 0 && result.status().code() == StatusCode::kUnavailable &&
          !sent_body) {
        continue;
      }
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      metrics_->observe(options_.name, request.endpoint,
                        result ? std::to_string(result.value().status) : std::string("error"),
                        seconds);
      if (result && keep) checkin(origin.value(), std::move(session));
      return result;
    }
  }

  // `keep`: the session may be reused. `sent_body`: a request body went out, so a failure
  // is not safe to retry.
  Result<HttpClientResponse> exchangeOn(Poco::Net::HTTPClientSession& session,
                                        const HttpClientRequest& request,
                                        const HttpStreamHandler* handler,
                                        std::chrono::milliseconds timeout, const std::string& where,
                                        bool& keep, bool& sent_body) {
    try {
      session.setTimeout(Poco::Timespan(options_.connect_timeout.count() * 1000),
                         Poco::Timespan(timeout.count() * 1000),
                         Poco::Timespan(timeout.count() * 1000));
      Poco::URI uri(request.url);
      std::string target = uri.getPathEtc();
      if (target.empty()) target = "/";
      Poco::Net::HTTPRequest out(request.method, target, Poco::Net::HTTPMessage::HTTP_1_1);
      out.set("User-Agent", options_.user_agent);
      for (const auto& h : request.headers) out.set(h.name, h.value);
      if (!request.body.empty() || request.method == "POST" || request.method == "PUT" ||
          request.method == "PATCH") {
        out.setContentLength(static_cast<std::streamsize>(request.body.size()));
      }
      std::ostream& body_out = session.sendRequest(out);
      body_out.write(request.body.data(), static_cast<std::streamsize>(request.body.size()));
      body_out.flush();
      sent_body = !request.body.empty() && request.method != "GET";

      Poco::Net::HTTPResponse in;
      std::istream& body_in = session.receiveResponse(in);
      HttpClientResponse response;
      response.status = static_cast<int>(in.getStatus());
      for (const auto& [name, value] : in) response.headers.push_back({name, value});

      char buffer[16384];
      std::size_t total = 0;
      bool stopped = false;
      if (handler && handler->on_head && !handler->on_head(response)) {
        return response;  // abandoned: the connection is not reused
      }
      // peek() blocks until some bytes arrived; readsome() then takes what is there, so a
      // stream hands over each piece at once instead of waiting to fill the buffer.
      while (!stopped && body_in.peek() != std::char_traits<char>::eof()) {
        const auto got = static_cast<std::size_t>(body_in.readsome(buffer, sizeof buffer));
        if (got == 0) break;
        total += got;
        if (handler) {
          if (handler->on_chunk && !handler->on_chunk(std::string_view(buffer, got)))
            stopped = true;
        } else {
          if (total > options_.max_response_bytes) {
            return Status::unavailable(where + ": response body exceeds " +
                                       std::to_string(options_.max_response_bytes) + " bytes");
          }
          response.body.append(buffer, got);
        }
      }
      keep = !stopped && in.getKeepAlive();
      return response;
    } catch (const Poco::TimeoutException&) {
      return Status::timeout(where + ": no answer within " + std::to_string(timeout.count()) +
                             " ms");
    } catch (const Poco::Net::SSLException& e) {
      return Status::unavailable(where + ": TLS: " + e.displayText());
    } catch (const Poco::Exception& e) {
      return Status::unavailable(where + ": " + e.displayText());
    } catch (const std::exception& e) {
      return Status::unavailable(where + ": " + e.what());
    }
  }

  static constexpr std::size_t kMaxIdlePerOrigin = 8;

  HttpClientOptions options_;
  std::shared_ptr<OutboundHttpMetrics> metrics_;
  Poco::Net::Context::Ptr tls_;
  std::mutex mutex_;
  bool shut_down_ = false;
  std::shared_ptr<std::atomic<bool>> shut_down_flag_ = std::make_shared<std::atomic<bool>>(false);
  std::map<std::string, std::vector<Session>> idle_;
  std::set<Poco::Net::HTTPClientSession*> in_flight_;
};

}  // namespace

Result<std::shared_ptr<HttpClient>> makeOutboundHttpClient(
    const HttpClientOptions& options, std::shared_ptr<OutboundHttpMetrics> metrics,
    const std::string& default_user_agent) {
  if (options.name.empty()) {
    return Status::invalid("httpClient: options.name is required (it labels the client's metrics)");
  }
  for (const auto& [what, path] : {std::pair{"ca_file", &options.ca_file},
                                   std::pair{"client_cert_file", &options.client_cert_file},
                                   std::pair{"client_key_file", &options.client_key_file}}) {
    if (!path->empty() && !readable(*path)) {
      return Status::invalid("httpClient '" + options.name + "': " + what + " '" + *path +
                             "' cannot be read");
    }
  }
  if (options.client_cert_file.empty() != options.client_key_file.empty()) {
    return Status::invalid("httpClient '" + options.name +
                           "': client_cert_file and client_key_file go together");
  }
  if (options.connect_timeout.count() <= 0 || options.timeout.count() <= 0) {
    return Status::invalid("httpClient '" + options.name + "': timeouts must be > 0");
  }
  HttpClientOptions resolved = options;
  if (resolved.user_agent.empty()) resolved.user_agent = default_user_agent;
  Poco::Net::Context::Ptr tls;
  try {
    static std::once_flag ssl_once;
    std::call_once(ssl_once, [] { Poco::Net::initializeSSL(); });
    tls = new Poco::Net::Context(
        Poco::Net::Context::TLS_CLIENT_USE, options.client_key_file, options.client_cert_file,
        options.ca_file,
        options.verify_tls ? Poco::Net::Context::VERIFY_RELAXED : Poco::Net::Context::VERIFY_NONE,
        9, /*loadDefaultCAs=*/options.ca_file.empty());
    // Host names are checked strictly by StrictHttpsSession instead (IP SANs included).
    tls->enableExtendedCertificateVerification(false);
  } catch (const Poco::Exception& e) {
    return Status::invalid("httpClient '" + options.name +
                           "': TLS setup failed: " + e.displayText());
  }
  return std::shared_ptr<HttpClient>(
      std::make_shared<PocoHttpClient>(std::move(resolved), std::move(metrics), std::move(tls)));
}

}  // namespace appliance::host

extern "C" const appliance::host::OutboundHttpModule* appliance_outbound_http_module() {
  static const appliance::host::OutboundHttpModule module{
      sizeof(appliance::host::OutboundHttpModule),
      &appliance::host::makeOutboundHttpMetrics,
      &appliance::host::makeOutboundHttpClient,
  };
  return &module;
}
