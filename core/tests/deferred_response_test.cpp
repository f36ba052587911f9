// Deferred responses (deferResponse(), http.h) on the host's real server: answered from
// another thread, before or after the handler returns, once only, 500 when dropped, counted
// in flight until answered, and harmless after the server has stopped.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <prometheus/registry.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "appliance/http.h"
#include "http_server.h"

namespace appliance::host {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct Reply {
  int status = 0;
  std::string body;
};

// One keep-alive client connection; reads responses by Content-Length.
class Client {
 public:
  explicit Client(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool send(const std::string& method, const std::string& path) {
    const std::string request = method + " " + path + " HTTP/1.1\r\nHost: test\r\n\r\n";
    return ::send(fd_, request.data(), request.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(request.size());
  }

  // nullopt when no whole response arrives within `timeout`.
  std::optional<Reply> read(std::chrono::milliseconds timeout = 5s) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      if (auto reply = take()) return reply;
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      pollfd p{fd_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
        return std::nullopt;
      }
      char chunk[4096];
      const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) return std::nullopt;
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

  std::optional<Reply> request(const std::string& method, const std::string& path) {
    if (!send(method, path)) return std::nullopt;
    return read();
  }

 private:
  std::optional<Reply> take() {
    const std::size_t end = buffer_.find("\r\n\r\n");
    if (end == std::string::npos) return std::nullopt;
    const std::string head = buffer_.substr(0, end);
    std::size_t length = 0;
    if (const std::size_t at = head.find("Content-Length: "); at != std::string::npos) {
      length = std::stoul(head.substr(at + 16));
    }
    if (buffer_.size() < end + 4 + length) return std::nullopt;
    Reply reply;
    reply.status = std::stoi(head.substr(9, 3));
    reply.body = buffer_.substr(end + 4, length);
    buffer_.erase(0, end + 4 + length);
    return reply;
  }

  int fd_ = -1;
  std::string buffer_;
};

class DeferredResponseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerSettings settings;
    settings.listen = "127.0.0.1:0";
    settings.threads = 4;
    settings.access_log = false;
    server_ = std::make_unique<HttpServer>(settings, registry_);
  }
  void TearDown() override {
    if (server_) server_->stop(Clock::now() + 2s);
    for (auto& t : threads_) t.join();
  }

  void route(const std::string& path, HttpHandler handler) {
    Route r;
    r.method = "GET";
    r.path = path;
    r.handler = std::move(handler);
    ASSERT_TRUE(server_->addRoute(std::move(r)).isOk());
  }

  int start() {
    EXPECT_TRUE(server_->bind().isOk());
    server_->start();
    const std::string address = server_->boundAddress("main");
    return std::stoi(address.substr(address.rfind(':') + 1));
  }

  // Answers `finish` from a thread of the test's own, after `delay`.
  void answerLater(ResponseFinisher finish, std::chrono::milliseconds delay, int status,
                   std::string body) {
    threads_.emplace_back([finish = std::move(finish), delay, status, body = std::move(body)] {
      std::this_thread::sleep_for(delay);
      HttpResponse response;
      response.json(status, body);
      finish(std::move(response));
    });
  }

  prometheus::Registry registry_;
  std::unique_ptr<HttpServer> server_;
  std::vector<std::thread> threads_;
};

TEST_F(DeferredResponseTest, AnOtherThreadAnswersAfterTheHandlerReturned) {
  std::promise<void> handler_returned;
  route("/later", [&](const HttpRequest&, HttpResponse& response) {
    ResponseFinisher finish = deferResponse();
    ASSERT_TRUE(finish);
    response.json(200, R"({"ignored":true})");  // the finisher's response is the one sent
    answerLater(std::move(finish), 200ms, 202, R"({"later":true})");
    handler_returned.set_value();
  });
  Client client(start());
  ASSERT_TRUE(client.send("GET", "/later"));
  handler_returned.get_future().wait();
  EXPECT_EQ(server_->inFlight(), 1) << "a deferred request is in flight until it is answered";
  auto reply = client.read();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 202);
  EXPECT_EQ(reply->body, R"({"later":true})");
  EXPECT_EQ(server_->inFlight(), 0);
  // The connection stays usable for the next request.
  auto again = client.request("GET", "/later");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 202);
}

TEST_F(DeferredResponseTest, AnAnswerGivenBeforeTheHandlerReturnsIsSentOnce) {
  route("/early", [](const HttpRequest&, HttpResponse&) {
    ResponseFinisher finish = deferResponse();
    ASSERT_TRUE(finish);
    HttpResponse first;
    first.json(201, R"({"first":true})");
    finish(std::move(first));
    HttpResponse second;
    second.json(500, R"({"second":true})");
    finish(std::move(second));  // ignored: a request is answered once
  });
  Client client(start());
  for (int i = 0; i < 3; ++i) {
    auto reply = client.request("GET", "/early");
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 201);
    EXPECT_EQ(reply->body, R"({"first":true})");
  }
  EXPECT_FALSE(client.read(200ms)) << "nothing more than one response per request";
}

TEST_F(DeferredResponseTest, AFinisherDroppedUncalledAnswers500) {
  route("/dropped", [](const HttpRequest&, HttpResponse&) {
    ResponseFinisher finish = deferResponse();
    ASSERT_TRUE(finish);
  });
  Client client(start());
  auto reply = client.request("GET", "/dropped");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 500);
  EXPECT_EQ(server_->inFlight(), 0);
}

TEST_F(DeferredResponseTest, OnlyTheFirstCallInAHandlerDefers) {
  route("/twice", [](const HttpRequest&, HttpResponse& response) {
    ResponseFinisher first = deferResponse();
    ResponseFinisher second = deferResponse();
    ASSERT_TRUE(first);
    EXPECT_FALSE(second);
    (void)response;
    HttpResponse answer;
    answer.json(200, R"({"deferred":"once"})");
    first(std::move(answer));
  });
  Client client(start());
  auto reply = client.request("GET", "/twice");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body, R"({"deferred":"once"})");
}

TEST_F(DeferredResponseTest, OutsideAHandlerNothingCanBeDeferred) {
  EXPECT_FALSE(deferResponse());
  std::thread other([] { EXPECT_FALSE(deferResponse()); });
  other.join();
}

TEST_F(DeferredResponseTest, AnswersAfterTheServerStoppedAreDropped) {
  std::mutex mutex;
  ResponseFinisher kept;
  std::promise<void> deferred;
  route("/never", [&](const HttpRequest&, HttpResponse&) {
    std::lock_guard lock(mutex);
    kept = deferResponse();
    deferred.set_value();
  });
  Client client(start());
  ASSERT_TRUE(client.send("GET", "/never"));
  deferred.get_future().wait();
  server_->stop(Clock::now() + 300ms);  // gives up on the unanswered request
  server_.reset();
  std::lock_guard lock(mutex);
  ASSERT_TRUE(kept);
  HttpResponse late;
  late.json(200, "{}");
  kept(std::move(late));  // the server and its event loops are gone: nothing happens
  kept = nullptr;
  auto reply = client.read(500ms);
  EXPECT_FALSE(reply && reply->status == 200) << "no answer is sent after the stop";
}

}  // namespace
}  // namespace appliance::host
