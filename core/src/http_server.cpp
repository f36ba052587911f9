#include "http_server.h"

#include <sys/resource.h>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <random>
#include <shared_mutex>
#include <thread>
#include <unordered_map>

#include "http_request_reader.h"
#include "logging.h"

namespace appliance::host {
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kStatusSlots = 600;
// How often each event loop looks for connections past their deadline: the precision of
// every timeout.
constexpr std::chrono::milliseconds kSweepPeriod{100};
// After an error response, how long and how much of the client's unread request is read and
// thrown away so that it sees the response instead of a reset.
constexpr std::chrono::seconds kLingerTime{2};
constexpr std::size_t kLingerBytes = 4 * 1024 * 1024;
constexpr std::size_t kReadChunk = 64 * 1024;
// A buffer kept by an idle connection beyond this is released: 10,000 idle connections must
// not pin the memory of their largest request.
constexpr std::size_t kKeepCapacity = 16 * 1024;
// Plugin listeners (metrics, webhooks) serve few clients; http.max_connections is the API's.
constexpr std::size_t kPluginListenerConnections = 1024;
// Descriptors kept for everything but client connections: files, database connections.
constexpr std::size_t kReservedDescriptors = 1024;

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

std::string_view reasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 411:
      return "Length Required";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Content";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Unknown";
  }
}

// "Date: Tue, 01 Dec 2026 10:00:00 GMT", formatted once per second per thread.
std::string_view httpDate() {
  thread_local std::time_t cached_second = 0;
  thread_local char text[64];
  thread_local std::size_t length = 0;
  const std::time_t now = std::time(nullptr);
  if (now != cached_second) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    length = std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    cached_second = now;
  }
  return {text, length};
}

bool isTokenChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// A header a handler set that would break the response framing (CR, LF, NUL, a bad name)
// is dropped rather than sent: no handler can split a response.
bool safeHeader(std::string_view name, std::string_view value) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!isTokenChar(c)) return false;
  }
  for (char c : value) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

void appendNumber(std::string& out, std::uint64_t n) {
  char digits[24];
  int i = 0;
  do {
    digits[i++] = static_cast<char>('0' + n % 10);
    n /= 10;
  } while (n);
  while (i) out.push_back(digits[--i]);
}

}  // namespace

// Why a connection was closed: the `reason` label of http_connections_closed_total.
enum class CloseReason {
  kHeaderTimeout,
  kBodyTimeout,
  kKeepAliveTimeout,
  kWriteTimeout,
  kClientClosed,
  kServerClosed,  // "Connection: close", keep-alive off or its request budget spent
  kBadRequest,    // 400, 413, 431, 501: the stream cannot be trusted for another request
  kMaxConnections,
  kDrain,
  kError,
  kCount
};

constexpr std::array<std::string_view, static_cast<std::size_t>(CloseReason::kCount)>
    kCloseReasonNames{"header_timeout", "body_timeout",  "keep_alive_timeout", "write_timeout",
                      "client_closed",  "server_closed", "bad_request",        "max_connections",
                      "drain",          "error"};

struct Connection;
struct EventLoop;

// Threads that run handlers for one listener, fed complete requests by the event loops.
class WorkerPool {
 public:
  void start(int threads, std::function<void(std::shared_ptr<Connection>)> work) {
    work_ = std::move(work);
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
  }
  void submit(std::shared_ptr<Connection> c) {
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(std::move(c));
    }
    ready_.notify_one();
  }
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    ready_.notify_all();
    for (auto& t : threads_) t.join();
    threads_.clear();
    queue_.clear();
  }

 private:
  void run() {
    while (true) {
      std::shared_ptr<Connection> c;
      {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
        c = std::move(queue_.front());
        queue_.pop_front();
      }
      work_(std::move(c));
    }
  }

  std::function<void(std::shared_ptr<Connection>)> work_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::shared_ptr<Connection>> queue_;
  std::vector<std::thread> threads_;
  bool stopping_ = false;
};

struct Listener {
  std::string name;
  std::string owner;  // the plugin that added it; empty for the host's main listener
  ListenerOptions options;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::unique_ptr<net::steady_timer> accept_pause;
  std::string bound;
  std::size_t max_connections = 0;
  WorkerPool workers;
  std::atomic<std::int64_t> open{0};
  prometheus::Gauge* open_gauge = nullptr;
  prometheus::Counter* accepted = nullptr;
  std::array<prometheus::Counter*, static_cast<std::size_t>(CloseReason::kCount)> closed{};
};

// One thread, one io_context: every connection belongs to one loop, so its I/O, timeouts and
// state changes never race; a worker owns it only between a complete request and its reply.
struct EventLoop {
  net::io_context io{1};
  std::thread thread;
  std::unique_ptr<net::steady_timer> sweep;
  std::vector<std::shared_ptr<Connection>> connections;
  std::array<char, kReadChunk> scratch;
};

enum class ConnState { kHead, kBody, kHandling, kWriting, kIdle, kLingering, kClosed };

struct Connection : std::enable_shared_from_this<Connection> {
  Connection(HttpServer::Impl& server, EventLoop& loop, Listener& listener, tcp::socket socket,
             const RequestLimits& limits)
      : server(server), loop(loop), listener(listener), socket(std::move(socket)), reader(limits) {}

