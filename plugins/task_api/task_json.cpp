#include "task_json.h"

#include <charconv>

#include "appliance/http.h"
#include "appliance/time.h"

namespace appliance::plugins::task_api {
namespace {

// Fixed parts of one task: keys, quotes, two timestamps, the id.
constexpr std::size_t kTaskOverhead = 160;

std::size_t estimate(const TaskView& task) {
  return kTaskOverhead + task.title.size() + task.content.size();
}

// A list row's typical size, to reserve the response once: the overhead plus short texts.
constexpr std::size_t kListRowEstimate = kTaskOverhead + 96;

}  // namespace

void appendTaskJson(std::string& out, const TaskView& task) {
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
  const TaskView view = viewOf(task);
  std::string out;
  out.reserve(estimate(view));
  appendTaskJson(out, view);
  return out;
}

TaskListJsonWriter::TaskListJsonWriter(std::string& out, std::size_t expected_rows) : out_(out) {
  out_.reserve(2 + expected_rows * kListRowEstimate);
  out_ += '[';
}

void TaskListJsonWriter::onRow(const TaskView& row) {
  if (rows_++) out_ += ',';
  appendTaskJson(out_, row);
  last_id_ = row.id;
}

void TaskListJsonWriter::finish() { out_ += ']'; }

}  // namespace appliance::plugins::task_api
