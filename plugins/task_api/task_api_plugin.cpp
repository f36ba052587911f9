// The plugin's one exported entry point.
#include "appliance/plugin.h"
#include "task_api.h"

APPLIANCE_PLUGIN(appliance::plugins::task_api::TaskApiPlugin, "task_api",
                 appliance::plugins::task_api::kPluginVersion,
                 "Task Manager HTTP API (seed-compatible), with bearer auth and OpenAPI docs", "",
                 "task_store")