  HttpServer::Impl& server;
  EventLoop& loop;
  // Held by whoever acts on the connection: its loop thread (handlers, the sweep) or, at the
  // end of a request, the worker that re-arms the wait for the next one. Uncontended but for
  // that hand-over.
  std::mutex mutex;
  Listener& listener;
  tcp::socket socket;
  RequestReader reader;
  HttpRequest request;
  HttpResponse response;
  RouteTable::Match match;
  std::string pending;  // bytes read but not yet parsed: a partial head, pipelined requests
  std::string head;     // the response head being written
  std::size_t written = 0;
  ConnState state = ConnState::kHead;
  Clock::time_point deadline;
  Clock::time_point request_started;
  std::size_t slot = 0;      // index in loop.connections
  std::size_t lingered = 0;  // bytes thrown away while lingering
  int failure_status = 0;    // the request is refused: answer this and close
  std::string failure_message;
  int requests_served = 0;
  bool close_after = false;  // this response is the connection's last
  bool head_only = false;    // HEAD: no body bytes
  bool reading = false;      // an async wait for input is pending
  bool over_limit = false;   // refused past max_connections; not counted as open
  CloseReason close_reason = CloseReason::kServerClosed;
  // A handler deferred its response (deferResponse()). The worker returning from the handler
  // and the finisher each add one to `defer_steps`; whoever comes second sends the response,
  // which the finisher leaves in `deferred_response`.
  bool deferred = false;
  std::atomic<int> defer_steps{0};
  HttpResponse deferred_response;
};

// Deferred responses may be answered from threads the server does not own, even after it
// has stopped. A finisher holds `mutex` shared while it answers; stop() closes the gate
// (exclusively) before the event loops go, and later answers are dropped.
struct DeferralGate {
  std::shared_mutex mutex;
  bool open = true;
};

struct HttpServer::Impl {
  ServerSettings settings;
  RequestLimits limits;
  RouteTable routes;
  std::map<std::string, std::unique_ptr<Listener>> listeners;
  std::vector<std::unique_ptr<EventLoop>> loops;
  std::size_t next_loop = 0;
  std::atomic<bool> draining{false};
  std::atomic<std::int64_t> in_flight{0};
  std::shared_ptr<DeferralGate> deferrals = std::make_shared<DeferralGate>();
  bool started = false;
  bool stopped = false;

  prometheus::Family<prometheus::Counter>* requests_total = nullptr;
  prometheus::Family<prometheus::Histogram>* duration = nullptr;
  prometheus::Family<prometheus::Gauge>* connections_open = nullptr;
  prometheus::Family<prometheus::Counter>* connections_accepted = nullptr;
  prometheus::Family<prometheus::Counter>* connections_closed = nullptr;
  prometheus::Gauge* in_flight_gauge = nullptr;
  std::unordered_map<const RouteTable::Entry*, std::unique_ptr<RouteMetrics>> route_metrics;
  std::unordered_map<std::string, std::unique_ptr<RouteMetrics>> unmatched_metrics;  // by method
  HostLogger log{"http"};

  RouteMetrics& metricsFor(const RouteTable::Entry* entry, std::string_view method);
  void count(RouteMetrics& m, int status, double seconds);

  // Event-loop side: each runs on the connection's loop thread.
  void accept(Listener& l);
  void onAccepted(Listener& l, EventLoop& loop, tcp::socket socket);
  void admit(const std::shared_ptr<Connection>& c);
  void waitForInput(const std::shared_ptr<Connection>& c);
  void onReadable(const std::shared_ptr<Connection>& c);
  void parse(const std::shared_ptr<Connection>& c, std::string_view data);
  bool onHeadComplete(Connection& c);
  void dispatch(const std::shared_ptr<Connection>& c);
  void afterResponse(const std::shared_ptr<Connection>& c, bool complete);
  void continueWriting(const std::shared_ptr<Connection>& c);
  void nextRequest(const std::shared_ptr<Connection>& c);
  void becomeIdle(Connection& c);
  void linger(const std::shared_ptr<Connection>& c);
  void close(Connection& c, CloseReason reason);
  void sweep(EventLoop& loop);
  void timeOut(Connection& c, Clock::time_point now);
  void closeIdle(EventLoop& loop, bool everything);

  // Worker side.
  void serve(const std::shared_ptr<Connection>& c);
  bool respond(const std::shared_ptr<Connection>& c);
  void finishResponse(Connection& c, bool route_found);
  void finishDeferred(const std::shared_ptr<Connection>& c);
  void writeResponse(const std::shared_ptr<Connection>& c);
  void serialize(Connection& c);
  static bool writeSome(Connection& c, boost::system::error_code& ec);
};

