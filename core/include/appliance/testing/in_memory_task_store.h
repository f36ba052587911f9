#pragma once
// InMemoryTaskStore: the reference implementation of the TaskStore ordering rules, for
// plugin unit tests. One mutex; not for production.

#include <map>
#include <mutex>

#include "appliance/context.h"
#include "appliance/task_store.h"

namespace appliance::testing {

class InMemoryTaskStore : public TaskStore {
 public:
  explicit InMemoryTaskStore(const Clock* clock = nullptr) : clock_(clock) {}

  Result<Task> create(const NewTask& task) override;
  Result<Task> get(std::int64_t id) override;
  Result<TaskPage> list(const TaskQuery& query) override;
  Result<Task> update(std::int64_t id, const TaskPatch& patch) override;
  Status remove(std::int64_t id, Timestamp request_at) override;
  Result<TaskCounts> counts() override;
  Status ping() override;

  // Makes every call fail with kUnavailable until cleared (to test 503 paths).
  void setUnavailable(bool unavailable);

 private:
  struct Row {
    Task task;
    bool deleted = false;
  };
  Timestamp now() const;

  const Clock* clock_;
  std::mutex mutex_;
  std::map<std::int64_t, Row> rows_;
  std::int64_t next_id_ = 1;
  bool unavailable_ = false;
};

}  // namespace appliance::testing
