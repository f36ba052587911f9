#pragma once
// TaskRoutes: the /tasks handlers. Each one authenticates, validates (FastAPI's 422 shape),
// makes exactly one TaskStore call (the store enforces the ordering rules atomically) and
// writes the answer. With a store that also offers AsyncTaskStore and AsyncTaskLister
// (PostgreSQL), single-task calls and lists defer the response and answer from the store's
// thread: no HTTP worker waits on the database. Store errors map to 404, 409, 503 (+ Retry-After)
// or 500; internals are logged, never returned.
//
// Immutable after construction (the Authenticator is read from its slot per request, so a
// rotated one takes effect at once); handlers run concurrently on the host's HTTP threads.

#include <memory>

#include "appliance/http.h"
#include "appliance/logger.h"
#include "appliance/task_store.h"
#include "auth.h"
#include "metrics.h"
#include "validation.h"

namespace appliance::plugins::task_api {

class TaskRoutes : public std::enable_shared_from_this<TaskRoutes> {
 public:
  // `async_store` and `async_lister` may be null (the store only blocks).
  TaskRoutes(std::shared_ptr<TaskStore> store, std::shared_ptr<AsyncTaskStore> async_store,
             std::shared_ptr<AsyncTaskLister> async_lister,
             std::shared_ptr<const AuthenticatorSlot> auth, std::shared_ptr<TaskMetrics> metrics,
             ListLimits limits, const Logger& logger);

  void create(const HttpRequest& request, HttpResponse& response) const;
  void list(const HttpRequest& request, HttpResponse& response) const;
  void get(const HttpRequest& request, HttpResponse& response) const;
  void update(const HttpRequest& request, HttpResponse& response) const;
  void remove(const HttpRequest& request, HttpResponse& response) const;

  const Logger& logger() const { return logger_; }

 private:
  bool authorize(const HttpRequest& request, HttpResponse& response) const;
  void answerStoreError(const Status& status, std::string_view conflict_detail,
                        HttpResponse& response) const;
  void answerCreated(const Result<Task>& created, HttpResponse& response) const;
  void answerTask(const Result<Task>& task, HttpResponse& response) const;
  void answerRemoved(const Status& removed, HttpResponse& response) const;
  struct ListAnswer;
  void answerList(const Result<bool>& has_more, ListAnswer& page, HttpResponse& response) const;
  // A finisher when the store can answer asynchronously and the server can defer; else empty.
  ResponseFinisher deferToStore() const;

  std::shared_ptr<TaskStore> store_;
  std::shared_ptr<AsyncTaskStore> async_store_;
  std::shared_ptr<AsyncTaskLister> async_lister_;
  std::shared_ptr<const AuthenticatorSlot> auth_;
  std::shared_ptr<TaskMetrics> metrics_;
  ListLimits limits_;
  const Logger& logger_;
};

// Registers POST/GET /tasks and GET/PUT/DELETE /tasks/{id}. Handlers share ownership of
// `routes` and turn any escaping exception into a logged 500.
Status registerTaskRoutes(HttpRouter& router, const std::shared_ptr<const TaskRoutes>& routes);

}  // namespace appliance::plugins::task_api
