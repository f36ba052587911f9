// The host's outbound HTTP client against real sockets: a Poco server on 127.0.0.1, plain and
// TLS (a throwaway CA and certificate made with the openssl command at test time).
#include "outbound_http.h"

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>
#include <Poco/ThreadPool.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

namespace appliance::host {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Answers by path: /echo (method, headers and body back), /status/500, /slow (sleeps 2 s),
// /big (1 MiB), /drip (a chunk every 50 ms, 200 times).
class TestHandler : public Poco::Net::HTTPRequestHandler {
 public:
  explicit TestHandler(std::set<std::string>& peers, std::mutex& mutex)
      : peers_(peers), mutex_(mutex) {}

  void handleRequest(Poco::Net::HTTPServerRequest& request,
                     Poco::Net::HTTPServerResponse& response) override {
    {
      std::lock_guard lock(mutex_);
      peers_.insert(request.clientAddress().toString());
    }
    std::string body;
    Poco::StreamCopier::copyToString(request.stream(), body);
    const std::string& uri = request.getURI();
    response.setKeepAlive(true);
    if (uri.starts_with("/echo")) {
      response.set("X-Seen-Method", request.getMethod());
      response.set("X-Seen-Agent", request.get("User-Agent", ""));
      response.set("X-Seen-Token", request.get("Authorization", ""));
      response.setContentType("text/plain");
      response.sendBuffer(body.data(), body.size());
    } else if (uri == "/status/500") {
      response.setStatus(Poco::Net::HTTPResponse::HTTP_INTERNAL_SERVER_ERROR);
      response.sendBuffer("boom", 4);
    } else if (uri == "/slow") {
      std::this_thread::sleep_for(2s);
      response.sendBuffer("late", 4);
    } else if (uri == "/big") {
      std::string big(1 << 20, 'x');
      response.sendBuffer(big.data(), big.size());
    } else if (uri == "/drip") {
      response.setChunkedTransferEncoding(true);
      std::ostream& out = response.send();
      for (int i = 0; i < 200 && out; ++i) {
        out << "line " << i << "\n" << std::flush;
        std::this_thread::sleep_for(50ms);
      }
    } else {
      response.setStatus(Poco::Net::HTTPResponse::HTTP_NOT_FOUND);
      response.send();
    }
  }

 private:
  std::set<std::string>& peers_;
  std::mutex& mutex_;
};

class TestFactory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  TestFactory(std::set<std::string>& peers, std::mutex& mutex) : peers_(peers), mutex_(mutex) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest&) override {
    return new TestHandler(peers_, mutex_);
  }

 private:
  std::set<std::string>& peers_;
  std::mutex& mutex_;
};

HttpClientRequest get(std::string url) {
  HttpClientRequest request;
  request.url = std::move(url);
  return request;
}

HttpClientOptions named(std::string name) {
  HttpClientOptions options;
  options.name = std::move(name);
  return options;
}

HttpClientOptions trusting(std::string ca_file) {
  HttpClientOptions options = named("tls");
  options.ca_file = std::move(ca_file);
  return options;
}

class OutboundHttpTest : public ::testing::Test {
 protected:
  void startServer(Poco::Net::ServerSocket socket) {
    port_ = socket.address().port();
    auto params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(8);
    params->setKeepAlive(true);
    server_ = std::make_unique<Poco::Net::HTTPServer>(new TestFactory(peers_, peers_mutex_), socket,
                                                      params);
    server_->start();
  }
  void SetUp() override {
    startServer(Poco::Net::ServerSocket(Poco::Net::SocketAddress("127.0.0.1", 0)));
  }
  void TearDown() override {
    if (server_) server_->stopAll(true);
    // Connection threads (a /slow handler still sleeping) must end before the next test or
    // process exit: Poco's own statics are gone by then.
    Poco::ThreadPool::defaultPool().joinAll();
  }

  std::shared_ptr<HttpClient> client(HttpClientOptions options = {}) {
    if (options.name.empty()) options.name = "test";
    auto made = makeOutboundHttpClient(options, metrics_, "appliance/test");
    EXPECT_TRUE(made) << made.status().message();
    return made.value();
  }
  std::string url(const std::string& path, const std::string& scheme = "http",
                  const std::string& host = "127.0.0.1") const {
    return scheme + "://" + host + ":" + std::to_string(port_) + path;
  }
  std::string metricsText() { return prometheus::TextSerializer().Serialize(registry_.Collect()); }

  prometheus::Registry registry_;
  std::shared_ptr<OutboundHttpMetrics> metrics_ = makeOutboundHttpMetrics(registry_);
  std::unique_ptr<Poco::Net::HTTPServer> server_;
  std::set<std::string> peers_;
  std::mutex peers_mutex_;
  unsigned short port_ = 0;
};

