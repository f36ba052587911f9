#pragma once
// Outbound HTTP(S) for plugins: Alertmanager and Prometheus for the alert evaluator, GitHub
// and the Kubernetes API for the scaler. Get one from PluginContext::httpClient(options) in
// init(); it is thread-safe, keeps connections alive per host, and counts every request in
// the shared registry:
//   appliance_http_client_requests_total{client,endpoint,status}   status "error" = no answer
//   appliance_http_client_request_duration_seconds{client,endpoint}
// (`client` is HttpClientOptions::name, `endpoint` the request's template, never a raw URL, so
// label values stay bounded.) testing::FakeHttpClient stands in for it in unit tests.
//
// An HTTP status (404, 500, ...) is a response, not an error: check `status`. Errors are
// transport faults: kInvalidArgument (a malformed URL), kUnavailable (DNS, connect, TLS,
// reset, a body over max_response_bytes), kTimeout. Their messages name the method and the
// URL without its query string and never contain header values, so they are safe to log.
// ABI: appended in SDK ABI 2 (0.2.0); the host implements HttpClient, so it may grow at its end.

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/http.h"
#include "appliance/status.h"

namespace appliance {

struct HttpClientOptions {
  std::string name;  // metrics label, e.g. "github", "alertmanager"; required
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds timeout{30000};  // default per request: whole exchange, or idle
                                             // time between chunks when streaming
  std::string ca_file;                       // PEM bundle to trust; "" uses the system store
  bool verify_tls = true;                    // false only for tests; the host logs a warning
  std::string client_cert_file;              // PEM client certificate (mutual TLS), optional
  std::string client_key_file;               // PEM private key for client_cert_file
  std::size_t max_response_bytes = 32u << 20;
  std::string user_agent;  // "" → "appliance/<version>"
};

struct HttpClientRequest {
  std::string method = "GET";
  std::string url;  // absolute: http://host:port/path?query or https://...
  std::vector<HttpHeader> headers;
  std::string body;
  std::chrono::milliseconds timeout{0};  // 0: the client's default
  std::string endpoint;  // metrics label template, e.g. "/repos/{repo}/actions/runs";
                         // "" is counted as "other"
};

struct HttpClientResponse {
  int status = 0;
  std::vector<HttpHeader> headers;
  std::string body;  // empty for stream()

  // Case-insensitive header lookup (first match).
  std::optional<std::string_view> header(std::string_view name) const;
};

// For long responses read as they arrive (a Kubernetes watch, a long poll).
struct HttpStreamHandler {
  // Called once with status and headers (body empty); return false to abandon the response.
  std::function<bool(const HttpClientResponse& head)> on_head;
  // Called for each piece of the (de-chunked) body; return false to stop reading.
  std::function<bool(std::string_view chunk)> on_chunk;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // One request; follows no redirects.
  virtual Result<HttpClientResponse> send(const HttpClientRequest& request) = 0;
  // Like send, but hands the body to `handler` as it arrives. The returned response carries
  // status and headers; a timeout means no bytes for `timeout`. Stopping early is not an error.
  virtual Result<HttpClientResponse> stream(const HttpClientRequest& request,
                                            const HttpStreamHandler& handler) = 0;
  // Aborts requests in flight (they return kUnavailable "client shut down") and refuses new
  // ones. Call from Plugin::stop() before joining threads that may be blocked in a request.
  virtual void shutdown() = 0;
};

}  // namespace appliance
