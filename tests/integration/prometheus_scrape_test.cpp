// A real Prometheus scrapes the real appliance binary.
//
// Starts `appliance --role=all` on a temp SQLite file with free ports for the API and for
// metrics_exporter, starts Debian's `prometheus` through scripts/prometheus-test.sh with a
// 1 s scrape interval, sends API traffic, and asserts through Prometheus's HTTP API that the
// target is up, the conventional series exist and rate(http_requests_total[1m]) > 0. Also
// checks the exposition with `promtool check metrics`. Skipped when Prometheus is absent.
//
// Compile definitions: APPLIANCE_BINARY (the built binary), APPLIANCE_SOURCE_DIR.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>
#include <gtest/gtest.h>

#include "e2e/e2e_support.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#ifndef APPLIANCE_BINARY
#error "APPLIANCE_BINARY must name the appliance binary"
#endif
#ifndef APPLIANCE_SOURCE_DIR
#error "APPLIANCE_SOURCE_DIR must name the source tree"
#endif

extern char** environ;

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kToken = "prometheus-scrape-test-token";

bool onPath(const std::string& program) {
  return std::system(("command -v " + program + " >/dev/null 2>&1").c_str()) == 0;
}

// A port that was free a moment ago: bind port 0, read it, close.
int freePort() {
  Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
  const int port = socket.address().port();
  socket.close();
  return port;
}

struct HttpResult {
  int status = 0;  // 0: no response
  std::string body;
  std::string content_type;
  std::string error;
};

HttpResult httpCall(const std::string& host, int port, const std::string& method,
                    const std::string& target, const std::string& body = {},
                    const std::map<std::string, std::string>& headers = {}) {
  HttpResult result;
  try {
    Poco::Net::HTTPClientSession session(host, static_cast<Poco::UInt16>(port));
    session.setTimeout(Poco::Timespan(5, 0));
    Poco::Net::HTTPRequest request(method, target, Poco::Net::HTTPMessage::HTTP_1_1);
    for (const auto& [name, value] : headers) request.set(name, value);
    if (!body.empty()) {
      request.setContentType("application/json");
      request.setContentLength(static_cast<std::streamsize>(body.size()));
    }
    session.sendRequest(request) << body;
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    Poco::StreamCopier::copyToString(in, result.body);
    result.status = static_cast<int>(response.getStatus());
    result.content_type = response.getContentType();
  } catch (const std::exception& error) {
    result.error = error.what();
  }
  return result;
}

std::string readFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream content;
  content << file.rdbuf();
  return content.str();
}

// Polls `condition` every `interval` until it is true or `timeout` passes.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval = 250ms) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (condition()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(interval);
  }
}

struct Sample {
  std::map<std::string, std::string> labels;
  double value = 0;
};

class PrometheusScrapeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!onPath("prometheus") || !onPath("promtool") || !onPath("curl")) {
      GTEST_SKIP() << "needs prometheus, promtool and curl (Debian packages prometheus, curl)";
    }
    char pattern[] = "/tmp/appliance-prometheus-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    api_port_ = freePort();
    metrics_port_ = freePort();
    ASSERT_NE(api_port_, metrics_port_);
    writeConfig();
    startAppliance();
  }

  void TearDown() override {
    if (!prometheus_state_.empty()) {
      runScript("stop " + prometheus_state_);
    }
    stopAppliance();
    if (HasFailure() && !dir_.empty()) {
      std::cerr << "--- appliance log ---\n" << readFile(dir_ + "/appliance.log") << "\n";
    }
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  void writeConfig() {
    std::ofstream config(dir_ + "/test.yaml");
    config << "roles:\n"
           << "  all: [storage_sqlite, task_api, metrics_exporter]\n"
           << "http:\n"
           << "  listen: \"127.0.0.1:" << api_port_ << "\"\n"
           << "storage_sqlite:\n"
           << "  path: \"" << dir_ << "/tasks.db\"\n"
           << "task_api:\n"
           << "  auth:\n"
           << "    tokens: [\"" << kToken << "\"]\n"
           << "metrics_exporter:\n"
           << "  listen: \"127.0.0.1:" << metrics_port_ << "\"\n";
  }

  void startAppliance() {
    const std::string binary = APPLIANCE_BINARY;
    const std::string config_arg = "--config=" + dir_ + "/test.yaml";
    const std::string log = dir_ + "/appliance.log";
    std::vector<char*> argv = {const_cast<char*>(binary.c_str()), const_cast<char*>("--role=all"),
                               const_cast<char*>(config_arg.c_str()), nullptr};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addchdir_np(&actions, dir_.c_str());  // ./data lands in dir_
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    const int error =
        ::posix_spawn(&appliance_pid_, binary.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ASSERT_EQ(error, 0) << "cannot start " << binary << ": " << std::strerror(error);

    const bool ready = eventually(
        [&] {
          if (!applianceRunning()) return true;  // stop polling; asserted below
          return httpCall("127.0.0.1", api_port_, "GET", "/readyz").status == 200;
        },
        30s, 100ms);
    ASSERT_TRUE(ready && applianceRunning())
        << "appliance did not become ready on 127.0.0.1:" << api_port_;
  }

  bool applianceRunning() {
    if (appliance_pid_ <= 0) return false;
    int status = 0;
    const pid_t done = ::waitpid(appliance_pid_, &status, WNOHANG);
    if (done == appliance_pid_) {
      appliance_pid_ = -1;
      return false;
    }
    return true;
  }

  void stopAppliance() {
    if (!applianceRunning()) return;
    ::kill(appliance_pid_, SIGTERM);
    const bool exited = eventually([&] { return !applianceRunning(); }, 20s, 50ms);
    if (!exited) {
      ADD_FAILURE() << "appliance did not exit within 20 s of SIGTERM";
      ::kill(appliance_pid_, SIGKILL);
      ::waitpid(appliance_pid_, nullptr, 0);
      appliance_pid_ = -1;
    }
  }

  // Runs scripts/prometheus-test.sh; its stdout, or nullopt when it failed.
  std::optional<std::string> runScript(const std::string& arguments) {
    const std::string command = std::string(APPLIANCE_SOURCE_DIR) + "/scripts/prometheus-test.sh " +
                                arguments + " 2>>" + dir_ + "/prometheus-script.log";
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) return std::nullopt;
    std::string out;
    char buffer[256];
    while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) out += buffer;
    const int status = ::pclose(pipe);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return out;
  }

  void startPrometheus() {
    const std::string state = dir_ + "/prometheus.state";
    const auto address =
        runScript("start " + state + " 127.0.0.1:" + std::to_string(metrics_port_));
    ASSERT_TRUE(address.has_value()) << readFile(dir_ + "/prometheus-script.log");
    prometheus_state_ = state;
    const auto colon = address->rfind(':');
    ASSERT_NE(colon, std::string::npos) << *address;
    prometheus_host_ = address->substr(0, colon);
    prometheus_port_ = std::stoi(address->substr(colon + 1));
  }

  // An instant query; nullopt when Prometheus did not answer with a vector.
  std::optional<std::vector<Sample>> query(const std::string& promql) {
    Poco::URI uri("/api/v1/query");
    uri.addQueryParameter("query", promql);
    const HttpResult result =
        httpCall(prometheus_host_, prometheus_port_, "GET", uri.getPathAndQuery());
    if (result.status != 200) return std::nullopt;
    try {
      Poco::JSON::Parser parser;
      const auto root = parser.parse(result.body).extract<Poco::JSON::Object::Ptr>();
      const auto data = root->getObject("data");
      if (!data || data->getValue<std::string>("resultType") != "vector") return std::nullopt;
      std::vector<Sample> samples;
      const auto vector = data->getArray("result");
      for (std::size_t i = 0; i < vector->size(); ++i) {
        const auto item = vector->getObject(static_cast<unsigned>(i));
        Sample sample;
        const auto metric = item->getObject("metric");
        for (const auto& [name, value] : *metric) sample.labels[name] = value.toString();
        sample.value = std::stod(item->getArray("value")->getElement<std::string>(1));
        samples.push_back(std::move(sample));
      }
      return samples;
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }

  // The value of a query that returns one sample, or nullopt.
  std::optional<double> scalarQuery(const std::string& promql) {
    const auto samples = query(promql);
    if (!samples || samples->size() != 1) return std::nullopt;
    return samples->front().value;
  }

  // A handful of API requests with several methods, routes and statuses.
  void sendTraffic(int round) {
    const std::map<std::string, std::string> auth = {
        {"Authorization", std::string("Bearer ") + kToken}};
    const std::string body = "{\"title\":\"scrape test " + std::to_string(round) +
                             "\",\"content\":\"c\",\"due_date\":\"2030-01-01\","
                             "\"request_timestamp\":\"" +
                             appliance::test::isoNow() + "\"}";
    EXPECT_EQ(httpCall("127.0.0.1", api_port_, "POST", "/tasks", body, auth).status, 201);
    EXPECT_EQ(httpCall("127.0.0.1", api_port_, "GET", "/tasks", {}, auth).status, 200);
    EXPECT_EQ(httpCall("127.0.0.1", api_port_, "GET", "/tasks/999999999", {}, auth).status, 404);
    EXPECT_EQ(httpCall("127.0.0.1", api_port_, "GET", "/tasks").status, 401);
    EXPECT_EQ(httpCall("127.0.0.1", api_port_, "GET", "/livez").status, 200);
  }

  std::string dir_;
  int api_port_ = 0;
  int metrics_port_ = 0;
  pid_t appliance_pid_ = -1;
  std::string prometheus_state_;
  std::string prometheus_host_;
  int prometheus_port_ = 0;
};