TEST_F(OutboundHttpTest, SendsMethodHeadersAndBodyAndReadsTheAnswer) {
  auto http = client();
  HttpClientRequest request;
  request.method = "POST";
  request.url = url("/echo?x=1");
  request.headers = {{"Authorization", "Bearer abc"}};
  request.body = R"({"k":"v"})";
  auto response = http->send(request);
  ASSERT_TRUE(response) << response.status().message();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, R"({"k":"v"})");
  EXPECT_EQ(response->header("x-seen-method").value_or(""), "POST");
  EXPECT_EQ(response->header("X-Seen-Agent").value_or(""), "appliance/test");
  EXPECT_EQ(response->header("X-Seen-Token").value_or(""), "Bearer abc");
}

TEST_F(OutboundHttpTest, AnHttpErrorStatusIsAResponseAndIsCounted) {
  auto http = client(named("upstream"));
  HttpClientRequest request;
  request.url = url("/status/500");
  request.endpoint = "/status/{code}";
  auto response = http->send(request);
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 500);
  EXPECT_EQ(response->body, "boom");
  const std::string text = metricsText();
  EXPECT_NE(
      text.find(
          R"(appliance_http_client_requests_total{client="upstream",endpoint="/status/{code}",status="500"} 1)"),
      std::string::npos)
      << text;
}

TEST_F(OutboundHttpTest, ReusesOneConnectionForSequentialRequests) {
  auto http = client();
  for (int i = 0; i < 5; ++i) {
    auto response = http->send(get(url("/echo")));
    ASSERT_TRUE(response) << response.status().message();
  }
  std::lock_guard lock(peers_mutex_);
  EXPECT_EQ(peers_.size(), 1u);
}

