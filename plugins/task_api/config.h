#pragma once
// TaskApiConfig: the typed `task_api` config section. Parsed once by configure(), which
// also loads the token and key files it names; immutable afterwards.

#include <chrono>
#include <string>

#include "appliance/config.h"
#include "appliance/status.h"
#include "auth.h"
#include "validation.h"

namespace appliance::plugins::task_api {

struct TaskApiConfig {
  AuthSettings auth;
  ListLimits list;                                   // list.default_limit, list.max_limit
  std::chrono::milliseconds metrics_refresh{15000};  // appliance_tasks gauge refresh period
  bool docs_enabled = true;                          // docs.enabled: serve GET /docs
  std::string docs_dir;                              // docs.dir; "" = <share_dir>/docs
};

// Every problem is reported as "file:line: task_api.key: what is wrong (how to fix)";
// unknown keys are rejected.
Result<TaskApiConfig> parseConfig(const ConfigNode& section);

}  // namespace appliance::plugins::task_api