namespace {

const prometheus::Histogram::BucketBoundaries& durationBuckets() {
  static const prometheus::Histogram::BucketBoundaries kBuckets{
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return kBuckets;
}

// A short response written without waiting (a refusal or a timeout); best effort.
void writeNow(tcp::socket& socket, int status, std::string_view detail) {
  std::string text = "HTTP/1.1 " + std::to_string(status) + " " +
                     std::string(reasonPhrase(status)) +
                     "\r\nContent-Type: application/json\r\nConnection: close\r\n";
  const std::string body = "{\"detail\":" + jsonQuote(detail) + "}";
  text += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  boost::system::error_code ec;
  socket.write_some(net::buffer(text), ec);
}

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

// ---- accepting -------------------------------------------------------------------------

void HttpServer::Impl::accept(Listener& l) {
  EventLoop& target = *loops[next_loop++ % loops.size()];
  l.acceptor->async_accept(
      target.io, [this, &l, &target](boost::system::error_code ec, tcp::socket socket) {
        if (ec == net::error::operation_aborted || !l.acceptor->is_open()) return;
        if (ec) {
          // Out of descriptors or memory: pause instead of spinning, and say so.
          log.warn("accept failed; pausing accepts for 100 ms",
                   {{"listener", l.name}, {"error", ec.message()}});
          l.accept_pause->expires_after(std::chrono::milliseconds(100));
          l.accept_pause->async_wait([this, &l](boost::system::error_code wait_ec) {
            if (!wait_ec) accept(l);
          });
          return;
        }
        onAccepted(l, target, std::move(socket));
        accept(l);
      });
}

void HttpServer::Impl::onAccepted(Listener& l, EventLoop& loop, tcp::socket socket) {
  l.accepted->Increment();
  boost::system::error_code ec;
  socket.non_blocking(true, ec);
  if (!ec) socket.set_option(tcp::no_delay(true), ec);
  if (ec) {
    l.closed[static_cast<std::size_t>(CloseReason::kError)]->Increment();
    return;
  }
  auto c = std::make_shared<Connection>(*this, loop, l, std::move(socket), limits);
  if (static_cast<std::size_t>(l.open.load()) >= l.max_connections) {
    // Refused with a response and a moment of lingering, so that the client reads the 503
    // instead of a reset; a refused connection is not counted as open.
    writeNow(c->socket, 503,
             "Too many connections: the limit is " + std::to_string(l.max_connections));
    c->over_limit = true;
    c->close_reason = CloseReason::kMaxConnections;
  } else {
    l.open.fetch_add(1);
    l.open_gauge->Increment();
    const auto remote = c->socket.remote_endpoint(ec);
    if (!ec) {
      const std::string host = remote.address().to_string();
      const std::string port = std::to_string(remote.port());
      c->request.remote_address =
          remote.address().is_v6() ? "[" + host + "]:" + port : host + ":" + port;
    }
  }
  net::post(loop.io, [this, c] {
    std::lock_guard lock(c->mutex);
    admit(c);
  });
}

void HttpServer::Impl::admit(const std::shared_ptr<Connection>& c) {
  c->slot = c->loop.connections.size();
  c->loop.connections.push_back(c);
  if (c->over_limit) {
    c->failure_status = 503;
    linger(c);
    return;
  }
  c->reader.reset(c->request);
  c->state = ConnState::kHead;
  c->deadline = Clock::now() + settings.header_timeout;
  if (draining.load()) {
    close(*c, CloseReason::kDrain);
    return;
  }
  waitForInput(c);
}

// ---- reading ---------------------------------------------------------------------------

void HttpServer::Impl::waitForInput(const std::shared_ptr<Connection>& c) {
  c->reading = true;
  c->socket.async_wait(tcp::socket::wait_read, [this, c](boost::system::error_code ec) {
    std::lock_guard lock(c->mutex);
    c->reading = false;
    if (c->state == ConnState::kClosed) return;
    if (ec) {
      close(*c, CloseReason::kError);
      return;
    }
    onReadable(c);
  });
}

void HttpServer::Impl::onReadable(const std::shared_ptr<Connection>& c) {
  auto& scratch = c->loop.scratch;
  boost::system::error_code ec;
  const std::size_t n = c->socket.read_some(net::buffer(scratch), ec);
  if (ec == net::error::would_block || ec == net::error::try_again) {
    waitForInput(c);
    return;
  }
  if (c->state == ConnState::kLingering) {
    c->lingered += n;
    if (ec || c->lingered > kLingerBytes) {
      close(*c, c->close_reason);
    } else {
      waitForInput(c);
    }
    return;
  }
  if (ec == net::error::eof) {
    // The client is done sending. A request it left half-sent is refused, an idle connection
    // simply ends.
    if (c->reader.started() && c->reader.finish() == RequestReader::Progress::kFailed) {
      c->failure_status = c->reader.failureStatus();
      c->failure_message = c->reader.failureMessage();
      dispatch(c);
      return;
    }
    close(*c, CloseReason::kClientClosed);
    return;
  }
  if (ec) {
    close(*c,
          ec == net::error::connection_reset ? CloseReason::kClientClosed : CloseReason::kError);
    return;
  }
  parse(c, std::string_view(scratch.data(), n));
}

void HttpServer::Impl::parse(const std::shared_ptr<Connection>& c, std::string_view data) {
  Connection& conn = *c;
  // Parse straight from what was just read when nothing is left over (the common case);
  // else from the left-over bytes with the new ones behind them.
  const bool from_pending = !conn.pending.empty();
  if (from_pending) {
    conn.pending.append(data);
    data = conn.pending;
  }
  std::size_t offset = 0;
  // What the parser has not taken (a partial head, pipelined requests) waits in `pending`.
  const auto keepUnparsed = [&] {
    if (from_pending) {
      conn.pending.erase(0, offset);
    } else {
      conn.pending.assign(data.substr(offset));
    }
  };
  while (true) {
    if (conn.state == ConnState::kIdle && offset < data.size()) {
      conn.state = ConnState::kHead;
      conn.deadline = Clock::now() + settings.header_timeout;
    }
    std::size_t used = 0;
    const auto progress = conn.reader.feed(data.substr(offset), used);
    offset += used;
    if (progress == RequestReader::Progress::kHeadComplete) {
      if (!onHeadComplete(conn)) break;
      continue;
    }
    if (progress == RequestReader::Progress::kMessageComplete) break;
    if (progress == RequestReader::Progress::kFailed) {
      conn.failure_status = conn.reader.failureStatus();
      conn.failure_message = conn.reader.failureMessage();
      break;
    }
    keepUnparsed();  // kNeedMore: read more
    waitForInput(c);
    return;
  }
  keepUnparsed();
  dispatch(c);
}

// Routes the request as soon as its head is in: its body limit depends on the route, and a
// client that asked for "100 Continue" is told to go on only if the body may be sent.
bool HttpServer::Impl::onHeadComplete(Connection& c) {
  c.request_started = Clock::now();
  c.match = routes.match(c.request.method, c.request.path, c.request.path_params, c.listener.name);
  std::size_t limit = settings.max_body_bytes;
  if (c.match.kind == RouteTable::MatchKind::kFound && c.match.entry->route.max_body_bytes) {
    limit = c.match.entry->route.max_body_bytes;
  }
  c.reader.setBodyLimit(limit);
  if (c.reader.contentLength().value_or(0) > limit) {
    c.failure_status = 413;
    c.failure_message = "Request body too large: the limit is " + std::to_string(limit) + " bytes";
    return false;
  }
  if (c.reader.bodyExpected()) {
    c.state = ConnState::kBody;
    c.deadline = Clock::now() + settings.body_timeout;
    if (c.reader.expectsContinue() && c.reader.version() >= 11) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      boost::system::error_code ec;
      if (c.socket.write_some(net::buffer(kContinue.data(), kContinue.size()), ec) !=
          kContinue.size()) {
        c.failure_status = 400;  // cannot even take 25 bytes: not a client worth waiting for
        c.failure_message = "Bad request: the connection did not take the 100 Continue";
        return false;
      }
    }
  }
  return true;
}

void HttpServer::Impl::dispatch(const std::shared_ptr<Connection>& c) {
  c->state = ConnState::kHandling;
  if (c->failure_status) {
    c->close_after = true;
    if (c->request_started == Clock::time_point{}) c->request_started = Clock::now();
  }
  c->listener.workers.submit(c);
}

// ---- handling (worker threads) -----------------------------------------------------------

namespace {

// One deferred request's answer, shared by every copy of its finisher.
class DeferredAnswer {
 public:
  DeferredAnswer(HttpServer::Impl& server, std::shared_ptr<DeferralGate> gate,
                 std::shared_ptr<Connection> c)
      : server_(server), gate_(std::move(gate)), c_(std::move(c)) {}
  DeferredAnswer(const DeferredAnswer&) = delete;
  DeferredAnswer& operator=(const DeferredAnswer&) = delete;
  ~DeferredAnswer() {
    if (answered_.load()) return;
    HttpResponse dropped;
    dropped.error(500, "Internal Server Error");
    answer(std::move(dropped), /*dropped=*/true);
  }

