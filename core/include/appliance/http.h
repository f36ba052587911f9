#pragma once
// HTTP as plugins see it: plain request/response values and a router that registers
// handlers on the host's shared server. The host runs the middleware on every route
// (correlation id, access log, body size limit, metrics, JSON 404/405) before a handler runs.
//
// Threading: handlers run concurrently on the server's worker threads; they must be
// thread-safe and must not keep references to the request or response after returning.
// A handler may block (a database call) but should bound how long.

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "appliance/status.h"

namespace appliance {

struct HttpHeader {
  std::string name;
  std::string value;
};

struct HttpRequest {
  std::string method;          // "GET", "PUT", ...
  std::string path;            // decoded path, without the query string
  std::string query;           // raw query string, without '?'
  std::string route;           // the matched route template, e.g. "/tasks/{id}"
  std::string body;            // the raw body, exactly as received (webhooks verify it)
  std::string correlation_id;  // from correlation-id / X-Request-ID, or generated
  std::string remote_address;
  std::vector<HttpHeader> headers;
  std::vector<std::pair<std::string, std::string>> path_params;

  // Case-insensitive header lookup (first match).
  std::optional<std::string_view> header(std::string_view name) const;
  std::optional<std::string_view> pathParam(std::string_view name) const;
  // Percent-decoded query parameter ('+' is a space); the first occurrence.
  std::optional<std::string> queryParam(std::string_view name) const;
  // Every query parameter, decoded, in order.
  std::vector<std::pair<std::string, std::string>> queryParams() const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<HttpHeader> headers;

  void setHeader(std::string name, std::string value);
  void json(int status_code, std::string json_body) {
    status = status_code;
    content_type = "application/json";
    body = std::move(json_body);
  }
  // {"detail":"<message>"} with the given status.
  void error(int status_code, std::string_view message);
};

using HttpHandler = std::function<void(const HttpRequest&, HttpResponse&)>;

// Answering later, without holding a worker thread. A handler whose answer is computed on
// other threads (a database batcher) takes a finisher instead of blocking:
//
//   if (ResponseFinisher finish = deferResponse()) {
//     store.getAsync(id, [finish](Result<Task> task) { HttpResponse r; ...; finish(std::move(r));
//     }); return;  // `response` is not used any more
//   }
//
// Call it from the handler's own thread before the handler returns. The request is answered
// when `finish` is first called, from any thread; later calls do nothing. If every copy of
// `finish` is destroyed uncalled, the request is answered 500. The host counts the request as
// in flight (metrics, access log, graceful drain) until it is answered. Returns an empty
// function where the server cannot defer: outside a handler, or on a second call for the same
// request; then answer through `response` as usual. Appended in ABI 2.
using ResponseFinisher = std::function<void(HttpResponse&&)>;
ResponseFinisher deferResponse();

namespace detail {
// The host's side of deferResponse(): installed on the worker thread around each handler.
class ResponseDeferral {
 public:
  virtual ResponseFinisher defer() = 0;

 protected:
  ~ResponseDeferral() = default;
};
void setResponseDeferral(ResponseDeferral* deferral);
}  // namespace detail

struct Route {
  std::string method;  // one method per route; HEAD is answered by GET routes
  std::string path;    // template: literal segments and {name} segments: "/tasks/{id}"
  HttpHandler handler;
  std::string listener = "main";   // "main" is http.listen; others come from addListener
  std::size_t max_body_bytes = 0;  // 0: the server's http.max_body_bytes
};

struct ListenerOptions {
  std::string address;  // "host:port"; port 0 picks a free port (tests)
  int max_threads = 4;  // workers running this listener's handlers (idle connections hold none)
  bool access_log = false;
};

class HttpRouter {
 public:
  virtual ~HttpRouter() = default;
  // Call from init(). Fails on a duplicate method+path or a malformed template.
  virtual Status addRoute(Route route) = 0;
  // Adds a separate listener (its own port and threads) for routes that must not share the
  // public port, such as /metrics. Call from init(); the host binds it before start() and
  // refuses start-up with the address and the OS error if it cannot.
  virtual Status addListener(std::string name, ListenerOptions options) = 0;
  // The address a listener is bound to ("127.0.0.1:41234"); empty before binding.
  virtual std::string boundAddress(std::string_view listener) const = 0;
};

// Escapes a string into a JSON string literal body (without the quotes).
void appendJsonEscaped(std::string& out, std::string_view text);
std::string jsonQuote(std::string_view text);

// Escapes text for HTML element content and quoted attribute values (< > & ").
std::string htmlEscape(std::string_view text);

}  // namespace appliance
