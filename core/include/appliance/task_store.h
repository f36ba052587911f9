#pragma once
// TaskStore: the `task_store` service, provided by storage_sqlite, storage_postgres or a
// third-party plugin, and required by task_api.
//
// Ordering rules, enforced atomically *inside* the store (one conditional statement or one
// short transaction, never a read in one round trip and a write in another):
//  - Every task remembers the request timestamp of the last write accepted for it
//    (`last_request_at`). An update or delete whose request timestamp is not strictly newer
//    is stale: kConflict, and nothing changes. Racing writers therefore end in the state of
//    the accepted request with the highest timestamp.
//  - A delete leaves a tombstone that keeps `last_request_at`: a later stale update or delete
//    gets kConflict; a newer one gets kNotFound; nothing resurrects the task.
//  - A create whose title equals an existing task's title (tombstones included) and whose
//    request timestamp is not newer than that task's `last_request_at` is a replay:
//    kConflict. This also holds for concurrent creates.
//  - Success is returned only after the write is durable per the store's settings.
//
// Tombstone retention. A store may forget tombstones after a retention window R (its config,
// e.g. storage_sqlite/storage_postgres `tombstone_retention`, default 30 days; 0 keeps them
// forever). To keep the rules above true once a tombstone is gone, such a store refuses, with
// kConflict, every create, update and delete whose request timestamp is older than now - R,
// whatever the task's state (an unknown id too: it may be a purged tombstone), and purges a
// tombstone only once its `last_request_at` is older than now - R. So a late replay of a
// request older than the window never resurrects a task or creates a duplicate; it gets 409.
// The refusal is decided atomically with the write, on the same clock as the purge. Its
// message starts with kRetentionConflictPrefix and is meant for the client (task_api returns
// it as the 409's detail); other kConflict messages are internal.
// Errors: kNotFound, kConflict, kUnavailable (dependency down: 503, retry), kTimeout (pool or
// statement timeout: 503), kInternal.
//
// Threading: every method may be called concurrently from many HTTP threads and may block
// for at most the store's configured timeouts.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/status.h"
#include "appliance/time.h"

namespace appliance {

struct Task {
  std::int64_t id = 0;
  std::string title;
  std::string content;
  std::string due_date;  // "YYYY-MM-DD"
  bool done = false;
  Timestamp created_at = 0;
  Timestamp updated_at = 0;
  Timestamp last_request_at = 0;  // request timestamp of the last accepted write
};

struct NewTask {
  std::string title;
  std::string content;
  std::string due_date;
  Timestamp request_at = 0;
};

struct TaskPatch {
  std::optional<std::string> title;
  std::optional<std::string> content;
  std::optional<std::string> due_date;
  std::optional<bool> done;
  Timestamp request_at = 0;
};

// Newest first (highest id first). `before_id` is the keyset cursor: only ids below it.
struct TaskQuery {
  std::optional<bool> done;
  std::optional<std::string> due_before;  // due_date <  this ("YYYY-MM-DD")
  std::optional<std::string> due_after;   // due_date >  this
  std::int64_t before_id = 0;             // 0: from the newest
  std::size_t limit = 100;
};

struct TaskPage {
  std::vector<Task> tasks;
  bool has_more = false;  // another page exists below tasks.back().id
};

// One task row lent by a store for the duration of one TaskRowSink::onRow call. The views
// point into the store's own buffers (a database result), so listing copies nothing per row;
// copy what you keep.
struct TaskView {
  std::int64_t id = 0;
  std::string_view title;
  std::string_view content;
  std::string_view due_date;  // "YYYY-MM-DD"
  bool done = false;
  Timestamp created_at = 0;
  Timestamp updated_at = 0;
  Timestamp last_request_at = 0;
};

inline TaskView viewOf(const Task& task) {
  return {task.id,   task.title,      task.content,    task.due_date,
          task.done, task.created_at, task.updated_at, task.last_request_at};
}

inline Task taskOf(const TaskView& row) {
  return {row.id,   std::string(row.title), std::string(row.content), std::string(row.due_date),
          row.done, row.created_at,         row.updated_at,           row.last_request_at};
}

// Receives a page's rows in order, newest first.
class TaskRowSink {
 public:
  virtual void onRow(const TaskView& row) = 0;

