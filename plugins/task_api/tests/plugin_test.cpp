// The plugin driven through FakeContext and InMemoryTaskStore: every route, status code and
// ordering rule as a client sees them.
#include "task_api.h"

#include <gtest/gtest.h>

#include <fstream>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JWT/Signer.h>
#include <Poco/JWT/Token.h>

#include <set>

#include "appliance/testing/fake_context.h"
#include "appliance/testing/in_memory_task_store.h"
#include "test_support.h"

namespace appliance::plugins::task_api {
namespace {

using testing::FakeContext;
using testing::InMemoryTaskStore;

constexpr const char* kToken = "test-token-0123456789abcdef";

Poco::Dynamic::Var parseJson(const std::string& text) {
  Poco::JSON::Parser parser;
  return parser.parse(text);
}
Poco::JSON::Object::Ptr object(const std::string& text) {
  return parseJson(text).extract<Poco::JSON::Object::Ptr>();
}
Poco::JSON::Array::Ptr array(const std::string& text) {
  return parseJson(text).extract<Poco::JSON::Array::Ptr>();
}

std::optional<std::string> header(const HttpResponse& response, std::string_view name) {
  for (const auto& h : response.headers) {
    if (h.name == name) return h.value;
  }
  return std::nullopt;
}

std::string createBody(const std::string& title, const std::string& ts,
                       const std::string& due = "2024-06-01") {
  return R"({"title":")" + title + R"(","content":"body of )" + title + R"(","due_date":")" + due +
         R"(","request_timestamp":")" + ts + R"("})";
}

// A store whose every call fails with one status, to test the error mapping.
class FailingStore : public TaskStore {
 public:
  explicit FailingStore(Status status) : status_(std::move(status)) {}
  Result<Task> create(const NewTask&) override { return status_; }
  Result<Task> get(std::int64_t) override { return status_; }
  Result<TaskPage> list(const TaskQuery&) override { return status_; }
  Result<Task> update(std::int64_t, const TaskPatch&) override { return status_; }
  Status remove(std::int64_t, Timestamp) override { return status_; }
  Result<TaskCounts> counts() override { return status_; }
  Status ping() override { return status_; }

 private:
  Status status_;
};

class TaskApiTest : public ::testing::Test {
 protected:
  void SetUp() override { start(defaultConfig()); }

  static std::string defaultConfig(const std::string& extra = {}) {
    return std::string("auth:\n  tokens: [") + kToken + "]\ndocs:\n  dir: " TASK_API_DOCS_DIR "\n" +
           extra;
  }

  void start(const std::string& yaml, std::shared_ptr<TaskStore> store = nullptr) {
    plugin_.reset();
    ctx_ = std::make_unique<FakeContext>("task_api");
    memory_ = std::make_shared<InMemoryTaskStore>(&ctx_->manual_clock);
    ASSERT_TRUE(ctx_->services().provide<TaskStore>(store ? store : memory_).isOk());
    plugin_ = std::make_unique<TaskApiPlugin>();
    Status s = plugin_->configure(test::yamlNode(yaml));
    ASSERT_TRUE(s.isOk()) << s.message();
    s = plugin_->init(*ctx_);
    ASSERT_TRUE(s.isOk()) << s.message();
    s = plugin_->start();
    ASSERT_TRUE(s.isOk()) << s.message();
  }

  void TearDown() override {
    plugin_.reset();
    ctx_.reset();
  }

  HttpResponse call(const std::string& method, const std::string& target,
                    const std::string& body = {}, const char* token = kToken) {
    std::vector<HttpHeader> headers;
    if (token) headers.push_back({"Authorization", std::string("Bearer ") + token});
    if (!body.empty()) headers.push_back({"Content-Type", "application/json"});
    return ctx_->router.call(method, target, body, std::move(headers));
  }

  std::int64_t create(const std::string& title, const std::string& ts,
                      const std::string& due = "2024-06-01") {
    const HttpResponse r = call("POST", "/tasks", createBody(title, ts, due));
    EXPECT_EQ(r.status, 201) << r.body;
    return r.status == 201 ? object(r.body)->getValue<std::int64_t>("id") : 0;
  }

  Poco::JSON::Object::Ptr getTask(std::int64_t id) {
    const HttpResponse r = call("GET", "/tasks/" + std::to_string(id));
    EXPECT_EQ(r.status, 200) << r.body;
    return object(r.body);
  }

  std::unique_ptr<FakeContext> ctx_;
  std::shared_ptr<InMemoryTaskStore> memory_;
  std::unique_ptr<TaskApiPlugin> plugin_;
};

