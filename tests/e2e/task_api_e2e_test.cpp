// End-to-end: the real binary on a free port, driven over HTTP, against each task store.
// One parameterised suite: every test runs on SQLite and (when the test PostgreSQL cluster is
// up, as in `make test`) on PostgreSQL.
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocket.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <regex>
#include <thread>

#include "e2e_support.h"
#include "harness/harness.h"

using appliance::test::ApplianceProcess;
using appliance::test::createDatabase;
using appliance::test::http;
using appliance::test::HttpResult;
using appliance::test::isoNow;
using appliance::test::TempDir;
using testing::HasSubstr;

namespace {

const std::string kToken = "e2e-token-0123456789abcdef";

std::string taskBody(const std::string& title, const std::string& ts,
                     const std::string& due = "2030-01-31") {
  return R"({"title":")" + title + R"(","content":"body of )" + title + R"(","due_date":")" + due +
         R"(","request_timestamp":")" + ts + R"("})";
}

class TaskApiE2E : public testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    store_ = GetParam();
    std::string store_config;
    if (store_ == "sqlite") {
      store_config = "storage_sqlite: {path: " + dir_.file("tasks.db") + "}\n";
    } else {
      const std::string admin = appliance::test::postgresUrl(appliance::test::postgresStateFile());
      ASSERT_FALSE(admin.empty())
          << "no URL in the postgres fixture's state file; is the fixture up?";
      pg_url_ = createDatabase(admin);
      ASSERT_FALSE(pg_url_.empty());
      store_config = "storage_postgres: {url: \"" + pg_url_ + "\"}\n";
    }
    config_ = appliance::test::writeConfig(
        dir_, "http: {listen: \"" + listen_ +
                  "\", threads: 48, access_log: false, drain_timeout: 10s}\n"
                  "data: {dir: " +
                  dir_.file("data") +
                  "}\n"
                  "roles: {api: [storage_" +
                  store_ + ", task_api]}\n" + store_config + "task_api: {auth: {tokens: [" +
                  kToken + "]}}\n");
    start();
  }

  void start() {
    app_ = std::make_unique<ApplianceProcess>(
        std::vector<std::string>{"--config=" + config_, "--role=api"}, dir_.path());
    ASSERT_TRUE(app_->waitReady(listen_)) << app_->output();
  }

  HttpResult call(const std::string& method, const std::string& target,
                  const std::string& body = {}, std::map<std::string, std::string> headers = {}) {
    headers.emplace("Authorization", "Bearer " + kToken);
    return http(listen_, method, target, body, headers);
  }

  std::string create(const std::string& title, const std::string& ts) {
    auto r = call("POST", "/tasks", taskBody(title, ts));
    EXPECT_EQ(r.status, 201) << r.body;
    return appliance::test::jsonField(r.body, "id");
  }

  TempDir dir_;
  std::string store_;
  std::string pg_url_;
  std::string listen_ = "127.0.0.1:" + std::to_string(appliance::test::freePort());
  std::string config_;
  std::unique_ptr<ApplianceProcess> app_;
};

}  // namespace

TEST_P(TaskApiE2E, ProbesAndSeedHealthAreOpen) {
  EXPECT_EQ(http(listen_, "GET", "/livez").status, 200);
  EXPECT_EQ(http(listen_, "GET", "/readyz").status, 200);
  auto health = http(listen_, "GET", "/health");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(appliance::test::jsonField(health.body, "status"), "healthy");
  EXPECT_FALSE(appliance::test::jsonField(health.body, "timestamp").empty());
  EXPECT_EQ(http(listen_, "GET", "/openapi.json").status, 200);
}

TEST_P(TaskApiE2E, EveryTaskRouteRequiresAuth) {
  for (const auto& [method, target] :
       std::vector<std::pair<std::string, std::string>>{{"GET", "/tasks"},
                                                        {"POST", "/tasks"},
                                                        {"GET", "/tasks/1"},
                                                        {"PUT", "/tasks/1"},
                                                        {"DELETE", "/tasks/1"}}) {
    auto none = http(listen_, method, target, "{}");
    EXPECT_EQ(none.status, 401) << method << " " << target;
    EXPECT_THAT(none.header("www-authenticate"), HasSubstr("Bearer"));
    auto wrong = http(listen_, method, target, "{}", {{"Authorization", "Bearer nope"}});
    EXPECT_EQ(wrong.status, 401) << method << " " << target;
  }
}