  void answer(HttpResponse&& response, bool dropped = false) {
    if (answered_.exchange(true)) return;
    std::shared_lock lock(gate_->mutex);
    if (!gate_->open) return;  // the server has stopped; the connection is closed
    if (dropped) {
      server_.log.error("a handler deferred its response and never answered; sent 500",
                        {{"route", c_->request.route}});
    }
    c_->deferred_response = std::move(response);
    if (c_->defer_steps.fetch_add(1) == 1) server_.finishDeferred(c_);
  }

 private:
  HttpServer::Impl& server_;
  const std::shared_ptr<DeferralGate> gate_;
  const std::shared_ptr<Connection> c_;
  std::atomic<bool> answered_{false};
};

// Installed on the worker thread while a handler runs: deferResponse() lands here.
class HandlerDeferral final : public detail::ResponseDeferral {
 public:
  HandlerDeferral(HttpServer::Impl& server, const std::shared_ptr<DeferralGate>& gate,
                  const std::shared_ptr<Connection>& c)
      : server_(server), gate_(gate), c_(c) {
    detail::setResponseDeferral(this);
  }
  ~HandlerDeferral() { detail::setResponseDeferral(nullptr); }
  HandlerDeferral(const HandlerDeferral&) = delete;
  HandlerDeferral& operator=(const HandlerDeferral&) = delete;

  ResponseFinisher defer() override;

