#include "routes.h"

#include "task_json.h"

namespace appliance::plugins::task_api {
namespace {

constexpr std::string_view kReplay =
    "Duplicate request: a task with this title was already created or changed by a request "
    "with the same or a newer request_timestamp";
constexpr std::string_view kStale =
    "Stale request: request_timestamp is not newer than the last accepted change to this task";
constexpr std::string_view kNotFound = "Task not found";

void answerValidation(const ValidationErrors& errors, HttpResponse& response) {
  response.json(422, errors.toJson());
}

// Reads {id}; answers 404 for an integer no task can have, and records a 422 error for
// anything else that is not an integer.
enum class IdState { kOk, kNoSuchTask, kInvalid };
IdState readTaskId(const HttpRequest& request, std::int64_t& id, ValidationErrors& errors) {
  bool out_of_range = false;
  if (!parseTaskId(request.pathParam("id").value_or(""), id, out_of_range, errors)) {
    return IdState::kInvalid;
  }
  return out_of_range ? IdState::kNoSuchTask : IdState::kOk;
}

using Method = void (TaskRoutes::*)(const HttpRequest&, HttpResponse&) const;

HttpHandler bind(const std::shared_ptr<const TaskRoutes>& routes, Method method) {
  return [routes, method](const HttpRequest& request, HttpResponse& response) {
    try {
      ((*routes).*method)(request, response);
    } catch (const std::exception& e) {
      routes->logger().error("task_api handler failed",
                             {{"route", request.route}, {"error", e.what()}});
      response = HttpResponse();
      response.error(500, "Internal Server Error");
    }
  };
}

}  // namespace

// A list page being written: the query (for the next page's link), and the JSON body the
// store's rows are written into as they are lent.
struct TaskRoutes::ListAnswer {
  explicit ListAnswer(TaskQuery q) : query(std::move(q)), writer(body, query.limit) {}
  TaskQuery query;
  std::string body;
  TaskListJsonWriter writer;  // writes into `body`: declared after it
};

TaskRoutes::TaskRoutes(std::shared_ptr<TaskStore> store,
                       std::shared_ptr<AsyncTaskStore> async_store,
                       std::shared_ptr<AsyncTaskLister> async_lister,
                       std::shared_ptr<const AuthenticatorSlot> auth,
                       std::shared_ptr<TaskMetrics> metrics, ListLimits limits,
                       const Logger& logger)
    : store_(std::move(store)),
      async_store_(std::move(async_store)),
      async_lister_(std::move(async_lister)),
      auth_(std::move(auth)),
      metrics_(std::move(metrics)),
      limits_(limits),
      logger_(logger) {}

bool TaskRoutes::authorize(const HttpRequest& request, HttpResponse& response) const {
  const AuthOutcome outcome = auth_->current()->check(request);
  if (outcome.result == AuthResult::kOk) return true;
  if (metrics_) metrics_->countAuthFailure(outcome.result);
  if (logger_.enabled(LogLevel::kDebug)) {
    logger_.debug("request refused: not authenticated",
                  {{"reason", outcome.reason}, {"remote", request.remote_address}});
  }
  Authenticator::reject(outcome.result, response);
  return false;
}

void TaskRoutes::answerStoreError(const Status& status, std::string_view conflict_detail,
                                  HttpResponse& response) const {
  switch (status.code()) {
    case StatusCode::kNotFound:
      response.error(404, kNotFound);
      return;
    case StatusCode::kConflict:
      // A refusal by the store's retention window says why in words meant for the client
      // (task_store.h); other conflicts get this API's own wording.
      response.error(409, status.message().starts_with(kRetentionConflictPrefix)
                              ? std::string_view(status.message())
                              : conflict_detail);
      return;
    case StatusCode::kUnavailable:
    case StatusCode::kTimeout:
      response.error(503, "Task storage is temporarily unavailable; retry shortly");
      response.setHeader("Retry-After", "1");
      return;
    default:
      logger_.error("task store failed",
                    {{"code", statusCodeName(status.code())}, {"error", status.message()}});
      response.error(500, "Internal Server Error");
  }
}

ResponseFinisher TaskRoutes::deferToStore() const {
  return async_store_ ? deferResponse() : nullptr;
}

void TaskRoutes::answerCreated(const Result<Task>& created, HttpResponse& response) const {
  if (!created.isOk()) return answerStoreError(created.status(), kReplay, response);
  response.json(201, taskJson(*created));
  response.setHeader("Location", "/tasks/" + std::to_string(created->id));
}

void TaskRoutes::answerTask(const Result<Task>& task, HttpResponse& response) const {
  if (!task.isOk()) return answerStoreError(task.status(), kStale, response);
  response.json(200, taskJson(*task));
}

void TaskRoutes::answerRemoved(const Status& removed, HttpResponse& response) const {
  if (!removed.isOk()) return answerStoreError(removed, kStale, response);
  response.json(200, R"({"message":"Task deleted successfully"})");
}

void TaskRoutes::create(const HttpRequest& request, HttpResponse& response) const {
  if (!authorize(request, response)) return;
  NewTask task;
  ValidationErrors errors;
  if (!parseCreateBody(request.body, task, errors)) return answerValidation(errors, response);
  if (ResponseFinisher finish = deferToStore()) {
    async_store_->createAsync(task, [self = shared_from_this(), finish](Result<Task> created) {
      HttpResponse answer;
      self->answerCreated(created, answer);
      finish(std::move(answer));
    });
    return;
  }
  answerCreated(store_->create(task), response);
}

void TaskRoutes::list(const HttpRequest& request, HttpResponse& response) const {
  if (!authorize(request, response)) return;
  TaskQuery query;
  ValidationErrors errors;
  if (!parseListQuery(request, limits_, query, errors)) return answerValidation(errors, response);
  if (ResponseFinisher finish = async_lister_ ? deferResponse() : nullptr) {
    auto page = std::make_shared<ListAnswer>(std::move(query));
    TaskRowSink& sink = page->writer;
    async_lister_->listRowsAsync(page->query, sink,
                                 [self = shared_from_this(), finish, page](Result<bool> has_more) {
                                   HttpResponse answer;
                                   self->answerList(has_more, *page, answer);
                                   finish(std::move(answer));
                                 });
    return;
  }
  ListAnswer page(std::move(query));
  answerList(store_->listRows(page.query, page.writer), page, response);
}

void TaskRoutes::answerList(const Result<bool>& has_more, ListAnswer& page,
                            HttpResponse& response) const {
  if (!has_more.isOk()) return answerStoreError(has_more.status(), kStale, response);
  page.writer.finish();
  response.json(200, std::move(page.body));
  if (*has_more && page.writer.rows() > 0) {
    response.setHeader("Link", nextPageLink(page.query, page.writer.lastId()));
  }
}

void TaskRoutes::get(const HttpRequest& request, HttpResponse& response) const {
  if (!authorize(request, response)) return;
  std::int64_t id = 0;
  ValidationErrors errors;
  const IdState state = readTaskId(request, id, errors);
  if (state == IdState::kInvalid) return answerValidation(errors, response);
  if (state == IdState::kNoSuchTask) return response.error(404, kNotFound);
  if (ResponseFinisher finish = deferToStore()) {
    async_store_->getAsync(id, [self = shared_from_this(), finish](Result<Task> task) {
      HttpResponse answer;
      self->answerTask(task, answer);
      finish(std::move(answer));
    });
    return;
  }
  answerTask(store_->get(id), response);
}

void TaskRoutes::update(const HttpRequest& request, HttpResponse& response) const {
  if (!authorize(request, response)) return;
  std::int64_t id = 0;
  TaskPatch patch;
  ValidationErrors errors;
  const IdState state = readTaskId(request, id, errors);
  const bool body_ok = parseUpdateBody(request.body, patch, errors);
  if (!errors.empty() || !body_ok) return answerValidation(errors, response);
  if (state == IdState::kNoSuchTask) return response.error(404, kNotFound);
  if (ResponseFinisher finish = deferToStore()) {
    async_store_->updateAsync(id, patch, [self = shared_from_this(), finish](Result<Task> task) {
      HttpResponse answer;
      self->answerTask(task, answer);
      finish(std::move(answer));
    });
    return;
  }
  answerTask(store_->update(id, patch), response);
}

void TaskRoutes::remove(const HttpRequest& request, HttpResponse& response) const {
  if (!authorize(request, response)) return;
  std::int64_t id = 0;
  Timestamp request_at = 0;
  ValidationErrors errors;
  const IdState state = readTaskId(request, id, errors);
  const std::optional<std::string> query_timestamp =
      request.query.empty() ? std::nullopt : request.queryParam("request_timestamp");
  const bool body_ok = parseDeleteRequest(request.body, query_timestamp, request_at, errors);
  if (!errors.empty() || !body_ok) return answerValidation(errors, response);
  if (state == IdState::kNoSuchTask) return response.error(404, kNotFound);
  if (ResponseFinisher finish = deferToStore()) {
    async_store_->removeAsync(id, request_at, [self = shared_from_this(), finish](Status removed) {
      HttpResponse answer;
      self->answerRemoved(removed, answer);
      finish(std::move(answer));
    });
    return;
  }
  answerRemoved(store_->remove(id, request_at), response);
}

Status registerTaskRoutes(HttpRouter& router, const std::shared_ptr<const TaskRoutes>& routes) {
  const struct {
    const char* method;
    const char* path;
    Method handler;
  } table[] = {
      {"POST", "/tasks", &TaskRoutes::create},        {"GET", "/tasks", &TaskRoutes::list},
      {"GET", "/tasks/{id}", &TaskRoutes::get},       {"PUT", "/tasks/{id}", &TaskRoutes::update},
      {"DELETE", "/tasks/{id}", &TaskRoutes::remove},
  };
  for (const auto& entry : table) {
    Route route;
    route.method = entry.method;
    route.path = entry.path;
    route.handler = bind(routes, entry.handler);
    if (Status s = router.addRoute(std::move(route)); !s.isOk()) return s;
  }
  return Status::ok();
}

}  // namespace appliance::plugins::task_api
