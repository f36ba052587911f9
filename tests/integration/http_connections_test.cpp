// The HTTP layer through the real binary, with raw sockets: silent, trickling and idle
// connections cost no thread; timeouts close them and are counted; HTTP/1.1 framing
// (pipelining, 100-continue, chunked bodies, HEAD, Connection: close, HTTP/1.0) and the
// head/body limits; a SIGTERM drain with thousands of idle connections open.

#include <arpa/inet.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "e2e/e2e_support.h"
#include "harness/harness.h"

namespace appliance::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using ::testing::HasSubstr;

constexpr const char* kToken = "http-layer-test-token-0123456789";

struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-cased names
  std::string body;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// A client connection driven byte by byte; responses are parsed by Content-Length.
class RawConnection {
 public:
  explicit RawConnection(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
    const int one = 1;
    if (fd_ >= 0) ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~RawConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool ok() const { return fd_ >= 0; }
  int fd() const { return fd_; }

  bool send(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // Reads until one whole response is buffered; nullopt on timeout or close before it.
  std::optional<RawResponse> read(std::chrono::milliseconds timeout = 5s) {
    const auto deadline = Clock::now() + timeout;
    while (true) {
      if (auto r = take()) return r;
      if (!fill(deadline)) return std::nullopt;
    }
  }

  // True when the server closes the connection within `timeout` (data before it is kept).
  bool closedWithin(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (fill(deadline)) {
    }
    return eof_;
  }

  const std::string& buffered() const { return buffer_; }

 private:
  // Reads what is there, waiting until `deadline`; false on timeout or end of stream.
  bool fill(Clock::time_point deadline) {
    if (eof_) return false;
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char chunk[65536];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  std::optional<RawResponse> take() {
    const std::size_t end = buffer_.find("\r\n\r\n");
    if (end == std::string::npos) return std::nullopt;
    RawResponse r;
    std::string_view head(buffer_.data(), end);
    const std::size_t line_end = head.find("\r\n");
    const std::string_view status_line = head.substr(0, line_end);
    if (status_line.size() < 12) return std::nullopt;
    r.status = std::stoi(std::string(status_line.substr(9, 3)));
    std::size_t pos = line_end == std::string_view::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      std::size_t next = head.find("\r\n", pos);
      if (next == std::string_view::npos) next = head.size();
      const std::string_view line = head.substr(pos, next - pos);
      const std::size_t colon = line.find(':');
      std::string name(line.substr(0, colon));
      std::transform(name.begin(), name.end(), name.begin(), ::tolower);
      std::string_view value = colon == std::string_view::npos ? "" : line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      r.headers[name] = std::string(value);
      pos = next + 2;
    }
    std::size_t length = 0;
    // A 100 Continue has no body; neither does a response to HEAD (the caller knows).
    if (r.status != 100 && !head_only_)
      length = std::stoul(r.header("content-length").empty() ? "0" : r.header("content-length"));
    if (buffer_.size() < end + 4 + length) return std::nullopt;
    r.body = buffer_.substr(end + 4, length);
    buffer_.erase(0, end + 4 + length);
    return r;
  }

 public:
  bool head_only_ = false;

 private:
  int fd_ = -1;
  bool eof_ = false;
  std::string buffer_;
};

std::string get(const std::string& target, const std::string& extra = {}) {
  return "GET " + target + " HTTP/1.1\r\nHost: test\r\n" + extra + "\r\n";
}

std::string taskBody(const std::string& title) {
  return R"({"title":")" + title +
         R"(","content":"c","due_date":"2030-01-31","request_timestamp":")" + isoNow() + R"("})";
}

std::string postTask(const std::string& body, const std::string& extra = {}) {
  return "POST /tasks HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer " + std::string(kToken) +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n" + extra + "\r\n" + body;
}

// The test process opens thousands of sockets too.
void raiseOwnDescriptorLimit() {
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = std::min<rlim_t>(limit.rlim_max, 65536);
  setrlimit(RLIMIT_NOFILE, &limit);
}

