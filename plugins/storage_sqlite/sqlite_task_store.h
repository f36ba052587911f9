#pragma once
// SqliteTaskStore: the `task_store` service on one SQLite file in WAL mode.
//
// Writes: one writer connection (SQLite has one writer anyway). Concurrent writes are grouped
// (group commit): the first waiting caller becomes the leader, runs every queued request in
// order inside one BEGIN IMMEDIATE transaction, commits once, and only then hands each caller
// its own outcome. Each request's outcome is computed in order on the state its predecessors
// left, exactly as if run alone; if the transaction or its commit fails, every request of the
// batch gets that failure (never a success that was not committed). With synchronous=full the
// commit's WAL fsync is what bounds write throughput, so sharing it is the win.
//
// Ordering rules (task_store.h) hold inside the writer transaction: conditional UPDATEs
// (`WHERE last_request_at < ? AND deleted = 0`), and the create-replay check in the same
// transaction as the INSERT.
//
// Reads: a pool of read-only connections; WAL lets them read the last committed state while
// a write is in progress, so GETs never queue behind writes.
//
// Threading: every TaskStore method is thread-safe. open() and close() are for the owning
// plugin's start()/stop(); before open() and after close() every call returns kUnavailable.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "appliance/context.h"
#include "appliance/task_store.h"
#include "sqlite_config.h"
#include "sqlite_connection.h"

namespace appliance::plugins::storage_sqlite {

struct StoreOptions {
  std::string path;  // the database file; its folder is created when missing
  std::chrono::milliseconds busy_timeout{5000};
  Synchronous synchronous = Synchronous::kFull;
  int readers = 4;
  std::int64_t cache_kib = 512;  // page cache per connection
  std::size_t max_batch = 64;    // requests per group commit

  static StoreOptions from(const SqliteConfig& config, std::string path);
};

class SqliteTaskStore : public TaskStore {
 public:
  // `clock` (may be null: system clock) stamps created_at/updated_at; it must outlive the store.
  explicit SqliteTaskStore(StoreOptions options, const Clock* clock = nullptr);
  ~SqliteTaskStore() override;
  SqliteTaskStore(const SqliteTaskStore&) = delete;
  SqliteTaskStore& operator=(const SqliteTaskStore&) = delete;

  // Creates the folder, opens the writer, sets WAL and synchronous, applies migrations, opens
  // the readers. Errors name the path and carry SQLite's and the OS's message.
  Status open();
  // Finishes the write batch in progress, fails queued writes with kUnavailable, closes the
  // connections (a read still running closes its connection when it ends).
  void close();
  bool isOpen() const;
  const StoreOptions& options() const { return options_; }

  Result<Task> create(const NewTask& task) override;
  Result<Task> get(std::int64_t id) override;
  Result<TaskPage> list(const TaskQuery& query) override;
  Result<Task> update(std::int64_t id, const TaskPatch& patch) override;
  Status remove(std::int64_t id, Timestamp request_at) override;
  Result<TaskCounts> counts() override;
  Status ping() override;

 private:
  struct WriteOp;
  class ReaderPool;
  class ReadLease;

  Status openWriter();
  Status submit(WriteOp& op);
  void leadBatch(std::unique_lock<std::mutex>& queue_lock);
  void runBatch() noexcept;
  void apply(WriteOp& op);
  Status applyCreate(WriteOp& op);
  Status applyUpdate(WriteOp& op);
  Status applyRemove(WriteOp& op);
  Status whyUnchanged(std::int64_t id, Timestamp request_at);
  Result<ReadLease> acquireReader();
  Timestamp now() const;

  const StoreOptions options_;
  const Clock* clock_;

  // Writer state, guarded by queue_mutex_ except `writer_` and `batch_`, which only the
  // current leader (leader_busy_ == true) touches.
  mutable std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::vector<WriteOp*> queue_;
  std::vector<WriteOp*> batch_;
  bool leader_busy_ = false;
  bool open_ = false;
  std::unique_ptr<Connection> writer_;

  std::unique_ptr<ReaderPool> readers_;
};

}  // namespace appliance::plugins::storage_sqlite