TEST_F(TaskApiTest, RegistersEveryRoute) {
  const std::vector<std::string> routes = ctx_->router.routes();
  const std::set<std::string> got(routes.begin(), routes.end());
  for (const char* route :
       {"POST /tasks", "GET /tasks", "GET /tasks/{id}", "PUT /tasks/{id}", "DELETE /tasks/{id}",
        "GET /openapi.json", "GET /docs", "GET /docs/assets/{file}"}) {
    EXPECT_TRUE(got.count(route)) << route;
  }
}

TEST_F(TaskApiTest, InitFailsWithoutTaskStore) {
  FakeContext bare("task_api");
  TaskApiPlugin plugin;
  ASSERT_TRUE(plugin.configure(test::yamlNode(defaultConfig())).isOk());
  const Status s = plugin.init(bare);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("task_store"), std::string::npos);
}

TEST_F(TaskApiTest, CreateAnswers201WithTheTaskAndLocation) {
  const HttpResponse r =
      call("POST", "/tasks", createBody("Write report", "2024-05-01T12:00:00Z", "2024-06-30"));
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.content_type, "application/json");
  const auto task = object(r.body);
  const auto id = task->getValue<std::int64_t>("id");
  EXPECT_EQ(header(r, "Location"), "/tasks/" + std::to_string(id));
  EXPECT_EQ(task->getValue<std::string>("title"), "Write report");
  EXPECT_EQ(task->getValue<std::string>("content"), "body of Write report");
  EXPECT_EQ(task->getValue<std::string>("due_date"), "2024-06-30");
  EXPECT_FALSE(task->getValue<bool>("done"));
  // ManualClock starts at 1'700'000'000 s.
  EXPECT_EQ(task->getValue<std::string>("created_at"), "2023-11-14T22:13:20.000000Z");
  EXPECT_EQ(task->getValue<std::string>("updated_at"), "2023-11-14T22:13:20.000000Z");
  EXPECT_EQ(task->size(), 7u);
}

TEST_F(TaskApiTest, TextRoundTripsWithEscapesAndUnicode) {
  const std::string body =
      R"({"title":"Quote \" slash \\ tab \t \u00e9\ud83d\ude00","content":"line1\nline2",)"
      R"("due_date":"2024-06-01","request_timestamp":"2024-05-01T12:00:00Z"})";
  const HttpResponse r = call("POST", "/tasks", body);
  ASSERT_EQ(r.status, 201) << r.body;
  const auto task = getTask(object(r.body)->getValue<std::int64_t>("id"));
  EXPECT_EQ(task->getValue<std::string>("title"),
            "Quote \" slash \\ tab \t \xC3\xA9\xF0\x9F\x98\x80");
  EXPECT_EQ(task->getValue<std::string>("content"), "line1\nline2");
}

TEST_F(TaskApiTest, GetByIdStatuses) {
  const auto id = create("A", "2024-05-01T12:00:00Z");
  EXPECT_EQ(call("GET", "/tasks/" + std::to_string(id)).status, 200);
  const HttpResponse missing = call("GET", "/tasks/999");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body, R"({"detail":"Task not found"})");
  EXPECT_EQ(call("GET", "/tasks/99999999999999999999999").status, 404);
  const HttpResponse bad = call("GET", "/tasks/abc");
  EXPECT_EQ(bad.status, 422);
  EXPECT_EQ(bad.body,
            R"({"detail":[{"type":"int_parsing","loc":["path","task_id"],)"
            R"("msg":"Input should be a valid integer, unable to parse string as an integer"}]})");
}

TEST_F(TaskApiTest, EveryTaskRouteRequiresAuthentication) {
  const auto id = std::to_string(create("A", "2024-05-01T12:00:00Z"));
  const std::pair<const char*, std::string> routes[] = {{"POST", "/tasks"},
                                                        {"GET", "/tasks"},
                                                        {"GET", "/tasks/" + id},
                                                        {"PUT", "/tasks/" + id},
                                                        {"DELETE", "/tasks/" + id}};
  for (const auto& [method, path] : routes) {
    const std::string body = R"({"title":"X","request_timestamp":"2030-01-01T00:00:00Z"})";
    const HttpResponse missing = call(method, path, body, nullptr);
    EXPECT_EQ(missing.status, 401) << method << " " << path;
    EXPECT_EQ(missing.body, R"({"detail":"Not authenticated"})");
    EXPECT_EQ(header(missing, "WWW-Authenticate"), "Bearer");
    const HttpResponse wrong = call(method, path, body, "wrong-token-0123456789");
    EXPECT_EQ(wrong.status, 401) << method << " " << path;
    EXPECT_EQ(wrong.body, R"({"detail":"Invalid token"})");
    EXPECT_EQ(header(wrong, "WWW-Authenticate"), R"(Bearer error="invalid_token")");
    const HttpResponse basic =
        ctx_->router.call(method, path, body, {{"Authorization", "Basic dXNlcjpwYXNz"}});
    EXPECT_EQ(basic.status, 401);
  }
  // Nothing was changed by the refused requests.
  const auto task = getTask(std::stoll(id));
  EXPECT_EQ(task->getValue<std::string>("title"), "A");
  EXPECT_EQ(array(call("GET", "/tasks").body)->size(), 1u);
  EXPECT_EQ(ctx_->metricValue("appliance_task_api_auth_failures_total", {{"reason", "missing"}}),
            10.0);
  EXPECT_EQ(ctx_->metricValue("appliance_task_api_auth_failures_total", {{"reason", "invalid"}}),
            5.0);
}