// The value of one sample in Prometheus text, or -1.
double metricValue(const std::string& text, const std::string& series) {
  const std::size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

class HttpLayerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { raiseOwnDescriptorLimit(); }

  void start(const std::string& http_extra = {}) {
    port_ = freePort();
    metrics_port_ = freePort();
    const std::string config = writeConfig(dir_, R"(
http:
  listen: 127.0.0.1:)" + std::to_string(port_) + R"(
  access_log: false
  drain_timeout: 5s
)" + http_extra + R"(
data:
  dir: )" + dir_.file("data") + R"(
roles:
  api: [storage_sqlite, task_api, metrics_exporter]
task_api:
  auth:
    tokens: [)" + kToken + R"(]
metrics_exporter:
  listen: 127.0.0.1:)" + std::to_string(metrics_port_) +
                                                     R"(
)");
    process_ = std::make_unique<ApplianceProcess>(
        std::vector<std::string>{"--role=api", "--config=" + config}, dir_.path());
    ASSERT_TRUE(process_->waitReady(address())) << process_->output();
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string metrics() const {
    return http("127.0.0.1:" + std::to_string(metrics_port_), "GET", "/metrics").body;
  }
  double closedTotal(const std::string& reason) const {
    return metricValue(
        metrics(), "http_connections_closed_total{listener=\"main\",reason=\"" + reason + "\"}");
  }
  double openConnections() const {
    return metricValue(metrics(), "http_connections_open{listener=\"main\"}");
  }
  // Polls `value` until it reaches `at_least` (the server counts a connection when it acts on
  // it, a moment after the client did), for at most 10 s; returns the last value.
  template <class Fn>
  double eventually(Fn value, double at_least) const {
    const auto deadline = Clock::now() + 10s;
    double v = value();
    while (v < at_least && Clock::now() < deadline) {
      std::this_thread::sleep_for(50ms);
      v = value();
    }
    return v;
  }

  // Median time of `n` fresh GET /livez requests, each on a new connection.
  std::chrono::milliseconds medianFreshRequest(int n = 5) {
    std::vector<std::chrono::milliseconds> times;
    for (int i = 0; i < n; ++i) {
      const auto t0 = Clock::now();
      RawConnection c(port_);
      EXPECT_TRUE(c.send(get("/livez")));
      auto r = c.read(10s);
      EXPECT_TRUE(r && r->status == 200);
      times.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0));
    }
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
  }

  std::vector<std::unique_ptr<RawConnection>> openMany(int n) {
    std::vector<std::unique_ptr<RawConnection>> out;
    for (int i = 0; i < n; ++i) {
      out.push_back(std::make_unique<RawConnection>(port_));
      EXPECT_TRUE(out.back()->ok()) << "connection " << i;
    }
    return out;
  }

  TempDir dir_;
  int port_ = 0;
  int metrics_port_ = 0;
  std::unique_ptr<ApplianceProcess> process_;
};

TEST_F(HttpLayerTest, ThousandSilentConnectionsDoNotDelayAFreshRequest) {
  start();
  auto silent = openMany(1000);
  ASSERT_GE(eventually([&] { return openConnections(); }, 1000), 1000);  // all accepted
  EXPECT_LT(medianFreshRequest(), 100ms);
}

TEST_F(HttpLayerTest, TricklersAreClosedAtTheHeaderTimeoutWithout408DelayingOthers) {
  start("  header_timeout: 2s\n");
  auto tricklers = openMany(1000);
  const std::string head = get("/livez");
  const auto began = Clock::now();
  // One byte a second from each, as a slowloris attacker would; others are served meanwhile.
  std::vector<std::chrono::milliseconds> fresh;
  for (std::size_t byte = 0; byte < 2; ++byte) {
    for (auto& t : tricklers) t->send(head.substr(byte, 1));
    fresh.push_back(medianFreshRequest(3));
    std::this_thread::sleep_for(1s - (Clock::now() - began) % 1s);
  }
  for (const auto& f : fresh) EXPECT_LT(f, 100ms);
  int closed_with_408 = 0;
  for (auto& t : tricklers) {
    if (t->closedWithin(3s) && t->buffered().rfind("HTTP/1.1 408 ", 0) == 0) ++closed_with_408;
  }
  const auto elapsed = Clock::now() - began;
  EXPECT_EQ(closed_with_408, 1000);
  EXPECT_LT(elapsed, 6s);  // 2 s of header timeout, not the old 60 s receive timeout
  EXPECT_GE(eventually([&] { return closedTotal("header_timeout"); }, 1000), 1000);
}

