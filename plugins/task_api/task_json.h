#pragma once
// Task JSON as the seed's API writes it:
//   {"id":1,"title":"...","content":"...","due_date":"2024-05-01","done":false,
//    "created_at":"2024-05-01T12:00:00.000000Z","updated_at":"..."}
// Written straight into a reserved buffer; no DOM.

#include <string>
#include <vector>

#include "appliance/task_store.h"

namespace appliance::plugins::task_api {

void appendTaskJson(std::string& out, const Task& task);
std::string taskJson(const Task& task);
std::string taskListJson(const std::vector<Task>& tasks);

}  // namespace appliance::plugins::task_api