TEST_F(TaskApiTest, ValidationErrorsComeInFastApiShape) {
  const HttpResponse r = call("POST", "/tasks", "{}");
  ASSERT_EQ(r.status, 422);
  const auto detail = object(r.body)->getArray("detail");
  ASSERT_EQ(detail->size(), 4u);
  const auto first = detail->getObject(0);
  EXPECT_EQ(first->getValue<std::string>("type"), "missing");
  EXPECT_EQ(first->getValue<std::string>("msg"), "Field required");
  EXPECT_EQ(first->getArray("loc")->getElement<std::string>(0), "body");
  EXPECT_EQ(first->getArray("loc")->getElement<std::string>(1), "title");

  const HttpResponse garbage = call("POST", "/tasks", "not json");
  EXPECT_EQ(garbage.status, 422);
  EXPECT_NE(garbage.body.find(R"("loc":["body",0])"), std::string::npos) << garbage.body;
  EXPECT_EQ(array(call("GET", "/tasks").body)->size(), 0u);
}

TEST_F(TaskApiTest, PutReportsPathAndBodyErrorsTogether) {
  const HttpResponse r = call("PUT", "/tasks/x", R"({"title":""})");
  ASSERT_EQ(r.status, 422);
  const auto detail = object(r.body)->getArray("detail");
  ASSERT_EQ(detail->size(), 3u) << r.body;
  EXPECT_EQ(detail->getObject(0)->getArray("loc")->getElement<std::string>(0), "path");
  EXPECT_EQ(detail->getObject(1)->getValue<std::string>("type"), "string_too_short");
  EXPECT_EQ(detail->getObject(2)->getValue<std::string>("type"), "missing");
}

TEST_F(TaskApiTest, CreateReplayIsAConflict) {
  create("Same title", "2024-05-01T12:00:00Z");
  EXPECT_EQ(call("POST", "/tasks", createBody("Same title", "2024-05-01T12:00:00Z")).status, 409);
  EXPECT_EQ(call("POST", "/tasks", createBody("Same title", "2024-05-01T11:00:00Z")).status, 409);
  // The same instant written with an offset is the same request timestamp.
  EXPECT_EQ(call("POST", "/tasks", createBody("Same title", "2024-05-01T14:00:00+02:00")).status,
            409);
  EXPECT_EQ(call("POST", "/tasks", createBody("Same title", "2024-05-01T12:00:00.000001Z")).status,
            201);
  EXPECT_EQ(call("POST", "/tasks", createBody("Other title", "2024-05-01T12:00:00Z")).status, 201);
  EXPECT_EQ(array(call("GET", "/tasks").body)->size(), 3u);
}

TEST_F(TaskApiTest, PutUpdatesOnlyGivenFields) {
  const auto id = create("Title", "2024-05-01T12:00:00Z");
  ctx_->manual_clock.advance(std::chrono::seconds(60));
  const HttpResponse r = call("PUT", "/tasks/" + std::to_string(id),
                              R"({"done":true,"request_timestamp":"2024-05-01T12:00:01Z"})");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto task = object(r.body);
  EXPECT_TRUE(task->getValue<bool>("done"));
  EXPECT_EQ(task->getValue<std::string>("title"), "Title");
  EXPECT_EQ(task->getValue<std::string>("due_date"), "2024-06-01");
  EXPECT_EQ(task->getValue<std::string>("updated_at"), "2023-11-14T22:14:20.000000Z");
  EXPECT_EQ(task->getValue<std::string>("created_at"), "2023-11-14T22:13:20.000000Z");
}