TEST_F(OutboundHttpTest, ARefusedConnectionIsUnavailableAndNamesTheUrlWithoutItsQuery) {
  auto http = client();
  const unsigned short port = port_;
  server_->stopAll(true);
  server_.reset();
  auto response = http->send(get("http://127.0.0.1:" + std::to_string(port) + "/x?token=secret"));
  ASSERT_FALSE(response);
  EXPECT_EQ(response.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(response.status().message().find("GET http://127.0.0.1:"), std::string::npos);
  EXPECT_EQ(response.status().message().find("secret"), std::string::npos);
  EXPECT_NE(metricsText().find(R"(status="error")"), std::string::npos);
}

TEST_F(OutboundHttpTest, ASlowServerTimesOut) {
  auto http = client();
  HttpClientRequest request;
  request.url = url("/slow");
  request.timeout = 200ms;
  auto response = http->send(request);
  ASSERT_FALSE(response);
  EXPECT_EQ(response.status().code(), StatusCode::kTimeout) << response.status().message();
}

TEST_F(OutboundHttpTest, ABodyOverTheLimitIsRefused) {
  auto http = client([] {
    auto options = named("small");
    options.max_response_bytes = 64 * 1024;
    return options;
  }());
  auto response = http->send(get(url("/big")));
  ASSERT_FALSE(response);
  EXPECT_NE(response.status().message().find("exceeds 65536 bytes"), std::string::npos);
}

TEST_F(OutboundHttpTest, StreamsChunksAsTheyArriveAndStopsWhenAsked) {
  auto http = client();
  int head_status = 0;
  std::string seen;
  HttpStreamHandler handler;
  handler.on_head = [&](const HttpClientResponse& head) {
    head_status = head.status;
    return true;
  };
  handler.on_chunk = [&](std::string_view chunk) {
    seen.append(chunk);
    return seen.find("line 2\n") == std::string::npos;
  };
  const auto started = std::chrono::steady_clock::now();
  auto response = http->stream(get(url("/drip")), handler);
  ASSERT_TRUE(response) << response.status().message();
  EXPECT_EQ(head_status, 200);
  EXPECT_EQ(response->status, 200);
  EXPECT_NE(seen.find("line 0\nline 1\nline 2\n"), std::string::npos);
  // 200 lines take 10 s; stopping after the third must not wait for the rest.
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
}

TEST_F(OutboundHttpTest, ShutdownAbortsARequestInFlightAndRefusesNewOnes) {
  auto http = client();
  std::atomic<bool> got_data{false};
  Result<HttpClientResponse> result = Status::internal("not run");
  std::thread reader([&] {
    HttpStreamHandler handler;
    handler.on_chunk = [&](std::string_view) {
      got_data = true;
      return true;
    };
    result = http->stream(get(url("/drip")), handler);
  });
  while (!got_data) std::this_thread::sleep_for(10ms);
  http->shutdown();
  reader.join();
  ASSERT_FALSE(result);
  EXPECT_NE(result.status().message().find("client shut down"), std::string::npos);
  auto after = http->send(get(url("/echo")));
  ASSERT_FALSE(after);
  EXPECT_EQ(after.status().code(), StatusCode::kUnavailable);
}

TEST_F(OutboundHttpTest, RefusesBadOptionsWithTheReason) {
  auto unnamed = makeOutboundHttpClient({}, metrics_, "ua");
  ASSERT_FALSE(unnamed);
  EXPECT_NE(unnamed.status().message().find("name is required"), std::string::npos);
  auto no_ca = makeOutboundHttpClient(trusting("/nonexistent/ca.pem"), metrics_, "ua");
  ASSERT_FALSE(no_ca);
  EXPECT_EQ(no_ca.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(no_ca.status().message().find("/nonexistent/ca.pem"), std::string::npos);
  auto half_mtls_options = named("k8s");
  half_mtls_options.client_cert_file = "/etc/hostname";
  auto half_mtls = makeOutboundHttpClient(half_mtls_options, metrics_, "ua");
  ASSERT_FALSE(half_mtls);
  auto bad_url = client()->send(get("ftp://example.com/x"));
  ASSERT_FALSE(bad_url);
  EXPECT_EQ(bad_url.status().code(), StatusCode::kInvalidArgument);
}

// TLS: a CA signs a certificate for "localhost"; the client trusts it only through ca_file.
class OutboundHttpsTest : public OutboundHttpTest {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("outbound-tls-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    const std::string d = dir_.string();
    const std::string script =
        "cd " + d +
        " && openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=test-ca "
        "-keyout ca.key -out ca.pem 2>/dev/null"
        " && openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout server.key "
        "-out server.csr 2>/dev/null"
        " && printf 'subjectAltName=DNS:localhost\\n' > san.ext"
        " && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 "
        "-extfile san.ext -out server.pem 2>/dev/null";
    if (std::system(script.c_str()) != 0) GTEST_SKIP() << "openssl command not available";
    Poco::Net::initializeSSL();
    Poco::Net::Context::Ptr context =
        new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE, d + "/server.key",
                               d + "/server.pem", "", Poco::Net::Context::VERIFY_NONE);
    startServer(
        Poco::Net::SecureServerSocket(Poco::Net::SocketAddress("127.0.0.1", 0), 64, context));
  }
  void TearDown() override {
    OutboundHttpTest::TearDown();
    fs::remove_all(dir_);
  }
  fs::path dir_;
};

TEST_F(OutboundHttpsTest, VerifiesTheServerAgainstTheConfiguredCa) {
  auto trusted = client(trusting((dir_ / "ca.pem").string()));
  auto request = get(url("/echo", "https", "localhost"));
  request.body = "hi";
  auto ok = trusted->send(request);
  ASSERT_TRUE(ok) << ok.status().message();
  EXPECT_EQ(ok->status, 200);
}

TEST_F(OutboundHttpsTest, RefusesAnUntrustedCertificate) {
  auto untrusting = client(named("tls-system-store"));
  auto refused = untrusting->send(get(url("/echo", "https", "localhost")));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable);
}

TEST_F(OutboundHttpsTest, RefusesACertificateForAnotherHostName) {
  auto trusted = client(trusting((dir_ / "ca.pem").string()));
  // The certificate names "localhost", not the IP address.
  auto refused = trusted->send(get(url("/echo", "https", "127.0.0.1")));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace appliance::host

namespace appliance::host {
namespace {

TEST(OutboundHttpModuleTest, AMissingModuleIsRefusedWithTheFileAndTheReason) {
  auto module = loadOutboundHttpModule("/nonexistent/libappliance_outbound_http.so");
  ASSERT_FALSE(module);
  EXPECT_EQ(module.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(module.status().message().find("/nonexistent/libappliance_outbound_http.so"),
            std::string::npos);
  EXPECT_NE(module.status().message().find("cannot load"), std::string::npos);
}

TEST(OutboundHttpModuleTest, TheBuiltModuleLoadsAndMakesClients) {
  auto module = loadOutboundHttpModule(APPLIANCE_OUTBOUND_HTTP_MODULE);
  ASSERT_TRUE(module) << module.status().message();
  prometheus::Registry registry;
  HttpClientOptions options;
  options.name = "from-module";
  auto client = module.value()->make_client(options, module.value()->make_metrics(registry), "ua");
  ASSERT_TRUE(client) << client.status().message();
}

}  // namespace
}  // namespace appliance::host
