#include "task_json.h"

#include <charconv>

#include "appliance/http.h"
#include "appliance/time.h"

namespace appliance::plugins::task_api {
namespace {

// Fixed parts of one task: keys, quotes, two timestamps, the id.
constexpr std::size_t kTaskOverhead = 160;

std::size_t estimate(const Task& task) {
  return kTaskOverhead + task.title.size() + task.content.size();
}

}  // namespace

void appendTaskJson(std::string& out, const Task& task) {
  char id[24];
  const auto [end, ec] = std::to_chars(id, id + sizeof id, task.id);
  (void)ec;  // 24 bytes always hold an int64
  out += "{\"id\":";
  out.append(id, end);
  out += ",\"title\":\"";
  appendJsonEscaped(out, task.title);
  out += "\",\"content\":\"";
  appendJsonEscaped(out, task.content);
  out += "\",\"due_date\":\"";
  appendJsonEscaped(out, task.due_date);
  out += task.done ? "\",\"done\":true,\"created_at\":\"" : "\",\"done\":false,\"created_at\":\"";
  appendTimestamp(out, task.created_at);
  out += "\",\"updated_at\":\"";
  appendTimestamp(out, task.updated_at);
  out += "\"}";
}

std::string taskJson(const Task& task) {
  std::string out;
  out.reserve(estimate(task));
  appendTaskJson(out, task);
  return out;
}

std::string taskListJson(const std::vector<Task>& tasks) {
  std::size_t size = 2;
  for (const Task& task : tasks) size += estimate(task) + 1;
  std::string out;
  out.reserve(size);
  out += '[';
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    if (i) out += ',';
    appendTaskJson(out, tasks[i]);
  }
  out += ']';
  return out;
}

}  // namespace appliance::plugins::task_api