TEST_F(TaskApiTest, PutStatuses) {
  const auto id = std::to_string(create("Title", "2024-05-01T12:00:00Z"));
  const std::string newer = R"({"title":"New","request_timestamp":"2024-05-01T12:00:10Z"})";
  EXPECT_EQ(call("PUT", "/tasks/999", newer).status, 404);
  EXPECT_EQ(call("PUT", "/tasks/" + id, newer).status, 200);
  // Same timestamp again, and an older one: stale, nothing changes.
  const HttpResponse same = call("PUT", "/tasks/" + id, newer);
  EXPECT_EQ(same.status, 409);
  EXPECT_NE(same.body.find("Stale request"), std::string::npos);
  EXPECT_EQ(
      call("PUT", "/tasks/" + id, R"({"title":"Old","request_timestamp":"2024-05-01T12:00:05Z"})")
          .status,
      409);
  EXPECT_EQ(getTask(std::stoll(id))->getValue<std::string>("title"), "New");
  EXPECT_EQ(call("PUT", "/tasks/" + id, R"({"title":"x"})").status, 422);
}

TEST_F(TaskApiTest, OutOfOrderUpdatesEndInTheNewestState) {
  const auto id = std::to_string(create("Title", "2024-05-01T12:00:00Z"));
  const auto put = [&](const std::string& title, const std::string& ts) {
    return call("PUT", "/tasks/" + id,
                R"({"title":")" + title + R"(","request_timestamp":")" + ts + R"("})")
        .status;
  };
  EXPECT_EQ(put("third", "2024-05-01T12:00:03Z"), 200);
  EXPECT_EQ(put("first", "2024-05-01T12:00:01Z"), 409);
  EXPECT_EQ(put("second", "2024-05-01T12:00:02Z"), 409);
  EXPECT_EQ(getTask(std::stoll(id))->getValue<std::string>("title"), "third");
}

TEST_F(TaskApiTest, NaiveTimestampsAreUtc) {
  const auto id = std::to_string(create("Title", "2024-05-01T12:00:00"));
  EXPECT_EQ(
      call("PUT", "/tasks/" + id, R"({"done":true,"request_timestamp":"2024-05-01T12:00:00Z"})")
          .status,
      409);
  EXPECT_EQ(call("PUT", "/tasks/" + id,
                 R"({"done":true,"request_timestamp":"2024-05-01T13:00:00.000001+01:00"})")
                .status,
            200);
}

TEST_F(TaskApiTest, DeleteWithBodyLeavesATombstone) {
  const auto id = std::to_string(create("Title", "2024-05-01T12:00:00Z"));
  const HttpResponse r =
      call("DELETE", "/tasks/" + id, R"({"request_timestamp":"2024-05-01T12:00:10Z"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"message":"Task deleted successfully"})");
  EXPECT_EQ(call("GET", "/tasks/" + id).status, 404);
  // A late update older than the delete: 409, and it never resurrects the task.
  EXPECT_EQ(call("PUT", "/tasks/" + id,
                 R"({"title":"Zombie","request_timestamp":"2024-05-01T12:00:05Z"})")
                .status,
            409);
  EXPECT_EQ(call("GET", "/tasks/" + id).status, 404);
  // Newer requests find no task.
  EXPECT_EQ(call("PUT", "/tasks/" + id,
                 R"({"title":"Zombie","request_timestamp":"2024-05-01T12:00:20Z"})")
                .status,
            404);
  EXPECT_EQ(
      call("DELETE", "/tasks/" + id, R"({"request_timestamp":"2024-05-01T12:00:01Z"})").status,
      409);
  EXPECT_EQ(
      call("DELETE", "/tasks/" + id, R"({"request_timestamp":"2024-05-01T12:00:30Z"})").status,
      404);
  // A create replaying the deleted task's title with an old timestamp is still a replay.
  EXPECT_EQ(call("POST", "/tasks", createBody("Title", "2024-05-01T12:00:09Z")).status, 409);
  EXPECT_EQ(array(call("GET", "/tasks").body)->size(), 0u);
}

TEST_F(TaskApiTest, DeleteWithQueryParameter) {
  const auto id = std::to_string(create("Title", "2024-05-01T12:00:00Z"));
  EXPECT_EQ(call("DELETE", "/tasks/" + id + "?request_timestamp=2024-05-01T11%3A00%3A00Z").status,
            409);
  EXPECT_EQ(call("DELETE", "/tasks/" + id + "?request_timestamp=2024-05-01T14%3A00%3A00%2B02%3A00")
                .status,
            409);  // equal instant
  EXPECT_EQ(call("DELETE", "/tasks/" + id + "?request_timestamp=2024-05-01T12:00:01Z").status, 200);
  EXPECT_EQ(call("DELETE", "/tasks/999?request_timestamp=2024-05-01T12:00:01Z").status, 404);
}

