#include "appliance/testing/in_memory_task_store.h"

#include <chrono>

namespace appliance::testing {

Timestamp InMemoryTaskStore::now() const {
  const auto t = clock_ ? clock_->now() : std::chrono::system_clock::now();
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

void InMemoryTaskStore::setUnavailable(bool unavailable) {
  std::lock_guard lock(mutex_);
  unavailable_ = unavailable;
}

Result<Task> InMemoryTaskStore::create(const NewTask& in) {
  std::lock_guard lock(mutex_);
  if (unavailable_) return Status::unavailable("store unavailable");
  for (const auto& [id, row] : rows_) {
    if (row.task.title == in.title && row.task.last_request_at >= in.request_at) {
      return Status::conflict(
          "a task with this title was created or changed by a request at or after this one "
          "(replay)");
    }
  }
  Row row;
  row.task.id = next_id_++;
  row.task.title = in.title;
  row.task.content = in.content;
  row.task.due_date = in.due_date;
  row.task.created_at = row.task.updated_at = now();
  row.task.last_request_at = in.request_at;
  auto [it, inserted] = rows_.emplace(row.task.id, std::move(row));
  return it->second.task;
}

Result<Task> InMemoryTaskStore::get(std::int64_t id) {
  std::lock_guard lock(mutex_);
  if (unavailable_) return Status::unavailable("store unavailable");
  auto it = rows_.find(id);
  if (it == rows_.end() || it->second.deleted) return Status::notFound("Task not found");
  return it->second.task;
}

Result<TaskPage> InMemoryTaskStore::list(const TaskQuery& q) {
  std::lock_guard lock(mutex_);
  if (unavailable_) return Status::unavailable("store unavailable");
  TaskPage page;
  for (auto it = rows_.rbegin(); it != rows_.rend(); ++it) {
    const Row& row = it->second;
    if (row.deleted) continue;
    if (q.before_id > 0 && row.task.id >= q.before_id) continue;
    if (q.done && row.task.done != *q.done) continue;
    if (q.due_before && !(row.task.due_date < *q.due_before)) continue;
    if (q.due_after && !(row.task.due_date > *q.due_after)) continue;
    if (page.tasks.size() == q.limit) {
      page.has_more = true;
      break;
    }
    page.tasks.push_back(row.task);
  }
  return page;
}

Result<Task> InMemoryTaskStore::update(std::int64_t id, const TaskPatch& patch) {
  std::lock_guard lock(mutex_);
  if (unavailable_) return Status::unavailable("store unavailable");
  auto it = rows_.find(id);
  if (it == rows_.end()) return Status::notFound("Task not found");
  Row& row = it->second;
  if (row.task.last_request_at >= patch.request_at) {
    return Status::conflict("request_timestamp is not newer than the last accepted change");
  }
  if (row.deleted) return Status::notFound("Task not found");
  if (patch.title) row.task.title = *patch.title;
  if (patch.content) row.task.content = *patch.content;
  if (patch.due_date) row.task.due_date = *patch.due_date;
  if (patch.done) row.task.done = *patch.done;
  row.task.last_request_at = patch.request_at;
  row.task.updated_at = now();
  return row.task;
}

Status InMemoryTaskStore::remove(std::int64_t id, Timestamp request_at) {
  std::lock_guard lock(mutex_);
  if (unavailable_) return Status::unavailable("store unavailable");
  auto it = rows_.find(id);
  if (it == rows_.end()) return Status::notFound("Task not found");
  Row& row = it->second;
  if (row.task.last_request_at >= request_at) {
    return Status::conflict("request_timestamp is not newer than the last accepted change");
  }
  if (row.deleted) return Status::notFound("Task not found");
  row.deleted = true;
  row.task.last_request_at = request_at;
  row.task.updated_at = now();
  return Status::ok();
}

Result<TaskCounts> InMemoryTaskStore::counts() {
  std::lock_guard lock(mutex_);
  if (unavailable_) return Status::unavailable("store unavailable");
  TaskCounts c;
  for (const auto& [id, row] : rows_) {
    if (row.deleted) continue;
    (row.task.done ? c.done : c.open) += 1;
  }
  return c;
}

Status InMemoryTaskStore::ping() {
  std::lock_guard lock(mutex_);
  return unavailable_ ? Status::unavailable("store unavailable") : Status::ok();
}

}  // namespace appliance::testing