 private:
  HttpServer::Impl& server_;
  const std::shared_ptr<DeferralGate>& gate_;
  const std::shared_ptr<Connection>& c_;
};

}  // namespace

// No gate check: handlers run on workers, and stop() closes the gate only after joining them.
ResponseFinisher HandlerDeferral::defer() {
  if (c_->deferred) return nullptr;
  c_->deferred = true;
  auto answer = std::make_shared<DeferredAnswer>(server_, gate_, c_);
  return [answer](HttpResponse&& response) { answer->answer(std::move(response)); };
}

void HttpServer::Impl::serve(const std::shared_ptr<Connection>& c) {
  if (respond(c)) {
    // Deferred: the finisher may already have answered while the handler was still running.
    if (c->defer_steps.fetch_add(1) == 1) finishDeferred(c);
    return;
  }
  writeResponse(c);
}

// Runs once both the handler has returned and its finisher has been called.
void HttpServer::Impl::finishDeferred(const std::shared_ptr<Connection>& c) {
  c->deferred = false;
  c->defer_steps.store(0);
  c->response = std::move(c->deferred_response);
  c->deferred_response = HttpResponse{};
  setThreadCorrelationId(c->request.correlation_id);  // the access log line carries it
  finishResponse(*c, /*route_found=*/true);
  writeResponse(c);
}

void HttpServer::Impl::writeResponse(const std::shared_ptr<Connection>& c) {
  boost::system::error_code ec;
  // Write from the worker while it holds the connection: most responses fit the socket buffer
  // and go out in one writev, with no trip through the event loop.
  const bool complete = writeSome(*c, ec);
  if (ec && ec != net::error::would_block && ec != net::error::try_again) {
    c->close_after = true;
    c->close_reason = CloseReason::kError;
    c->head.clear();
    c->response.body.clear();
    c->written = 0;
  }
  std::lock_guard lock(c->mutex);
  if (complete && !ec && !c->close_after && c->pending.empty() && !draining.load()) {
    // The usual end of a keep-alive request: wait for the next one from here, without waking
    // the event loop only to do so.
    becomeIdle(*c);
    waitForInput(c);
    return;
  }
  net::post(c->loop.io, [this, c, complete] {
    std::lock_guard lock(c->mutex);
    afterResponse(c, complete);
  });
}

// Runs the handler; true when it deferred its response (finishDeferred() completes it).
bool HttpServer::Impl::respond(const std::shared_ptr<Connection>& conn) {
  Connection& c = *conn;
  in_flight.fetch_add(1, std::memory_order_relaxed);
  in_flight_gauge->Increment();
  HttpRequest& request = c.request;
  HttpResponse& response = c.response;
  response = HttpResponse{};

  const auto given = request.header("correlation-id");
  const auto given_alt = given ? given : request.header("X-Request-ID");
  if (given_alt && acceptableCorrelationId(*given_alt)) {
    request.correlation_id.assign(*given_alt);
  } else {
    request.correlation_id = newCorrelationId();
  }
  setThreadCorrelationId(request.correlation_id);

  const bool found = c.match.kind == RouteTable::MatchKind::kFound && !c.failure_status;
  if (c.failure_status) {
    response.error(c.failure_status, c.failure_message);
  } else if (c.match.kind == RouteTable::MatchKind::kNotFound) {
    response.error(404, "Not Found");
  } else if (c.match.kind == RouteTable::MatchKind::kMethodNotAllowed) {
    response.error(405, "Method Not Allowed");
    response.setHeader("Allow", c.match.allowed_methods);
  } else {
    const Route& route = c.match.entry->route;
    request.route = route.path;
    HandlerDeferral deferral(*this, deferrals, conn);
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
  if (c.deferred) {
    setThreadCorrelationId({});
    return true;
  }
  finishResponse(c, found);
  return false;
}

// Everything after the handler: keep-alive decision, serialization, metrics, access log.
void HttpServer::Impl::finishResponse(Connection& c, bool found) {
  HttpRequest& request = c.request;
  HttpResponse& response = c.response;
  ++c.requests_served;
  if (!c.failure_status) {
    c.close_after = draining.load(std::memory_order_relaxed) || !settings.keep_alive ||
                    !c.reader.keepAlive() ||
                    (settings.max_keep_alive_requests > 0 &&
                     c.requests_served >= settings.max_keep_alive_requests);
    c.close_reason = CloseReason::kServerClosed;
  } else {
    c.close_reason = CloseReason::kBadRequest;
  }
  c.head_only = request.method == "HEAD";
  serialize(c);

  const double seconds = std::chrono::duration<double>(Clock::now() - c.request_started).count();
  count(metricsFor(found ? c.match.entry : nullptr, request.method), response.status, seconds);
  if (c.listener.options.access_log) {
    log.info("request", {{"method", request.method},
                         {"path", request.path},
                         {"route", request.route.empty() ? "unmatched" : request.route},
                         {"status", response.status},
                         {"duration_ms", seconds * 1000.0},
                         {"bytes", static_cast<std::uint64_t>(response.body.size())},
                         {"listener", c.listener.name}});
  }
  setThreadCorrelationId({});
  in_flight_gauge->Decrement();
  in_flight.fetch_sub(1, std::memory_order_relaxed);
}

void HttpServer::Impl::serialize(Connection& c) {
  const HttpResponse& r = c.response;
  std::string& out = c.head;
  out.clear();
  out += c.reader.version() == 10 && !c.failure_status ? "HTTP/1.0 " : "HTTP/1.1 ";
  appendNumber(out, static_cast<std::uint64_t>(r.status));
  out += ' ';
  out += reasonPhrase(r.status);
  out += "\r\nDate: ";
  out += httpDate();
  out += "\r\nContent-Type: ";
  out += r.content_type;
  out += "\r\nContent-Length: ";
  appendNumber(out, r.body.size());
  out += "\r\ncorrelation-id: ";
  out += c.request.correlation_id;
  for (const auto& h : r.headers) {
    if (!safeHeader(h.name, h.value)) {
      log.warn("dropped a response header that would break the response",
               {{"route", c.request.route}, {"header", h.name}});
      continue;
    }
    out += "\r\n";
    out += h.name;
    out += ": ";
    out += h.value;
  }
  if (c.close_after) {
    out += "\r\nConnection: close";
  } else if (c.reader.version() == 10) {
    out += "\r\nConnection: keep-alive";
  }
  out += "\r\n\r\n";
  c.written = 0;
}

bool HttpServer::Impl::writeSome(Connection& c, boost::system::error_code& ec) {
  const std::size_t body_size = c.head_only ? 0 : c.response.body.size();
  const std::size_t total = c.head.size() + body_size;
  while (c.written < total) {
    std::array<net::const_buffer, 2> buffers;
    std::size_t count = 0;
    if (c.written < c.head.size()) {
      buffers[count++] = net::buffer(c.head.data() + c.written, c.head.size() - c.written);
      if (body_size) buffers[count++] = net::buffer(c.response.body.data(), body_size);
    } else {
      const std::size_t at = c.written - c.head.size();
      buffers[count++] = net::buffer(c.response.body.data() + at, body_size - at);
    }
    const std::size_t n =
        c.socket.write_some(std::span<net::const_buffer>(buffers.data(), count), ec);
    if (ec) return false;
    c.written += n;
  }
  return true;
}

// ---- after the response (event loop) ----------------------------------------------------

void HttpServer::Impl::afterResponse(const std::shared_ptr<Connection>& c, bool complete) {
  if (c->state == ConnState::kClosed) return;
  if (!complete && c->close_reason == CloseReason::kError) {
    close(*c, CloseReason::kError);
    return;
  }
  if (!complete) {
    c->state = ConnState::kWriting;
    c->deadline = Clock::now() + settings.write_timeout;
    continueWriting(c);
    return;
  }
  nextRequest(c);
}

void HttpServer::Impl::continueWriting(const std::shared_ptr<Connection>& c) {
  c->socket.async_wait(tcp::socket::wait_write, [this, c](boost::system::error_code ec) {
    std::lock_guard lock(c->mutex);
    if (c->state != ConnState::kWriting) return;
    if (!ec && !writeSome(*c, ec) &&
        (ec == net::error::would_block || ec == net::error::try_again)) {
      continueWriting(c);
      return;
    }
    if (ec) {
      close(*c, CloseReason::kError);
      return;
    }
    nextRequest(c);
  });
}

void HttpServer::Impl::nextRequest(const std::shared_ptr<Connection>& c) {
  Connection& conn = *c;
  if (conn.close_after) {
    // Whatever the client still sends (the rest of a refused body) is read and dropped for a
    // moment, so that it reads the response rather than a reset.
    if (conn.failure_status) {
      linger(c);
    } else {
      close(conn, conn.close_reason);
    }
    return;
  }
  if (draining.load() && conn.pending.empty()) {
    close(conn, CloseReason::kDrain);  // it would be idle: closed at once while draining
    return;
  }
  becomeIdle(conn);
  if (!conn.pending.empty()) {
    std::string buffered;
    buffered.swap(conn.pending);  // parse() appends to `pending` when it is not empty
    parse(c, buffered);
    return;
  }
  waitForInput(c);
}

void HttpServer::Impl::becomeIdle(Connection& conn) {
  if (conn.response.body.capacity() > kKeepCapacity) std::string().swap(conn.response.body);
  if (conn.request.body.capacity() > kKeepCapacity) std::string().swap(conn.request.body);
  if (conn.pending.capacity() > kKeepCapacity && conn.pending.size() < kKeepCapacity) {
    conn.pending.shrink_to_fit();
  }
  conn.reader.reset(conn.request);
  conn.request_started = {};
  conn.state = ConnState::kIdle;
  conn.deadline = Clock::now() + settings.keep_alive_timeout;
}

void HttpServer::Impl::linger(const std::shared_ptr<Connection>& c) {
  boost::system::error_code ec;
  c->socket.shutdown(tcp::socket::shutdown_send, ec);
  c->state = ConnState::kLingering;
  c->deadline = Clock::now() + kLingerTime;
  c->pending.clear();
  if (ec) {
    close(*c, c->close_reason);
    return;
  }
  if (!c->reading) waitForInput(c);
}

void HttpServer::Impl::close(Connection& c, CloseReason reason) {
  if (c.state == ConnState::kClosed) return;
  c.state = ConnState::kClosed;
  boost::system::error_code ec;
  c.socket.close(ec);  // cancels a pending wait; its handler sees kClosed
  c.listener.closed[static_cast<std::size_t>(reason)]->Increment();
  if (!c.over_limit) {
    c.listener.open.fetch_sub(1);
    c.listener.open_gauge->Decrement();
  }
  auto& all = c.loop.connections;
  const std::size_t slot = c.slot;
  if (slot < all.size() && all[slot].get() == &c) {
    if (slot + 1 != all.size()) {
      all[slot] = std::move(all.back());
      all[slot]->slot = slot;
    }
    all.pop_back();  // may destroy `c` unless a pending handler still holds it
  }
}

// ---- timeouts ----------------------------------------------------------------------------

void HttpServer::Impl::sweep(EventLoop& loop) {
  const auto now = Clock::now();
  // Iterate backwards: closing moves the last connection into the closed one's slot.
  for (std::size_t i = loop.connections.size(); i-- > 0;) {
    if (i >= loop.connections.size()) continue;
    const std::shared_ptr<Connection> c = loop.connections[i];  // close() may drop the last ref
    std::lock_guard lock(c->mutex);
    if (c->state != ConnState::kHandling && now >= c->deadline) timeOut(*c, now);
  }
  loop.sweep->expires_after(kSweepPeriod);
  loop.sweep->async_wait([this, &loop](boost::system::error_code ec) {
    if (!ec) sweep(loop);
  });
}

void HttpServer::Impl::timeOut(Connection& c, Clock::time_point) {
  switch (c.state) {
    case ConnState::kHead:
      writeNow(c.socket, 408,
               "Request timeout: the request head took longer than " +
                   std::to_string(settings.header_timeout.count()) + " ms");
      close(c, CloseReason::kHeaderTimeout);
      break;
    case ConnState::kBody:
      writeNow(c.socket, 408,
               "Request timeout: the request body took longer than " +
                   std::to_string(settings.body_timeout.count()) + " ms");
      close(c, CloseReason::kBodyTimeout);
      break;
    case ConnState::kIdle:
      close(c, CloseReason::kKeepAliveTimeout);
      break;
    case ConnState::kWriting:
      close(c, CloseReason::kWriteTimeout);
      break;
    case ConnState::kLingering:
      close(c, c.close_reason);
      break;
    case ConnState::kHandling:
    case ConnState::kClosed:
      break;
  }
}

// Closes connections that hold no request: idle ones and new ones that sent nothing yet.
// With `everything`, closes every connection not being handled.
void HttpServer::Impl::closeIdle(EventLoop& loop, bool everything) {
  for (std::size_t i = loop.connections.size(); i-- > 0;) {
    if (i >= loop.connections.size()) continue;
    const std::shared_ptr<Connection> keep = loop.connections[i];  // close() may drop the last ref
    std::lock_guard lock(keep->mutex);
    Connection& c = *keep;
    // Idle: nothing of a request read, and nothing waiting in the socket either (a request the
    // kernel already holds is served, with "Connection: close").
    boost::system::error_code ec;
    const bool nothing_read =
        c.state == ConnState::kIdle ||
        (c.state == ConnState::kHead && !c.reader.started() && c.pending.empty());
    const bool idle = nothing_read && c.socket.available(ec) == 0;
    if (c.state != ConnState::kHandling && (idle || everything)) close(c, CloseReason::kDrain);
  }
}

// ---- the server ------------------------------------------------------------------------

HttpServer::HttpServer(ServerSettings settings, prometheus::Registry& metrics)
    : impl_(std::make_unique<Impl>()) {
  impl_->settings = std::move(settings);
  impl_->limits.max_head_bytes = impl_->settings.max_head_bytes;
  impl_->limits.max_header_count = impl_->settings.max_header_count;
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
  impl_->connections_open = &prometheus::BuildGauge()
                                 .Name("http_connections_open")
                                 .Help("Open HTTP connections, by listener.")
                                 .Register(metrics);
  impl_->connections_accepted = &prometheus::BuildCounter()
                                     .Name("http_connections_accepted_total")
                                     .Help("HTTP connections accepted, by listener.")
                                     .Register(metrics);
  impl_->connections_closed =
      &prometheus::BuildCounter()
           .Name("http_connections_closed_total")
           .Help(
               "HTTP connections closed, by listener and reason (timeouts, client, server, "
               "bad_request, max_connections, drain, error).")
           .Register(metrics);
  auto main = std::make_unique<Listener>();
  main->name = "main";
  main->options.address = impl_->settings.listen;
  main->options.max_threads = impl_->settings.threads;
  main->options.access_log = impl_->settings.access_log;
  impl_->listeners.emplace("main", std::move(main));
  const int loops = std::max(1, impl_->settings.io_threads);
  for (int i = 0; i < loops; ++i) impl_->loops.push_back(std::make_unique<EventLoop>());
}

HttpServer::~HttpServer() { stop(Clock::now()); }

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
  auto l = std::make_unique<Listener>();
  l->owner = owner;
  l->name = name;
  l->options = std::move(options);
  impl_->listeners.emplace(std::move(name), std::move(l));
  return Status::ok();
}

std::string HttpServer::boundAddress(std::string_view listener) const {
  auto it = impl_->listeners.find(std::string(listener));
  return it == impl_->listeners.end() ? std::string() : it->second->bound;
}

namespace {

// "host:port" as config validation accepted it (IPv4, [IPv6] or a name) to one endpoint. A
// name takes its first IPv4 address, else its first address, as getaddrinfo orders them.
// Asio's resolver, not Poco::Net: the host then loads no PocoNet (about 1.1 MB resident).
tcp::endpoint resolveListenAddress(net::io_context& io, const std::string& address) {
  const std::size_t colon = address.rfind(':');
  if (colon == std::string::npos) {
    throw boost::system::system_error(make_error_code(net::error::invalid_argument));
  }
  std::string host = address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  tcp::resolver resolver(io);
  const auto results = resolver.resolve(host, address.substr(colon + 1),
                                        tcp::resolver::numeric_service | tcp::resolver::passive);
  for (const auto& entry : results) {
    if (entry.endpoint().address().is_v4()) return entry.endpoint();
  }
  if (results.empty())
    throw boost::system::system_error(make_error_code(net::error::host_not_found));
  return results.begin()->endpoint();
}

// An endpoint as "127.0.0.1:8080" or "[::1]:8080".
std::string endpointText(const tcp::endpoint& endpoint) {
  const std::string host = endpoint.address().to_string();
  const std::string port = std::to_string(endpoint.port());
  return endpoint.address().is_v6() ? "[" + host + "]:" + port : host + ":" + port;
}

// Every connection is a descriptor: raises the soft limit to `wanted` (up to the hard
// limit) and returns the limit in force.
std::uint64_t raiseDescriptorLimit(std::uint64_t wanted, HostLogger& log) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return wanted;
  if (limit.rlim_cur >= wanted) {
    log.info("the open-file limit (RLIMIT_NOFILE) fits http.max_connections",
             {{"limit", static_cast<std::uint64_t>(limit.rlim_cur)}, {"needed", wanted}});
    return limit.rlim_cur;
  }
  const rlim_t before = limit.rlim_cur;
  limit.rlim_cur = std::min<rlim_t>(wanted, limit.rlim_max);
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) limit.rlim_cur = before;
  if (limit.rlim_cur != before) {
    log.info("raised the open-file limit (RLIMIT_NOFILE) to fit http.max_connections",
             {{"from", static_cast<std::uint64_t>(before)},
              {"to", static_cast<std::uint64_t>(limit.rlim_cur)},
              {"needed", wanted}});
  }
  return limit.rlim_cur;
}

}  // namespace

