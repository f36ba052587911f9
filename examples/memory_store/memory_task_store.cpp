#include "memory_task_store.h"

#include <chrono>
#include <mutex>

namespace appliance::plugins::memory_store {

MemoryTaskStore::MemoryTaskStore(const Clock& clock, std::size_t max_tasks)
    : clock_(clock), max_tasks_(max_tasks) {}

Timestamp MemoryTaskStore::now() const {
  return std::chrono::duration_cast<std::chrono::microseconds>(clock_.now().time_since_epoch())
      .count();
}

void MemoryTaskStore::count(const Row& row, int delta) {
  if (!row.deleted) (row.task.done ? counts_.done : counts_.open) += delta;
}

Status MemoryTaskStore::checkWrite(const Row& row, Timestamp request_at) const {
  if (request_at <= row.task.last_request_at) {
    return Status::conflict("stale request: task " + std::to_string(row.task.id) +
                            " already accepted a request with a timestamp at or after this one");
  }
  if (row.deleted) return Status::notFound("task " + std::to_string(row.task.id) + " was deleted");
  return Status::ok();
}

Result<Task> MemoryTaskStore::create(const NewTask& in) {
  std::unique_lock lock(mutex_);
  auto same_title = ids_by_title_.find(in.title);
  if (same_title != ids_by_title_.end()) {
    for (std::int64_t id : same_title->second) {
      if (in.request_at <= rows_.at(id).task.last_request_at) {
        return Status::conflict(
            "replayed create: a task with this title already has a request timestamp at or "
            "after this one");
      }
    }
  }
  if (rows_.size() >= max_tasks_) {
    return Status::unavailable("memory_store is full (" + std::to_string(max_tasks_) +
                               " tasks, deleted ones included); raise memory_store.max_tasks");
  }
  Row row;
  row.task.id = next_id_++;
  row.task.title = in.title;
  row.task.content = in.content;
  row.task.due_date = in.due_date;
  row.task.created_at = row.task.updated_at = now();
  row.task.last_request_at = in.request_at;
  count(row, +1);
  ids_by_title_[in.title].insert(row.task.id);
  return rows_.emplace(row.task.id, std::move(row)).first->second.task;
}

Result<Task> MemoryTaskStore::get(std::int64_t id) {
  std::shared_lock lock(mutex_);
  auto it = rows_.find(id);
  if (it == rows_.end() || it->second.deleted) {
    return Status::notFound("task " + std::to_string(id) + " not found");
  }
  return it->second.task;
}

Result<TaskPage> MemoryTaskStore::list(const TaskQuery& q) {
  std::shared_lock lock(mutex_);
  TaskPage page;
  // Newest first, starting just below the cursor.
  auto it = q.before_id > 0 ? rows_.lower_bound(q.before_id) : rows_.end();
  while (it != rows_.begin()) {
    const Row& row = (--it)->second;
    if (row.deleted) continue;
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

Result<Task> MemoryTaskStore::update(std::int64_t id, const TaskPatch& patch) {
  std::unique_lock lock(mutex_);
  auto it = rows_.find(id);
  if (it == rows_.end()) return Status::notFound("task " + std::to_string(id) + " not found");
  Row& row = it->second;
  if (Status s = checkWrite(row, patch.request_at); !s) return s;
  if (patch.title && *patch.title != row.task.title) {
    auto old_title = ids_by_title_.find(row.task.title);
    old_title->second.erase(id);
    if (old_title->second.empty()) ids_by_title_.erase(old_title);
    ids_by_title_[*patch.title].insert(id);
    row.task.title = *patch.title;
  }
  count(row, -1);
  if (patch.content) row.task.content = *patch.content;
  if (patch.due_date) row.task.due_date = *patch.due_date;
  if (patch.done) row.task.done = *patch.done;
  count(row, +1);
  row.task.last_request_at = patch.request_at;
  row.task.updated_at = now();
  return row.task;
}

Status MemoryTaskStore::remove(std::int64_t id, Timestamp request_at) {
  std::unique_lock lock(mutex_);
  auto it = rows_.find(id);
  if (it == rows_.end()) return Status::notFound("task " + std::to_string(id) + " not found");
  Row& row = it->second;
  if (Status s = checkWrite(row, request_at); !s) return s;
  count(row, -1);
  row.deleted = true;  // the tombstone keeps id, title and last_request_at
  row.task.last_request_at = request_at;
  row.task.updated_at = now();
  return Status::ok();
}

Result<TaskCounts> MemoryTaskStore::counts() {
  std::shared_lock lock(mutex_);
  return counts_;
}

Status MemoryTaskStore::ping() { return Status::ok(); }

}  // namespace appliance::plugins::memory_store