TEST_F(PrometheusScrapeTest, PrometheusScrapesTheApplianceAndSeesTraffic) {
  // Metrics live on their own port only.
  const HttpResult direct = httpCall("127.0.0.1", metrics_port_, "GET", "/metrics");
  ASSERT_EQ(direct.status, 200) << direct.error;
  EXPECT_EQ(direct.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(httpCall("127.0.0.1", api_port_, "GET", "/metrics").status, 404);

  ASSERT_NO_FATAL_FAILURE(startPrometheus());
  // Prometheus's service discovery hands targets to the scraper every 5 s, so the first
  // scrape can take that long.
  ASSERT_TRUE(eventually([&] { return scalarQuery("up{job=\"appliance\"}") == 1.0; }, 30s))
      << "target never up; up = " << scalarQuery("up{job=\"appliance\"}").value_or(-1);

  int round = 0;
  sendTraffic(round++);
  std::this_thread::sleep_for(2500ms);  // at least two scrape intervals
  // rate() needs two scrapes that saw different counts: keep the traffic going until the
  // rate shows it.
  const bool rate_seen = eventually(
      [&] {
        sendTraffic(round++);
        const auto rate = scalarQuery("sum(rate(http_requests_total{job=\"appliance\"}[1m]))");
        return rate.has_value() && *rate > 0;
      },
      30s, 500ms);
  EXPECT_TRUE(rate_seen) << "sum(rate(http_requests_total[1m])) stayed 0 or absent";

  for (const char* series :
       {"http_requests_total", "http_request_duration_seconds_bucket",
        "process_resident_memory_bytes", "appliance_build_info", "appliance_plugin_up"}) {
    const std::string promql = std::string("count(") + series + "{job=\"appliance\"})";
    const auto count = scalarQuery(promql);
    EXPECT_TRUE(count.has_value() && *count >= 1) << series << " not in Prometheus";
  }
  EXPECT_EQ(scalarQuery("appliance_plugin_up{job=\"appliance\",plugin=\"metrics_exporter\"}"), 1.0);
  EXPECT_GT(scalarQuery("process_resident_memory_bytes{job=\"appliance\"}").value_or(0), 0);
  const auto build_info = query("appliance_build_info{job=\"appliance\"}");
  ASSERT_TRUE(build_info.has_value());
  ASSERT_EQ(build_info->size(), 1u);
  EXPECT_EQ(build_info->front().value, 1.0);
  const auto& labels = build_info->front().labels;
  EXPECT_TRUE(labels.count("role") && labels.at("role").find("all") != std::string::npos);
  EXPECT_TRUE(labels.count("version") && !labels.at("version").empty());
  // The route label is the template, never the raw path.
  const auto raw_path = query("http_requests_total{job=\"appliance\",route=\"/tasks/999999999\"}");
  ASSERT_TRUE(raw_path.has_value());
  EXPECT_TRUE(raw_path->empty()) << "a raw path was used as the route label";
}

TEST_F(PrometheusScrapeTest, PromtoolAcceptsTheExposition) {
  sendTraffic(0);  // so that the HTTP families have samples
  const std::string file = dir_ + "/metrics.txt";
  const std::string command = "curl -sS --fail --max-time 10 -o " + file +
                              " http://127.0.0.1:" + std::to_string(metrics_port_) +
                              "/metrics && promtool check metrics < " + file + " > " + dir_ +
                              "/promtool.log 2>&1";
  const int status = std::system(command.c_str());
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << readFile(dir_ + "/promtool.log") << "\n--- exposition ---\n"
      << readFile(file);
  EXPECT_NE(readFile(file).find("\nhttp_requests_total{"), std::string::npos);
}

}  // namespace