TEST_F(HttpLayerTest, FiveHundredKeepAliveClientsWithThinkTimeAreAllServed) {
  start();
  auto clients = openMany(500);
  struct State {
    Clock::time_point sent;
    Clock::time_point next;
    bool waiting = false;
    int served = 0;
    std::chrono::milliseconds worst{0};
  };
  std::vector<State> states(clients.size());
  const auto end = Clock::now() + 3s;
  const std::string request = get("/livez");
  std::vector<std::string> buffers(clients.size());
  while (Clock::now() < end) {
    const auto now = Clock::now();
    for (std::size_t i = 0; i < clients.size(); ++i) {
      if (!states[i].waiting && now >= states[i].next) {
        ASSERT_TRUE(clients[i]->send(request));
        states[i].sent = now;
        states[i].waiting = true;
      }
    }
    std::vector<pollfd> fds;
    for (auto& c : clients) fds.push_back({c->fd(), POLLIN, 0});
    ::poll(fds.data(), fds.size(), 5);
    for (std::size_t i = 0; i < clients.size(); ++i) {
      if (!(fds[i].revents & POLLIN)) continue;
      char chunk[4096];
      const ssize_t n = ::recv(fds[i].fd, chunk, sizeof chunk, 0);
      ASSERT_GT(n, 0) << "client " << i << " was disconnected";
      buffers[i].append(chunk, static_cast<std::size_t>(n));
      // /livez answers 18 bytes of body: one response per "alive\"}".
      std::size_t at;
      while ((at = buffers[i].find("\"alive\"}")) != std::string::npos) {
        buffers[i].erase(0, at + 8);
        auto& s = states[i];
        s.worst = std::max(
            s.worst, std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - s.sent));
        s.waiting = false;
        s.next = Clock::now() + 50ms;
        ++s.served;
      }
    }
  }
  for (std::size_t i = 0; i < states.size(); ++i) {
    EXPECT_GE(states[i].served, 10) << "client " << i;
    EXPECT_LT(states[i].worst, 1s) << "client " << i;
  }
}

TEST_F(HttpLayerTest, PipelinedRequestsAreAnsweredInOrder) {
  start();
  RawConnection c(port_);
  ASSERT_TRUE(c.send(get("/livez", "correlation-id: first\r\n") +
                     get("/nope", "correlation-id: second\r\n") +
                     postTask(taskBody("piped"), "correlation-id: third\r\n") +
                     get("/readyz", "correlation-id: fourth\r\n")));
  const std::vector<std::pair<std::string, int>> expected{
      {"first", 200}, {"second", 404}, {"third", 201}, {"fourth", 200}};
  for (const auto& [id, status] : expected) {
    auto r = c.read();
    ASSERT_TRUE(r) << id;
    EXPECT_EQ(r->header("correlation-id"), id);
    EXPECT_EQ(r->status, status) << id;
  }
}

TEST_F(HttpLayerTest, ExpectContinueIsAnsweredBeforeTheBodyAndRefusedWhenTooLarge) {
  start();
  const std::string body = taskBody("continued");
  RawConnection c(port_);
  const std::string request = postTask(body, "Expect: 100-continue\r\n");
  ASSERT_TRUE(c.send(request.substr(0, request.size() - body.size())));
  auto interim = c.read();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(c.send(body));
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201) << r->body;

  RawConnection big(port_);
  ASSERT_TRUE(big.send("POST /tasks HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " +
                       std::string(kToken) +
                       "\r\nContent-Length: 50000000\r\nExpect: 100-continue\r\n\r\n"));
  auto refused = big.read();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 413);
  EXPECT_THAT(refused->body, HasSubstr("the limit is"));
  EXPECT_EQ(refused->header("connection"), "close");
}