TEST_F(TaskApiTest, DeleteWithoutTimestampIs422) {
  const auto id = std::to_string(create("Title", "2024-05-01T12:00:00Z"));
  const HttpResponse r = call("DELETE", "/tasks/" + id);
  EXPECT_EQ(r.status, 422);
  EXPECT_NE(r.body.find(R"("loc":["body","request_timestamp"])"), std::string::npos) << r.body;
  EXPECT_EQ(call("DELETE", "/tasks/" + id + "?request_timestamp=yesterday").status, 422);
  EXPECT_EQ(call("GET", "/tasks/" + id).status, 200);
}

TEST_F(TaskApiTest, ListIsNewestFirstAndFollowsLinksThroughEveryPage) {
  for (int i = 0; i < 25; ++i) create("task " + std::to_string(i), "2024-05-01T12:00:00Z");
  std::vector<std::int64_t> ids;
  std::string target = "/tasks?limit=10";
  int pages = 0;
  for (; !target.empty() && pages < 10; ++pages) {
    const HttpResponse r = call("GET", target);
    ASSERT_EQ(r.status, 200) << target << " " << r.body;
    const auto page = array(r.body);
    for (std::size_t i = 0; i < page->size(); ++i) {
      ids.push_back(page->getObject(static_cast<unsigned>(i))->getValue<std::int64_t>("id"));
    }
    target.clear();
    if (auto link = header(r, "Link")) {
      ASSERT_EQ(link->front(), '<');
      const std::size_t end = link->find('>');
      EXPECT_EQ(link->substr(end), R"(>; rel="next")");
      target = link->substr(1, end - 1);
    }
  }
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(ids.size(), 25u);
  for (std::size_t i = 1; i < ids.size(); ++i) EXPECT_GT(ids[i - 1], ids[i]);
}

TEST_F(TaskApiTest, LinkKeepsFilters) {
  for (int i = 0; i < 4; ++i) create("t" + std::to_string(i), "2024-05-01T12:00:00Z");
  const HttpResponse r = call("GET", "/tasks?done=0&due_before=2030-01-01&limit=2");
  ASSERT_EQ(r.status, 200);
  const auto link = header(r, "Link");
  ASSERT_TRUE(link);
  EXPECT_NE(link->find("done=false"), std::string::npos) << *link;
  EXPECT_NE(link->find("due_before=2030-01-01"), std::string::npos) << *link;
  EXPECT_NE(link->find("limit=2"), std::string::npos) << *link;
  const HttpResponse last =
      call("GET", "/tasks?done=0&due_before=2030-01-01&limit=2&cursor=" +
                      std::to_string(array(r.body)->getObject(1)->getValue<std::int64_t>("id")));
  EXPECT_EQ(array(last.body)->size(), 2u);
  EXPECT_FALSE(header(last, "Link"));
}

TEST_F(TaskApiTest, Filters) {
  const auto early = create("early", "2024-05-01T12:00:00Z", "2024-01-10");
  const auto mid = create("mid", "2024-05-01T12:00:00Z", "2024-02-10");
  const auto late = create("late", "2024-05-01T12:00:00Z", "2024-03-10");
  ASSERT_EQ(call("PUT", "/tasks/" + std::to_string(mid),
                 R"({"done":true,"request_timestamp":"2024-05-01T12:00:01Z"})")
                .status,
            200);
  const auto idsOf = [&](const std::string& target) {
    const HttpResponse r = call("GET", target);
    EXPECT_EQ(r.status, 200) << target << r.body;
    std::vector<std::int64_t> ids;
    const auto page = array(r.body);
    for (std::size_t i = 0; i < page->size(); ++i) {
      ids.push_back(page->getObject(static_cast<unsigned>(i))->getValue<std::int64_t>("id"));
    }
    return ids;
  };
  EXPECT_EQ(idsOf("/tasks?done=true"), std::vector<std::int64_t>{mid});
  EXPECT_EQ(idsOf("/tasks?done=false"), (std::vector<std::int64_t>{late, early}));
  EXPECT_EQ(idsOf("/tasks?due_before=2024-02-10"), std::vector<std::int64_t>{early});  // strict
  EXPECT_EQ(idsOf("/tasks?due_after=2024-02-10"), std::vector<std::int64_t>{late});    // strict
  EXPECT_EQ(idsOf("/tasks?due_after=2024-01-01&due_before=2024-12-31&done=no"),
            (std::vector<std::int64_t>{late, early}));
  EXPECT_EQ(call("GET", "/tasks?done=perhaps").status, 422);
  EXPECT_EQ(call("GET", "/tasks?due_before=2024-02-30").status, 422);
  EXPECT_EQ(call("GET", "/tasks?cursor=abc").status, 422);
}

