#pragma once
// TaskRoutes: the /tasks handlers. Each one authenticates, validates (FastAPI's 422 shape),
// makes exactly one TaskStore call (the store enforces the ordering rules atomically) and
// writes the answer. Store errors map to 404, 409, 503 (+ Retry-After) or 500; internals are
// logged, never returned.
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

class TaskRoutes {
 public:
  TaskRoutes(std::shared_ptr<TaskStore> store, std::shared_ptr<const AuthenticatorSlot> auth,
             std::shared_ptr<TaskMetrics> metrics, ListLimits limits, const Logger& logger);

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

  std::shared_ptr<TaskStore> store_;
  std::shared_ptr<const AuthenticatorSlot> auth_;
  std::shared_ptr<TaskMetrics> metrics_;
  ListLimits limits_;
  const Logger& logger_;
};

// Registers POST/GET /tasks and GET/PUT/DELETE /tasks/{id}. Handlers share ownership of
// `routes` and turn any escaping exception into a logged 500.
Status registerTaskRoutes(HttpRouter& router, const std::shared_ptr<const TaskRoutes>& routes);

}  // namespace appliance::plugins::task_api