Status HttpServer::bind() {
  Impl& impl = *impl_;
  const std::size_t plugin_listeners = impl.listeners.size() - 1;
  const std::size_t others = kPluginListenerConnections * plugin_listeners + kReservedDescriptors;
  const std::uint64_t limit =
      raiseDescriptorLimit(impl.settings.max_connections + others, impl.log);
  for (auto& [name, l] : impl.listeners) {
    l->max_connections = name == "main"
                             ? impl.settings.max_connections
                             : std::min(impl.settings.max_connections, kPluginListenerConnections);
  }
  if (limit < impl.settings.max_connections + others) {
    // Refuse with a 503 at the limit the process can keep, rather than fail accept() with
    // EMFILE and leave clients hanging in the backlog.
    const std::size_t fits = limit > others + 64 ? limit - others : 64;
    impl.listeners.at("main")->max_connections = fits;
    impl.log.warn(
        "the open-file limit (RLIMIT_NOFILE) cannot fit http.max_connections; serving "
        "at most the connections it fits (raise the hard limit: ulimit -Hn, or the "
        "container runtime's nofile)",
        {{"limit", limit},
         {"http.max_connections", static_cast<std::uint64_t>(impl.settings.max_connections)},
         {"effective", static_cast<std::uint64_t>(fits)}});
  }
  net::io_context& io = impl_->loops.front()->io;
  for (auto& [name, l] : impl_->listeners) {
    const std::string key = name == "main"     ? "http.listen"
                            : l->owner.empty() ? "listener '" + name + "'"
                                               : l->owner + ": listener '" + name + "'";
    try {
      const tcp::endpoint endpoint = resolveListenAddress(io, l->options.address);
      auto acceptor = std::make_unique<tcp::acceptor>(io);
      acceptor->open(endpoint.protocol());
      // SO_REUSEADDR for quick restarts, never SO_REUSEPORT: a second process on the same port
      // must fail here, not silently share the traffic.
      acceptor->set_option(tcp::acceptor::reuse_address(true));
      acceptor->bind(endpoint);
      acceptor->listen(impl_->settings.queue);
      l->bound = endpointText(acceptor->local_endpoint());
      l->acceptor = std::move(acceptor);
      l->accept_pause = std::make_unique<net::steady_timer>(io);
    } catch (const boost::system::system_error& e) {
      return Status::failedPrecondition(key + " " + l->options.address +
                                        ": cannot listen: " + e.code().message());
    }
  }
  return Status::ok();
}

