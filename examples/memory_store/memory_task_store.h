#pragma once
// MemoryTaskStore: a `task_store` kept in process memory. It follows every ordering rule of
// appliance/task_store.h, each check and write under one lock, so racing requests end in the
// state of the accepted request with the highest timestamp. Nothing survives a restart:
// "durable per the store's settings" means "in memory" here.
//
// Threading: all methods are safe to call concurrently; reads share a lock, writes take it
// exclusively and never block on I/O. Memory is bounded by `max_tasks` (tombstones count,
// since they keep the ordering rules for deleted tasks); past it, create() is kUnavailable.

#include <cstdint>
#include <map>
#include <set>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "appliance/context.h"
#include "appliance/task_store.h"

namespace appliance::plugins::memory_store {

class MemoryTaskStore final : public TaskStore {
 public:
  // `clock` stamps created_at/updated_at and must outlive the store.
  MemoryTaskStore(const Clock& clock, std::size_t max_tasks);

  Result<Task> create(const NewTask& task) override;
  Result<Task> get(std::int64_t id) override;
  Result<TaskPage> list(const TaskQuery& query) override;
  Result<Task> update(std::int64_t id, const TaskPatch& patch) override;
  Status remove(std::int64_t id, Timestamp request_at) override;
  Result<TaskCounts> counts() override;
  Status ping() override;

 private:
  struct Row {
    Task task;
    bool deleted = false;
  };
  Timestamp now() const;
  // kConflict when a request at `request_at` is not newer than the row's last accepted one,
  // kNotFound for a tombstone, ok for a live row. Caller holds the lock exclusively.
  Status checkWrite(const Row& row, Timestamp request_at) const;
  void count(const Row& row, int delta);

  const Clock& clock_;
  const std::size_t max_tasks_;
  mutable std::shared_mutex mutex_;
  std::map<std::int64_t, Row> rows_;  // by id; iterated backwards for newest first
  std::unordered_map<std::string, std::set<std::int64_t>> ids_by_title_;  // tombstones too
  std::int64_t next_id_ = 1;
  TaskCounts counts_;  // live tasks, kept current so counts() is O(1)
};

}  // namespace appliance::plugins::memory_store