TEST_F(TaskApiTest, ListLimitsComeFromConfig) {
  start(defaultConfig("list:\n  default_limit: 3\n  max_limit: 5\n"));
  for (int i = 0; i < 7; ++i) create("t" + std::to_string(i), "2024-05-01T12:00:00Z");
  const HttpResponse r = call("GET", "/tasks");
  EXPECT_EQ(array(r.body)->size(), 3u);
  ASSERT_TRUE(header(r, "Link"));
  EXPECT_EQ(header(r, "Link")->rfind("</tasks?limit=3&cursor=", 0), 0u);
  EXPECT_EQ(array(call("GET", "/tasks?limit=5").body)->size(), 5u);
  const HttpResponse too_many = call("GET", "/tasks?limit=6");
  EXPECT_EQ(too_many.status, 422);
  EXPECT_NE(too_many.body.find("less than or equal to 5"), std::string::npos);
}

TEST_F(TaskApiTest, UnavailableStoreAnswers503WithRetryAfter) {
  const auto id = std::to_string(create("Title", "2024-05-01T12:00:00Z"));
  memory_->setUnavailable(true);
  const std::pair<const char*, std::string> calls[] = {{"POST", "/tasks"},
                                                       {"GET", "/tasks"},
                                                       {"GET", "/tasks/" + id},
                                                       {"PUT", "/tasks/" + id},
                                                       {"DELETE", "/tasks/" + id}};
  for (const auto& [method, path] : calls) {
    const std::string body = std::string(method) == "POST"
                                 ? createBody("New", "2024-05-01T12:00:05Z")
                                 : R"({"request_timestamp":"2024-05-01T12:00:05Z"})";
    const HttpResponse r = call(method, path, std::string(method) == "GET" ? "" : body);
    EXPECT_EQ(r.status, 503) << method << " " << path;
    EXPECT_EQ(header(r, "Retry-After"), "1");
    EXPECT_EQ(r.body, R"({"detail":"Task storage is temporarily unavailable; retry shortly"})");
  }
  memory_->setUnavailable(false);
  EXPECT_EQ(call("GET", "/tasks/" + id).status, 200);
}

TEST_F(TaskApiTest, StoreTimeoutIs503AndInternalErrorsAre500WithoutDetails) {
  start(defaultConfig(), std::make_shared<FailingStore>(Status::timeout("pool exhausted")));
  EXPECT_EQ(call("GET", "/tasks/1").status, 503);
  start(defaultConfig(), std::make_shared<FailingStore>(
                             Status::internal("syntax error near SELECT password FROM users")));
  const HttpResponse r = call("GET", "/tasks/1");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, R"({"detail":"Internal Server Error"})");
  EXPECT_TRUE(ctx_->log.contains("syntax error near SELECT"));
  EXPECT_EQ(call("POST", "/tasks", createBody("T", "2024-05-01T12:00:00Z")).status, 500);
}

TEST_F(TaskApiTest, ARetentionRefusalReachesTheClientWithTheStoresReason) {
  const std::string reason = std::string(kRetentionConflictPrefix) +
                             "request_timestamp 2024-05-01T12:00:00.000000Z is more than 720h old";
  start(defaultConfig(), std::make_shared<FailingStore>(Status::conflict(reason)));
  for (const auto& [method, path] : {std::pair<const char*, const char*>{"POST", "/tasks"},
                                     {"PUT", "/tasks/1"},
                                     {"DELETE", "/tasks/1"}}) {
    const std::string body = std::string(method) == "POST"
                                 ? createBody("T", "2024-05-01T12:00:00Z")
                                 : R"({"request_timestamp":"2024-05-01T12:00:00Z"})";
    const HttpResponse r = call(method, path, body);
    EXPECT_EQ(r.status, 409) << method;
    EXPECT_EQ(r.body, R"({"detail":")" + reason + R"("})") << method;
  }
  // Other conflicts keep the API's own wording; the store's text stays internal.
  start(defaultConfig(), std::make_shared<FailingStore>(Status::conflict("task 1 internal")));
  const HttpResponse r = call("PUT", "/tasks/1", R"({"request_timestamp":"2024-05-01T12:00:00Z"})");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.body.find("internal"), std::string::npos) << r.body;
}