TEST_F(HttpLayerTest, ChunkedRequestBodiesAreAccepted) {
  start();
  const std::string body = taskBody("chunked");
  RawConnection c(port_);
  std::string request = "POST /tasks HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " +
                        std::string(kToken) +
                        "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::size_t half = body.size() / 2;
  char size[24];
  std::snprintf(size, sizeof size, "%zx", half);
  request += std::string(size) + "\r\n" + body.substr(0, half) + "\r\n";
  std::snprintf(size, sizeof size, "%zx", body.size() - half);
  request += std::string(size) + ";ext=1\r\n" + body.substr(half) + "\r\n0\r\n\r\n";
  ASSERT_TRUE(c.send(request));
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201) << r->body;
  EXPECT_THAT(r->body, HasSubstr("\"title\":\"chunked\""));
}

TEST_F(HttpLayerTest, HeadAndBodyLimitsAnswer431And413) {
  start("  max_header_bytes: 4096\n  max_header_count: 20\n  max_body_bytes: 2048\n");
  {
    RawConnection c(port_);
    ASSERT_TRUE(c.send(get("/livez", "X-Big: " + std::string(8000, 'a') + "\r\n")));
    auto r = c.read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 431);
    EXPECT_THAT(r->body, HasSubstr("4096 bytes"));
  }
  {
    std::string many;
    for (int i = 0; i < 25; ++i) many += "X-H" + std::to_string(i) + ": v\r\n";
    RawConnection c(port_);
    ASSERT_TRUE(c.send(get("/livez", many)));
    auto r = c.read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 431);
    EXPECT_THAT(r->body, HasSubstr("20 header fields"));
  }
  {
    RawConnection c(port_);
    ASSERT_TRUE(c.send(postTask(std::string(3000, 'x'))));
    auto r = c.read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
    EXPECT_THAT(r->body, HasSubstr("2048 bytes"));
    EXPECT_TRUE(c.closedWithin(5s));
  }
  {
    RawConnection c(port_);
    std::string chunks = "POST /tasks HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 4; ++i) chunks += "400\r\n" + std::string(1024, 'y') + "\r\n";
    ASSERT_TRUE(c.send(chunks));
    auto r = c.read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
  }
  {
    RawConnection c(port_);
    ASSERT_TRUE(c.send("GARBAGE\r\n\r\n"));
    auto r = c.read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
  }
  EXPECT_GE(eventually([&] { return closedTotal("bad_request"); }, 5), 5);
  // The server is unharmed.
  EXPECT_EQ(http(address(), "GET", "/livez").status, 200);
}