 protected:
  ~TaskRowSink() = default;
};

// Copies the lent rows into a TaskPage (what list() returns; the caller sets has_more).
class TaskPageCollector final : public TaskRowSink {
 public:
  void onRow(const TaskView& row) override { page.tasks.push_back(taskOf(row)); }
  TaskPage page;
};

struct TaskCounts {
  std::int64_t done = 0;
  std::int64_t open = 0;
};

// The start of the kConflict message of a write refused because its request timestamp is
// older than the store's retention window (see above). Human-readable: clients see it.
inline constexpr std::string_view kRetentionConflictPrefix = "Request too old: ";

class TaskStore {
 public:
  static constexpr std::string_view kServiceName = "task_store";
  virtual ~TaskStore() = default;

  virtual Result<Task> create(const NewTask& task) = 0;
  virtual Result<Task> get(std::int64_t id) = 0;
  virtual Result<TaskPage> list(const TaskQuery& query) = 0;
  virtual Result<Task> update(std::int64_t id, const TaskPatch& patch) = 0;
  virtual Status remove(std::int64_t id, Timestamp request_at) = 0;
  // Live (non-deleted) tasks by done state. Must be cheap: it feeds a gauge refreshed on a
  // timer, so keep counters or estimates rather than scanning a large table.
  virtual Result<TaskCounts> counts() = 0;
  // Cheap reachability probe for health checks.
  virtual Status ping() = 0;
  // The page list() returns, lent row by row to `sink` (from the caller's thread, before this
  // returns) instead of built as Task objects: task_api writes each row straight into the
  // response. Returns has_more. The default calls list(); a store overrides it to lend rows
  // from its own result buffers. Added in SDK ABI 2.
  virtual Result<bool> listRows(const TaskQuery& query, TaskRowSink& sink) {
    Result<TaskPage> page = list(query);
    if (!page.isOk()) return page.status();
    for (const Task& task : page->tasks) sink.onRow(viewOf(task));
    return page->has_more;
  }
};

// Optional, next to `task_store`: a store whose calls complete on its own threads (a
// database batcher) may also provide this service. The task API then answers from the
// store's thread (deferResponse(), http.h) instead of holding a worker thread per request
// while the database works. Same rules and outcomes as the TaskStore calls of the same name.
// Each call runs its `done` exactly once: on a thread of the store's, or before returning
// (invalid input, store not ready). `done` must be quick and must not block or throw.
// Appended in ABI 2.
class AsyncTaskStore {
 public:
  static constexpr std::string_view kServiceName = "task_store_async";
  using TaskDone = std::function<void(Result<Task>)>;
  using StatusDone = std::function<void(Status)>;
  virtual ~AsyncTaskStore() = default;

  virtual void createAsync(const NewTask& task, TaskDone done) = 0;
  virtual void getAsync(std::int64_t id, TaskDone done) = 0;
  virtual void updateAsync(std::int64_t id, const TaskPatch& patch, TaskDone done) = 0;
  virtual void removeAsync(std::int64_t id, Timestamp request_at, StatusDone done) = 0;
};

// Optional, next to `task_store_async`: listRows() completed on the store's own thread, so a
// list holds no worker thread either. The store lends the page's rows to `sink`, then runs
// `done` once with has_more, or with the error (rows already lent are then to be discarded);
// both on a thread of the store's, or before listRowsAsync returns (invalid input, store not
// ready). `sink` must stay valid until `done` runs: the caller keeps it alive from `done`'s
// captures. Same rules and rows as listRows(); `done` must be quick and must not block or throw.
// Appended in ABI 2 (a separate service, so stores built against AsyncTaskStore are unchanged).
class AsyncTaskLister {
 public:
  static constexpr std::string_view kServiceName = "task_lister_async";
  using ListDone = std::function<void(Result<bool>)>;
  virtual ~AsyncTaskLister() = default;

  virtual void listRowsAsync(const TaskQuery& query, TaskRowSink& sink, ListDone done) = 0;
};

}  // namespace appliance
