// Whole-binary tests on PostgreSQL: several appliance processes on one database (as pods
// are), and the database going away under load.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "e2e_support.h"
#include "harness/harness.h"

using appliance::test::ApplianceProcess;
using appliance::test::createDatabase;
using appliance::test::http;
using appliance::test::HttpResult;
using appliance::test::isoTimestamp;
using appliance::test::nowMicros;
using appliance::test::postgresUrl;
using appliance::test::TempDir;

namespace {

const std::string kToken = "pg-e2e-token-0123456789abcdef";

std::string idOf(const std::string& json) {
  const auto p = json.find("\"id\":");
  if (p == std::string::npos) return "";
  return json.substr(p + 5, json.find_first_of(",}", p) - p - 5);
}

std::string titleOf(const std::string& json) {
  const auto p = json.find("\"title\":\"");
  if (p == std::string::npos) return "";
  return json.substr(p + 9, json.find('"', p + 9) - p - 9);
}

// One appliance process serving role api on `url`.
struct Node {
  Node(const TempDir& dir, const std::string& name, const std::string& url) {
    listen = "127.0.0.1:" + std::to_string(appliance::test::freePort());
    const std::string config =
        dir.write(name + ".yaml", "http: {listen: \"" + listen +
                                      "\", threads: 48, access_log: false}\n"
                                      "data: {dir: " +
                                      dir.file(name + "-data") +
                                      "}\n"
                                      "roles: {api: [storage_postgres, task_api]}\n"
                                      "storage_postgres: {url: \"" +
                                      url +
                                      "\", pool: {acquire_timeout: 1s}, connect_timeout: 2s}\n"
                                      "task_api: {auth: {tokens: [" +
                                      kToken + "]}}\n");
    process = std::make_unique<ApplianceProcess>(
        std::vector<std::string>{"--config=" + config, "--role=api"}, dir.file(name + "-data"));
  }
  HttpResult call(const std::string& method, const std::string& target,
                  const std::string& body = {}) const {
    return http(listen, method, target, body, {{"Authorization", "Bearer " + kToken}},
                std::chrono::seconds(10));
  }
  std::string listen;
  std::unique_ptr<ApplianceProcess> process;
};

}  // namespace

// Two processes (two pools, like two pods) receive interleaved out-of-order PUTs and DELETEs
// for the same tasks. A task that is still alive holds exactly the PUT with the highest
// timestamp; a task is gone only if one of its deletes was accepted (a delete is final: newer
// updates then get 404), and it must be gone when its highest-timestamp write is a delete.
TEST(PostgresMultiProcess, RacingOutOfOrderWritesEndAtTheHighestTimestamp) {
  const std::string admin = postgresUrl(appliance::test::postgresStateFile());
  ASSERT_FALSE(admin.empty()) << "postgres fixture is not up";
  const std::string url = createDatabase(admin);
  TempDir dir;
  std::filesystem::create_directories(dir.file("a-data"));
  std::filesystem::create_directories(dir.file("b-data"));
  Node a(dir, "a", url), b(dir, "b", url);
  ASSERT_TRUE(a.process->waitReady(a.listen)) << a.process->output();
  ASSERT_TRUE(b.process->waitReady(b.listen)) << b.process->output();

  constexpr int kTasks = 6, kWritesPerTask = 60, kThreads = 8;
  const std::int64_t base = nowMicros();
  struct Write {
    std::string id;
    std::int64_t ts;
    bool is_delete;
  };
  std::vector<Write> writes;
  std::map<std::string, Write> expected;  // per task: the write with the highest timestamp
  std::mt19937 rng(7);
  for (int t = 0; t < kTasks; ++t) {
    auto created = a.call("POST", "/tasks",
                          R"({"title":"race-)" + std::to_string(t) +
                              R"(","content":"c","due_date":"2030-01-01","request_timestamp":")" +
                              isoTimestamp(base) + "\"}");
    ASSERT_EQ(created.status, 201) << created.body;
    const std::string id = idOf(created.body);
    std::vector<std::int64_t> stamps;
    for (int i = 1; i <= kWritesPerTask; ++i) stamps.push_back(base + i * 1000);
    std::shuffle(stamps.begin(), stamps.end(), rng);
    for (int i = 0; i < kWritesPerTask; ++i) {
      const bool is_delete = (i % 15 == 7);  // a few deletes among the updates
      writes.push_back({id, stamps[i], is_delete});
      if (!expected.count(id) || expected[id].ts < stamps[i]) expected[id] = writes.back();
    }
  }
  std::shuffle(writes.begin(), writes.end(), rng);
  std::atomic<std::size_t> next{0};
  std::atomic<int> unexpected{0};
  std::mutex accepted_mutex;
  std::set<std::string> accepted_delete;  // tasks with a delete answered 200
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const Node& node = t % 2 ? a : b;
      for (std::size_t i = next++; i < writes.size(); i = next++) {
        const Write& w = writes[i];
        HttpResult r =
            w.is_delete
                ? node.call("DELETE", "/tasks/" + w.id + "?request_timestamp=" + isoTimestamp(w.ts))
                : node.call("PUT", "/tasks/" + w.id,
                            R"({"title":"v)" + std::to_string(w.ts) + R"(","request_timestamp":")" +
                                isoTimestamp(w.ts) + "\"}");
        // 404: an update newer than an accepted delete. Anything else is a failure.
        if (r.status != 200 && r.status != 409 && r.status != 404) ++unexpected;
        if (w.is_delete && r.status == 200) {
          std::lock_guard lock(accepted_mutex);
          accepted_delete.insert(w.id);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(unexpected.load(), 0);
  for (const auto& [id, w] : expected) {
    for (const Node* node : {&a, &b}) {
      auto got = node->call("GET", "/tasks/" + id);
      if (w.is_delete) {
        EXPECT_EQ(got.status, 404) << "task " << id << ": its newest write is a delete";
      }
      if (got.status == 404) {
        EXPECT_TRUE(accepted_delete.count(id))
            << "task " << id << " vanished without an accepted delete";
      } else {
        ASSERT_EQ(got.status, 200) << got.body;
        EXPECT_FALSE(accepted_delete.count(id)) << "task " << id << " survived an accepted delete";
        EXPECT_EQ(titleOf(got.body), "v" + std::to_string(w.ts)) << "task " << id;
      }
    }
  }
  EXPECT_EQ(a.process->terminate(), 0);
  EXPECT_EQ(b.process->terminate(), 0);
}