void HttpServer::start() {
  Impl& impl = *impl_;
  impl.started = true;
  // Resolve every metric handle now, so serving never builds label sets for known routes.
  for (const auto& entry : impl.routes.entries()) {
    auto m = std::make_unique<RouteMetrics>();
    m->method = entry->route.method;
    m->route = entry->route.path;
    m->duration =
        &impl.duration->Add({{"method", m->method}, {"route", m->route}}, durationBuckets());
    impl.route_metrics.emplace(entry.get(), std::move(m));
  }
  for (std::string_view method :
       {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "OTHER"}) {
    auto m = std::make_unique<RouteMetrics>();
    m->method = method;
    m->route = "unmatched";
    m->duration =
        &impl.duration->Add({{"method", m->method}, {"route", m->route}}, durationBuckets());
    impl.unmatched_metrics.emplace(std::string(method), std::move(m));
  }
  for (auto& [name, l] : impl.listeners) {
    l->open_gauge = &impl.connections_open->Add({{"listener", name}});
    l->accepted = &impl.connections_accepted->Add({{"listener", name}});
    for (std::size_t r = 0; r < kCloseReasonNames.size(); ++r) {
      l->closed[r] = &impl.connections_closed->Add(
          {{"listener", name}, {"reason", std::string(kCloseReasonNames[r])}});
    }
    const int threads =
        name == "main" ? impl.settings.threads : std::max(1, l->options.max_threads);
    l->workers.start(threads, [&impl](std::shared_ptr<Connection> c) { impl.serve(c); });
    if (l->acceptor) impl.accept(*l);
  }
  for (auto& loop : impl.loops) {
    loop->sweep = std::make_unique<net::steady_timer>(loop->io);
    impl.sweep(*loop);
    loop->thread = std::thread([io = &loop->io] { io->run(); });
  }
}