TEST_P(TaskApiE2E, CreateReadUpdateDeleteRoundTrip) {
  auto created = call("POST", "/tasks", taskBody("Write docs", isoNow()));
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = appliance::test::jsonField(created.body, "id");
  EXPECT_EQ(created.header("location"), "/tasks/" + id);
  EXPECT_EQ(appliance::test::jsonField(created.body, "done"), "false");
  EXPECT_EQ(appliance::test::jsonField(created.body, "due_date"), "2030-01-31");

  auto got = call("GET", "/tasks/" + id);
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(appliance::test::jsonField(got.body, "title"), "Write docs");

  auto updated =
      call("PUT", "/tasks/" + id, R"({"done":true,"request_timestamp":")" + isoNow(1000) + "\"}");
  EXPECT_EQ(updated.status, 200) << updated.body;
  EXPECT_EQ(appliance::test::jsonField(updated.body, "done"), "true");
  EXPECT_EQ(appliance::test::jsonField(updated.body, "title"), "Write docs");

  auto list = call("GET", "/tasks");
  EXPECT_EQ(list.status, 200);
  EXPECT_EQ(list.body.front(), '[');
  EXPECT_THAT(list.body, HasSubstr("Write docs"));

  auto deleted = call("DELETE", "/tasks/" + id, R"({"request_timestamp":")" + isoNow(2000) + "\"}");
  EXPECT_EQ(deleted.status, 200);
  EXPECT_EQ(deleted.body, R"({"message":"Task deleted successfully"})");
  EXPECT_EQ(call("GET", "/tasks/" + id).status, 404);
}

TEST_P(TaskApiE2E, DeleteAcceptsTimestampAsQueryParameter) {
  const std::string id = create("query delete", isoNow());
  auto r = call("DELETE", "/tasks/" + id + "?request_timestamp=" + isoNow(5000));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(call("GET", "/tasks/" + id).status, 404);
}

TEST_P(TaskApiE2E, ValidationErrorsUseFastApiShape) {
  auto missing =
      call("POST", "/tasks",
           R"({"content":"x","due_date":"2030-01-01","request_timestamp":"2024-01-01T00:00:00Z"})");
  EXPECT_EQ(missing.status, 422);
  EXPECT_THAT(missing.body, HasSubstr(R"("loc":["body","title"])"));
  auto bad_date = call("POST", "/tasks", taskBody("x", isoNow(), "2023-02-30"));
  EXPECT_EQ(bad_date.status, 422);
  EXPECT_THAT(bad_date.body, HasSubstr(R"("loc":["body","due_date"])"));
  auto not_json = call("POST", "/tasks", "{not json");
  EXPECT_EQ(not_json.status, 422);
  EXPECT_THAT(not_json.body, HasSubstr("\"detail\":["));
}

TEST_P(TaskApiE2E, ReplayedCreateIsRejected) {
  const std::string ts = isoNow();
  create("replayed", ts);
  EXPECT_EQ(call("POST", "/tasks", taskBody("replayed", ts)).status, 409);
  EXPECT_EQ(call("POST", "/tasks", taskBody("replayed", isoNow(-1'000'000))).status, 409);
}

// Both stores forget tombstones after tombstone_retention (30 days by default), so they refuse
// older writes; the client is told why.
TEST_P(TaskApiE2E, WritesOlderThanTheTombstoneRetentionAre409WithTheReason) {
  constexpr std::int64_t kDay = 86'400'000'000;
  auto old = call("POST", "/tasks", taskBody("ancient", isoNow(-31 * kDay)));
  EXPECT_EQ(old.status, 409) << old.body;
  EXPECT_THAT(old.body, HasSubstr("Request too old: request_timestamp"));
  EXPECT_THAT(old.body, HasSubstr("720h"));
  const std::string id = create("recent", isoNow(-29 * kDay));
  auto late = call("PUT", "/tasks/" + id,
                   R"({"title":"late","request_timestamp":")" + isoNow(-31 * kDay) + "\"}");
  EXPECT_EQ(late.status, 409);
  EXPECT_THAT(late.body, HasSubstr("Request too old"));
  auto gone = call("DELETE", "/tasks/999999999?request_timestamp=" + isoNow(-31 * kDay));
  EXPECT_EQ(gone.status, 409) << "an unknown id may be a purged tombstone: " << gone.body;
  EXPECT_EQ(call("GET", "/tasks/" + id).status, 200);
}