TEST_F(TaskApiTest, TasksGaugeIsRefreshedByTheTimer) {
  EXPECT_EQ(ctx_->metricValue("appliance_tasks", {{"done", "false"}}), 0.0);
  const auto a = create("a", "2024-05-01T12:00:00Z");
  create("b", "2024-05-01T12:00:00Z");
  ASSERT_EQ(call("PUT", "/tasks/" + std::to_string(a),
                 R"({"done":true,"request_timestamp":"2024-05-01T12:00:01Z"})")
                .status,
            200);
  ASSERT_TRUE(ctx_->timers.fire("task_api.tasks_gauge"));
  EXPECT_EQ(ctx_->metricValue("appliance_tasks", {{"done", "true"}}), 1.0);
  EXPECT_EQ(ctx_->metricValue("appliance_tasks", {{"done", "false"}}), 1.0);

  memory_->setUnavailable(true);
  ASSERT_TRUE(ctx_->timers.fire("task_api.tasks_gauge"));
  ASSERT_TRUE(ctx_->timers.fire("task_api.tasks_gauge"));
  EXPECT_EQ(ctx_->metricValue("appliance_tasks", {{"done", "true"}}), 1.0);  // kept
  std::size_t warnings = 0;
  for (const auto& line : ctx_->log.lines()) {
    warnings += line.message.find("cannot refresh appliance_tasks") != std::string::npos;
  }
  EXPECT_EQ(warnings, 1u);  // once per failure streak
}

TEST_F(TaskApiTest, OpenApiDocumentDescribesEveryRoute) {
  const HttpResponse r = call("GET", "/openapi.json", {}, nullptr);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  const auto doc = object(r.body);
  EXPECT_EQ(doc->getValue<std::string>("openapi").rfind("3.0", 0), 0u);
  const auto paths = doc->getObject("paths");
  // Every /tasks route, with path parameters compared by position.
  const std::pair<std::string, std::string> expected[] = {{"/tasks", "post"},
                                                          {"/tasks", "get"},
                                                          {"/tasks/{task_id}", "get"},
                                                          {"/tasks/{task_id}", "put"},
                                                          {"/tasks/{task_id}", "delete"}};
  for (const auto& [path, method] : expected) {
    ASSERT_TRUE(paths->has(path)) << path;
    const auto op = paths->getObject(path)->getObject(method);
    ASSERT_TRUE(op) << method << " " << path;
    const auto responses = op->getObject("responses");
    for (const char* code : {"401", "422", "503"}) {
      EXPECT_TRUE(responses->has(code)) << method << " " << path << " " << code;
    }
    EXPECT_EQ(op->getArray("security")->size(), 1u);
  }
  for (const auto& route : ctx_->router.routes()) {
    if (route.find(" /tasks") == std::string::npos) continue;
    std::string path = route.substr(route.find(' ') + 1);
    if (path.find("{id}") != std::string::npos) path.replace(path.find("{id}"), 4, "{task_id}");
    EXPECT_TRUE(paths->has(path)) << route;
  }
  EXPECT_TRUE(doc->getObject("components")->getObject("securitySchemes")->has("bearerAuth"));
  EXPECT_NE(r.body.find("taken as UTC"), std::string::npos);
  EXPECT_EQ(r.body.find('@'), std::string::npos) << "unfilled placeholder";
}

TEST_F(TaskApiTest, OpenApiFollowsConfig) {
  start(defaultConfig("list: {default_limit: 7, max_limit: 70}\n"));
  const auto doc = object(call("GET", "/openapi.json").body);
  const auto params =
      doc->getObject("paths")->getObject("/tasks")->getObject("get")->getArray("parameters");
  bool found = false;
  for (std::size_t i = 0; i < params->size(); ++i) {
    const auto p = params->getObject(static_cast<unsigned>(i));
    if (p->getValue<std::string>("name") != "limit") continue;
    found = true;
    EXPECT_EQ(p->getObject("schema")->getValue<int>("maximum"), 70);
    EXPECT_EQ(p->getObject("schema")->getValue<int>("default"), 7);
  }
  EXPECT_TRUE(found);
}

TEST_F(TaskApiTest, DocsAreServedWithoutAuthentication) {
  const HttpResponse index = call("GET", "/docs", {}, nullptr);
  ASSERT_EQ(index.status, 200);
  EXPECT_EQ(index.content_type, "text/html; charset=utf-8");
  EXPECT_NE(index.body.find("/docs/assets/docs.js"), std::string::npos);
  EXPECT_TRUE(header(index, "Content-Security-Policy"));
  const HttpResponse js = call("GET", "/docs/assets/docs.js", {}, nullptr);
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.content_type, "text/javascript; charset=utf-8");
  EXPECT_NE(js.body.find("/openapi.json"), std::string::npos);
  EXPECT_EQ(call("GET", "/docs/assets/docs.css", {}, nullptr).status, 200);
  EXPECT_EQ(call("GET", "/docs/assets/index.html.bak", {}, nullptr).status, 404);
  EXPECT_EQ(call("GET", "/docs/assets/..%2F..%2Fetc%2Fpasswd", {}, nullptr).status, 404);
}