// PostgreSQL stops and comes back while clients keep writing: every request is answered with
// 201, 409 or 503 (never a hang or a 500), every acknowledged create is there afterwards,
// and the API recovers within seconds of the server's return.
TEST(PostgresFaults, RestartUnderLoadLosesNoAcknowledgedWrite) {
  TempDir dir;
  const std::string script = std::string(APPLIANCE_SOURCE_DIR) + "/scripts/pg-test-cluster.sh";
  const std::string state = dir.file("cluster.state");
  auto started = appliance::test::runCommand({script, "start", state});
  ASSERT_EQ(started.exit_code, 0) << started.err;
  struct ClusterGuard {
    std::string script, state;
    ~ClusterGuard() { appliance::test::runCommand({script, "stop", state}); }
  } guard{script, state};
  std::filesystem::create_directories(dir.file("n-data"));
  Node node(dir, "n", postgresUrl(state));
  ASSERT_TRUE(node.process->waitReady(node.listen)) << node.process->output();

  std::mutex mutex;
  std::vector<std::string> acknowledged;
  std::map<int, int> statuses;
  std::atomic<bool> stop{false};
  std::atomic<int> sequence{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&] {
      while (!stop) {
        const int n = sequence++;
        auto r = node.call("POST", "/tasks",
                           R"({"title":"load-)" + std::to_string(n) +
                               R"(","content":"c","due_date":"2030-01-01","request_timestamp":")" +
                               isoTimestamp(nowMicros()) + "\"}");
        std::lock_guard lock(mutex);
        statuses[r.status]++;
        if (r.status == 201) acknowledged.push_back(idOf(r.body));
        if (r.status == 503) std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(1));
  ASSERT_EQ(appliance::test::runCommand({script, "stop-server", state, "fast"}).exit_code, 0);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  ASSERT_EQ(appliance::test::runCommand({script, "start-server", state}).exit_code, 0);
  const auto back = std::chrono::steady_clock::now();
  std::size_t before;
  {
    std::lock_guard lock(mutex);
    before = acknowledged.size();
  }
  // Recovery: new creates succeed again within 10 s of the server's return.
  bool recovered = false;
  while (std::chrono::steady_clock::now() - back < std::chrono::seconds(10)) {
    {
      std::lock_guard lock(mutex);
      if (acknowledged.size() > before + 5) recovered = true;
    }
    if (recovered) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_TRUE(recovered) << "no successful create within 10 s of PostgreSQL's return";
  for (const auto& [status, count] : statuses) {
    EXPECT_TRUE(status == 201 || status == 409 || status == 503)
        << count << " responses with status " << status;
  }
  EXPECT_GT(statuses[503], 0) << "the outage was not observed";
  for (const auto& id : acknowledged) {
    EXPECT_EQ(node.call("GET", "/tasks/" + id).status, 200)
        << "acknowledged task " << id << " is missing";
  }
  EXPECT_EQ(http(node.listen, "GET", "/readyz").status, 200);
  EXPECT_EQ(node.process->terminate(), 0) << node.process->output();
}