TEST_P(TaskApiE2E, StaleUpdateChangesNothing) {
  const std::string id = create("stale", isoNow());
  const std::string newer = isoNow(10'000'000);
  ASSERT_EQ(
      call("PUT", "/tasks/" + id, R"({"title":"new","request_timestamp":")" + newer + "\"}").status,
      200);
  auto stale = call("PUT", "/tasks/" + id,
                    R"({"title":"old","request_timestamp":")" + isoNow(5'000'000) + "\"}");
  EXPECT_EQ(stale.status, 409);
  auto equal =
      call("PUT", "/tasks/" + id, R"({"title":"same","request_timestamp":")" + newer + "\"}");
  EXPECT_EQ(equal.status, 409);
  EXPECT_EQ(appliance::test::jsonField(call("GET", "/tasks/" + id).body, "title"), "new");
}

TEST_P(TaskApiE2E, StaleRequestAfterDeleteNeverResurrects) {
  const std::string id = create("tombstone", isoNow());
  ASSERT_EQ(call("DELETE", "/tasks/" + id, R"({"request_timestamp":")" + isoNow(10'000'000) + "\"}")
                .status,
            200);
  EXPECT_EQ(call("PUT", "/tasks/" + id,
                 R"({"done":true,"request_timestamp":")" + isoNow(5'000'000) + "\"}")
                .status,
            409);
  EXPECT_EQ(call("DELETE", "/tasks/" + id, R"({"request_timestamp":")" + isoNow(5'000'000) + "\"}")
                .status,
            409);
  EXPECT_EQ(call("PUT", "/tasks/" + id,
                 R"({"done":true,"request_timestamp":")" + isoNow(20'000'000) + "\"}")
                .status,
            404);
  EXPECT_EQ(call("GET", "/tasks/" + id).status, 404);
}

TEST_P(TaskApiE2E, ConcurrentOutOfOrderPutsEndAtHighestTimestamp) {
  const std::string id = create("race", isoNow());
  constexpr int kThreads = 8, kPerThread = 25;
  std::vector<std::int64_t> offsets;
  for (int i = 1; i <= kThreads * kPerThread; ++i) offsets.push_back(i * 1000 + 1'000'000);
  std::shuffle(offsets.begin(), offsets.end(), std::mt19937(42));
  const auto base = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
  std::atomic<int> ok{0}, conflict{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::int64_t off = offsets[t * kPerThread + i];
        const std::string title = "v" + std::to_string(off);
        const std::string ts =
            isoNow(off + (base - std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count()));
        auto r = call("PUT", "/tasks/" + id,
                      R"({"title":")" + title + R"(","request_timestamp":")" + ts + "\"}");
        (r.status == 200 ? ok : r.status == 409 ? conflict : other)++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_GT(ok.load(), 0);
  EXPECT_EQ(ok.load() + conflict.load(), kThreads * kPerThread);
  const std::int64_t highest = *std::max_element(offsets.begin(), offsets.end());
  EXPECT_EQ(appliance::test::jsonField(call("GET", "/tasks/" + id).body, "title"),
            "v" + std::to_string(highest));
}

TEST_P(TaskApiE2E, PaginationFollowsLinkHeader) {
  for (int i = 0; i < 5; ++i) create("page-" + std::to_string(i), isoNow(i));
  std::string target = "/tasks?limit=2";
  std::vector<std::string> titles;
  for (int page = 0; page < 10 && !target.empty(); ++page) {
    auto r = call("GET", target);
    ASSERT_EQ(r.status, 200) << r.body;
    std::smatch m;
    const std::string body = r.body;
    static const std::regex kTitle("\"title\":\"([^\"]*)\"");
    for (std::sregex_iterator it(body.begin(), body.end(), kTitle), end; it != end; ++it)
      titles.push_back((*it)[1]);
    const std::string link = r.header("link");
    target.clear();
    if (std::regex_search(link, m, std::regex("<([^>]*)>; *rel=\"next\""))) {
      target = m[1];
      const auto scheme = target.find("://");
      if (scheme != std::string::npos) target = target.substr(target.find('/', scheme + 3));
    }
  }
  EXPECT_EQ(titles, (std::vector<std::string>{"page-4", "page-3", "page-2", "page-1", "page-0"}));
}