TEST_F(HttpLayerTest, HeadConnectionCloseAndHttp10) {
  start();
  {
    RawConnection c(port_);
    c.head_only_ = true;
    ASSERT_TRUE(c.send("HEAD /livez HTTP/1.1\r\nHost: t\r\n\r\n"));
    auto r = c.read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->header("content-length"), "18");
    EXPECT_TRUE(c.buffered().empty()) << "HEAD must not carry a body";
  }
  {
    RawConnection c(port_);
    ASSERT_TRUE(c.send(get("/livez", "Connection: close\r\n")));
    auto r = c.read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->header("connection"), "close");
    EXPECT_TRUE(c.closedWithin(2s));
  }
  {
    RawConnection c(port_);
    ASSERT_TRUE(c.send("GET /livez HTTP/1.0\r\n\r\n"));
    auto r = c.read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, R"({"status":"alive"})");
    EXPECT_TRUE(c.closedWithin(2s)) << "HTTP/1.0 without keep-alive closes";
  }
  {
    RawConnection c(port_);
    ASSERT_TRUE(c.send("GET /livez HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    auto r = c.read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->header("connection"), "keep-alive");
    ASSERT_TRUE(c.send("GET /livez HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    EXPECT_TRUE(c.read());
  }
}

TEST_F(HttpLayerTest, IdleAndSlowBodyConnectionsTimeOut) {
  start("  keep_alive_timeout: 1s\n  body_timeout: 1s\n");
  RawConnection idle(port_);
  ASSERT_TRUE(idle.send(get("/livez")));
  ASSERT_TRUE(idle.read());
  RawConnection slow_body(port_);
  ASSERT_TRUE(slow_body.send(postTask(taskBody("slow")).substr(0, 200)));
  const auto t0 = Clock::now();
  EXPECT_TRUE(idle.closedWithin(3s));
  EXPECT_TRUE(idle.buffered().empty()) << "an idle keep-alive connection closes silently";
  EXPECT_TRUE(slow_body.closedWithin(3s));
  EXPECT_THAT(slow_body.buffered(), HasSubstr("HTTP/1.1 408 "));
  EXPECT_LT(Clock::now() - t0, 3s);
  EXPECT_GE(eventually([&] { return closedTotal("keep_alive_timeout"); }, 1), 1);
  EXPECT_GE(eventually([&] { return closedTotal("body_timeout"); }, 1), 1);
}

TEST_F(HttpLayerTest, AClientThatStopsReadingIsDroppedAtTheWriteTimeout) {
  start("  write_timeout: 1s\n");
  RawConnection reader_that_stalls(port_);
  // 1,000 pipelined requests for the 13 kB OpenAPI document: far more than the socket
  // buffers hold, so the server must wait on a client that never reads.
  std::string requests;
  for (int i = 0; i < 1000; ++i) requests += get("/openapi.json");
  ASSERT_TRUE(reader_that_stalls.send(requests));
  const auto deadline = Clock::now() + 10s;
  while (closedTotal("write_timeout") < 1 && Clock::now() < deadline) {
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_EQ(closedTotal("write_timeout"), 1);
  EXPECT_TRUE(reader_that_stalls.closedWithin(10s));
  EXPECT_EQ(http(address(), "GET", "/livez").status, 200);
}

TEST_F(HttpLayerTest, ConnectionsBeyondMaxConnectionsAreRefusedCleanly) {
  start("  max_connections: 50\n");
  auto held = openMany(50);
  ASSERT_GE(eventually([&] { return openConnections(); }, 50), 50);  // all accepted
  RawConnection extra(port_);
  ASSERT_TRUE(extra.ok());
  EXPECT_TRUE(extra.closedWithin(2s));
  EXPECT_THAT(extra.buffered(), HasSubstr("HTTP/1.1 503 "));
  EXPECT_THAT(extra.buffered(), HasSubstr("the limit is 50"));
  held.pop_back();  // one leaves: room for one more
  const auto deadline = Clock::now() + 10s;
  while (openConnections() > 49 && Clock::now() < deadline) std::this_thread::sleep_for(50ms);
  RawConnection again(port_);
  ASSERT_TRUE(again.send(get("/livez")));
  auto r = again.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(HttpLayerTest, SigtermDrainsWithThousandsOfIdleConnections) {
  start();
  auto idle = openMany(2000);
  for (std::size_t i = 0; i < idle.size(); i += 2) {  // half have made a request, half nothing
    ASSERT_TRUE(idle[i]->send(get("/livez")));
    ASSERT_TRUE(idle[i]->read());
  }
  // One request is on its way when SIGTERM arrives: it is finished, with Connection: close.
  RawConnection in_flight(port_);
  const std::string request = postTask(taskBody("drained"));
  ASSERT_TRUE(in_flight.send(request.substr(0, 40)));
  std::this_thread::sleep_for(200ms);
  const auto t0 = Clock::now();
  ::kill(process_->pid(), SIGTERM);
  for (auto& c : idle) EXPECT_TRUE(c->closedWithin(3s));
  EXPECT_LT(Clock::now() - t0, 3s) << "idle connections are closed at once";
  ASSERT_TRUE(in_flight.send(request.substr(40)));
  auto r = in_flight.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->header("connection"), "close");
  EXPECT_EQ(process_->terminate(10s), 0) << process_->output();
}

}  // namespace
}  // namespace appliance::test