void HttpServer::setDraining(bool draining) { impl_->draining.store(draining); }

void HttpServer::stop(Clock::time_point deadline) {
  Impl& impl = *impl_;
  if (impl.stopped) return;
  impl.stopped = true;
  impl.draining.store(true);
  if (!impl.started) return;
  for (auto& [name, l] : impl.listeners) {
    net::post(impl.loops.front()->io, [l = l.get()] {
      boost::system::error_code ec;
      if (l->acceptor) l->acceptor->close(ec);
      if (l->accept_pause) l->accept_pause->cancel();
    });
  }
  for (auto& loop : impl.loops) {
    net::post(loop->io, [&impl, l = loop.get()] { impl.closeIdle(*l, false); });
  }
  auto busy = [&] { return impl.in_flight.load() > 0 || openConnections() > 0; };
  while (busy() && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (auto& loop : impl.loops) {
    net::post(loop->io, [&impl, l = loop.get()] {
      impl.closeIdle(*l, true);
      l->io.stop();
    });
  }
  for (auto& loop : impl.loops) {
    if (loop->thread.joinable()) loop->thread.join();
  }
  for (auto& [name, l] : impl.listeners) l->workers.stop();
  {
    // With the workers gone, a connection still being handled waits for a deferred answer
    // that is now dropped. Its finisher may outlive the event loops, and with it the
    // connection: its socket is closed and detached from its loop while that still exists.
    std::unique_lock lock(impl.deferrals->mutex);
    impl.deferrals->open = false;
    static auto* const detached = new net::io_context;  // never runs; outlives every finisher
    for (auto& loop : impl.loops) {
      for (const auto& c : loop->connections) {
        if (c->state == ConnState::kHandling) c->socket = tcp::socket(*detached);
      }
    }
  }
  for (auto& loop : impl.loops) {
    loop->connections.clear();
    loop->sweep.reset();
  }
  for (auto& [name, l] : impl.listeners) {
    l->accept_pause.reset();
    l->acceptor.reset();
  }
  // Handlers still queued hold sockets of these loops: destroy them with their io_context.
  impl.loops.clear();
}

void HttpServer::clearRoutes() { impl_->routes.clear(); }

std::int64_t HttpServer::inFlight() const { return impl_->in_flight.load(); }

std::int64_t HttpServer::openConnections() const {
  std::int64_t open = 0;
  for (const auto& [name, l] : impl_->listeners) open += l->open.load();
  return open;
}

}  // namespace appliance::host