TEST_P(TaskApiE2E, OversizedBodyGets413) {
  const std::string big(2 * 1024 * 1024, 'x');
  auto r = call("POST", "/tasks", taskBody(big, isoNow()));
  EXPECT_EQ(r.status, 413);
  EXPECT_THAT(r.body, HasSubstr("detail"));
  EXPECT_EQ(http(listen_, "GET", "/livez").status, 200);
}

TEST_P(TaskApiE2E, UnknownRoutesAndMethodsGetJsonErrors) {
  auto missing = call("GET", "/nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body, R"({"detail":"Not Found"})");
  auto method = call("PATCH", "/tasks/1");
  EXPECT_EQ(method.status, 405);
  EXPECT_THAT(method.header("allow"), HasSubstr("GET"));
}

TEST_P(TaskApiE2E, CorrelationIdIsEchoedOrGenerated) {
  auto given = http(listen_, "GET", "/livez", {}, {{"X-Request-ID", "abc-123"}});
  EXPECT_EQ(given.header("correlation-id"), "abc-123");
  auto generated = http(listen_, "GET", "/livez");
  EXPECT_EQ(generated.header("correlation-id").size(), 32u);
}

TEST_P(TaskApiE2E, AcknowledgedWritesSurviveRestart) {
  const std::string id = create("durable", isoNow());
  ASSERT_EQ(app_->terminate(), 0) << app_->output();
  start();
  auto r = call("GET", "/tasks/" + id);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(appliance::test::jsonField(r.body, "title"), "durable");
}

// Requests in flight when SIGTERM arrives complete; the process then exits 0.
TEST_P(TaskApiE2E, SigtermDrainsInFlightRequests) {
  constexpr int kClients = 12;
  const auto port = static_cast<Poco::UInt16>(std::stoi(listen_.substr(listen_.rfind(':') + 1)));
  std::vector<Poco::Net::StreamSocket> sockets;
  std::vector<std::string> bodies;
  for (int i = 0; i < kClients; ++i) {
    bodies.push_back(taskBody("drain-" + std::to_string(i), isoNow(i)));
    sockets.emplace_back(Poco::Net::SocketAddress("127.0.0.1", port));
    const std::string head = "POST /tasks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + kToken +
                             "\r\nContent-Type: application/json\r\nContent-Length: " +
                             std::to_string(bodies[i].size()) + "\r\n\r\n";
    const std::string first_half = head + bodies[i].substr(0, bodies[i].size() / 2);
    sockets[i].sendBytes(first_half.data(), static_cast<int>(first_half.size()));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the server is now mid-request
  ::kill(app_->pid(), SIGTERM);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  for (int i = 0; i < kClients; ++i) {
    const std::string rest = bodies[i].substr(bodies[i].size() / 2);
    sockets[i].sendBytes(rest.data(), static_cast<int>(rest.size()));
  }
  for (int i = 0; i < kClients; ++i) {
    sockets[i].setReceiveTimeout(Poco::Timespan(10, 0));
    char buf[4096];
    std::string response;
    int n;
    while ((n = sockets[i].receiveBytes(buf, sizeof buf)) > 0) {
      response.append(buf, static_cast<std::size_t>(n));
      if (response.find("\r\n\r\n") != std::string::npos && response.find("}") != std::string::npos)
        break;
    }
    EXPECT_THAT(response, testing::StartsWith("HTTP/1.1 201")) << "client " << i;
  }
  EXPECT_EQ(app_->terminate(), 0) << app_->output();
  start();
  auto list = call("GET", "/tasks?limit=100");
  for (int i = 0; i < kClients; ++i)
    EXPECT_THAT(list.body, HasSubstr("drain-" + std::to_string(i)));
}

INSTANTIATE_TEST_SUITE_P(Stores, TaskApiE2E, testing::Values("sqlite", "postgres"),
                         [](const testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

// Start-up refuses bad configuration with exit 2 and the file:line of the problem.
TEST(StartupErrors, BrokenYamlExitsTwoNamingFileAndLine) {
  TempDir dir;
  const std::string config = dir.write("broken.yaml", "http:\n  listen: [oops\nroles: {}\n");
  auto r = appliance::test::runCommand({appliance::test::applianceBinary(), "--config=" + config});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr(config + ":"));
  EXPECT_THAT(r.err, HasSubstr("invalid YAML"));
}

TEST(StartupErrors, BadPluginValueExitsTwoWithLocation) {
  TempDir dir;
  const std::string config = dir.write(
      "bad.yaml",
      "roles: {api: [storage_sqlite, task_api]}\nstorage_sqlite:\n  path: " + dir.file("x.db") +
          "\n  synchronous: sometimes\ntask_api: {auth: {tokens: [t]}}\n");
  auto r = appliance::test::runCommand(
      {appliance::test::applianceBinary(), "--config=" + config, "--role=api"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr(config + ":4: storage_sqlite.synchronous:"));
}

TEST(StartupErrors, CheckConfigAcceptsShippedLocalEnvironment) {
  auto r = appliance::test::runCommand(
      {appliance::test::applianceBinary(), "--env=local", "--check-config"},
      {{"APPLIANCE_DATA_DIR", TempDir().path()}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("task_api"));
}

TEST(StartupErrors, CheckConfigAcceptsShippedDevAndProdEnvironments) {
  TempDir dir;
  const std::map<std::string, std::string> env = {
      {"DATABASE_URL", "postgresql://app@db.internal:5432/tasks"},
      {"APPLIANCE_DB_PASSWORD_FILE", dir.write("password", "s3cret-db-password\n")},
      {"APPLIANCE_TOKENS_FILE", dir.write("tokens", "token-0123456789abcdef\n")},
      {"APPLIANCE_DB_CA_FILE", dir.write("rds-ca.pem", "-----BEGIN CERTIFICATE-----\n")},
      {"APPLIANCE_DATA_DIR", dir.file("data")}};
  for (const std::string name : {"dev", "prod"}) {
    auto r = appliance::test::runCommand(
        {appliance::test::applianceBinary(), "--env=" + name, "--role=api", "--check-config"}, env);
    EXPECT_EQ(r.exit_code, 0) << name << ": " << r.err;
    EXPECT_THAT(r.out, HasSubstr("storage_postgres")) << name;
    EXPECT_THAT(r.out + r.err, testing::Not(HasSubstr("s3cret-db-password"))) << name;
  }
  auto missing = appliance::test::runCommand(
      {appliance::test::applianceBinary(), "--env=prod", "--role=api", "--check-config"},
      {{"DATABASE_URL", ""},
       {"APPLIANCE_TOKENS_FILE", env.at("APPLIANCE_TOKENS_FILE")},
       {"APPLIANCE_DB_PASSWORD_FILE", env.at("APPLIANCE_DB_PASSWORD_FILE")},
       {"APPLIANCE_DB_CA_FILE", env.at("APPLIANCE_DB_CA_FILE")}});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err, HasSubstr("storage_postgres.url: is required"));
}

TEST(StartupErrors, PortInUseFailsWithAddress) {
  TempDir dir;
  Poco::Net::ServerSocket taken(Poco::Net::SocketAddress("127.0.0.1", 0));
  const std::string listen = "127.0.0.1:" + std::to_string(taken.address().port());
  const std::string config = dir.write(
      "c.yaml", "http: {listen: \"" + listen + "\"}\ndata: {dir: " + dir.file("d") +
                    "}\nroles: {api: [storage_sqlite, task_api]}\nstorage_sqlite: {path: " +
                    dir.file("x.db") + "}\ntask_api: {auth: {tokens: [t]}}\n");
  auto r = appliance::test::runCommand(
      {appliance::test::applianceBinary(), "--config=" + config, "--role=api"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("http.listen " + listen + ": cannot listen"));
}

TEST(StartupErrors, MetricsPortInUseNamesThePluginAndAddress) {
  TempDir dir;
  Poco::Net::ServerSocket taken(Poco::Net::SocketAddress("127.0.0.1", 0));
  const std::string metrics = "127.0.0.1:" + std::to_string(taken.address().port());
  const std::string config = dir.write(
      "c.yaml",
      "http: {listen: \"127.0.0.1:" + std::to_string(appliance::test::freePort()) +
          "\"}\ndata: {dir: " + dir.file("d") +
          "}\nroles: {api: [storage_sqlite, task_api, metrics_exporter]}\nstorage_sqlite: {path: " +
          dir.file("x.db") + "}\ntask_api: {auth: {tokens: [t]}}\nmetrics_exporter: {listen: \"" +
          metrics + "\"}\n");
  auto r = appliance::test::runCommand(
      {appliance::test::applianceBinary(), "--config=" + config, "--role=api"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err,
              HasSubstr("metrics_exporter: listener 'metrics' " + metrics + ": cannot listen"));
}