TEST_F(TaskApiTest, DocsFallBackToAPointerWhenAssetsAreMissing) {
  start(std::string("auth:\n  tokens: [") + kToken + "]\ndocs: {dir: /nonexistent/docs}\n");
  const HttpResponse index = call("GET", "/docs", {}, nullptr);
  EXPECT_EQ(index.status, 200);
  EXPECT_NE(index.body.find("/openapi.json"), std::string::npos);
  EXPECT_EQ(index.body.find("/nonexistent"), std::string::npos);  // no paths leaked
  EXPECT_TRUE(ctx_->log.contains("/nonexistent/docs"));
}

TEST_F(TaskApiTest, DocsCanBeDisabled) {
  start(defaultConfig().substr(0, defaultConfig().find("docs:")) + "docs: {enabled: false}\n");
  EXPECT_EQ(call("GET", "/docs", {}, nullptr).status, 404);
  EXPECT_EQ(call("GET", "/openapi.json", {}, nullptr).status, 200);
}

TEST_F(TaskApiTest, AuthCanBeDisabled) {
  start("auth: {enabled: false}\n");
  EXPECT_EQ(call("POST", "/tasks", createBody("x", "2024-05-01T12:00:00Z"), nullptr).status, 201);
  EXPECT_EQ(call("GET", "/tasks", {}, nullptr).status, 200);
  EXPECT_EQ(object(call("GET", "/openapi.json").body)
                ->getObject("paths")
                ->getObject("/tasks")
                ->getObject("get")
                ->getArray("security")
                ->size(),
            0u);
  EXPECT_TRUE(ctx_->log.contains("authentication is disabled"));
}

TEST_F(TaskApiTest, TokensFileAndJwtThroughConfig) {
  test::TempDir dir;
  const std::string file = dir.write("tokens", "# generated\nfile-token-0123456789abcdef\n");
  const std::string secret = "a-very-long-hs256-secret-of-40-bytes-----";
  start("auth:\n  tokens_file: " + file + "\n  jwt:\n    hs256_secret: " + secret +
        "\n    audience: tasks\n");
  EXPECT_EQ(call("GET", "/tasks", {}, "file-token-0123456789abcdef").status, 200);
  EXPECT_EQ(call("GET", "/tasks", {}, kToken).status, 401);

  Poco::JWT::Token token;
  token.setAudience("tasks");
  token.setExpiration(Poco::Timestamp::fromEpochTime(1'700'000'000 + 60));
  Poco::JWT::Signer signer(secret);
  const std::string jwt = signer.sign(token, Poco::JWT::Signer::ALGO_HS256);
  EXPECT_EQ(call("GET", "/tasks", {}, jwt.c_str()).status, 200);
  ctx_->manual_clock.advance(std::chrono::seconds(120));
  EXPECT_EQ(call("GET", "/tasks", {}, jwt.c_str()).status, 401);
}

TEST_F(TaskApiTest, GeneratedTokensFileAuthenticatesRequests) {
  test::TempDir dir;
  const std::string file = dir.path() + "/api-token";
  TaskApiPlugin plugin;
  ASSERT_TRUE(plugin
                  .configure(test::yamlNode("auth:\n  tokens_file: " + file +
                                            "\n  tokens_file_create: true\n"))
                  .isOk());
  FakeContext context("task_api");
  ASSERT_TRUE(context.services().provide<TaskStore>(memory_).isOk());
  ASSERT_TRUE(plugin.init(context).isOk());
  std::ifstream in(file);
  std::string token;
  std::getline(in, token);
  ASSERT_EQ(token.size(), 64u);
  EXPECT_EQ(context.router.call("GET", "/tasks", {}, {{"Authorization", "Bearer " + token}}).status,
            200);
  EXPECT_EQ(context.router.call("GET", "/tasks", {}, {{"Authorization", "Bearer wrong"}}).status,
            401);
  EXPECT_FALSE(context.log.contains(token));  // the token is never logged
}

TEST_F(TaskApiTest, ConfigureRejectsBadConfigWithLocation) {
  TaskApiPlugin plugin;
  const Status s = plugin.configure(test::yamlNode("auth: {tokens: [abc]}\nlists: {}\n"));
  EXPECT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("test.yaml:2"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace appliance::plugins::task_api
