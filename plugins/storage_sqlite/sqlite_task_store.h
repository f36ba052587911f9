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
// a write is in progress, so GETs never queue behind writes. A read holds its snapshot only
// for one statement (the statement is reset at once), which is what lets checkpoints finish.
//
// Retention (task_store.h): with a tombstone_retention R, a write whose request timestamp is
// older than now - R is refused (kConflict) inside the writer transaction, and
// purgeTombstones() deletes tombstones older than now - R - kPurgeMargin through the same
// writer queue, so a refusal and a purge are serialized like any two writes.
//
// WAL: SQLite's automatic (PASSIVE) checkpoints can copy the WAL back but never let the writer
// rewrite it from the start while readers keep using it, so under continuous reads it grows
// without bound. With wal_checkpoint_bytes set, the writer tracks the WAL's size (wal hook)
// and, after a commit that leaves more than that, runs a RESTART checkpoint before the next
// batch: it copies every frame back, then waits (at most kCheckpointWait) for the readers
// still on old snapshots; readers that start meanwhile read the database file, so they never
// hold it up. The next write then starts at the beginning of the WAL, and journal_size_limit
// truncates the file to the bound.
//
// Threading: every TaskStore method is thread-safe. open() and close() are for the owning
// plugin's start()/stop(); before open() and after close() every call returns kUnavailable.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "appliance/context.h"
#include "appliance/logger.h"
#include "appliance/task_store.h"
#include "sqlite_config.h"
#include "sqlite_connection.h"
#include "sqlite_metrics.h"

namespace appliance::plugins::storage_sqlite {

struct StoreOptions {
  std::string path;  // the database file; its folder is created when missing
  std::chrono::milliseconds busy_timeout{5000};
  Synchronous synchronous = Synchronous::kFull;
  int readers = 4;
  std::int64_t cache_kib = 512;  // page cache per connection
  std::size_t max_batch = 64;    // requests per group commit
  // 0: keep tombstones, accept any request timestamp (the plugin's default is 30 days; the
  // store's is 0 so that tests and benchmarks may use fixed timestamps).
  std::chrono::microseconds tombstone_retention{0};
  std::int64_t purge_batch = 500;                              // tombstones per purge statement
  std::int64_t wal_checkpoint_bytes = std::int64_t{16} << 20;  // 0: SQLite's checkpoints only

  static StoreOptions from(const SqliteConfig& config, std::string path);
};

// Tombstones are purged only this long after the retention window passed them, in case the
// clock steps back (NTP) between a refusal and a purge.
inline constexpr std::chrono::minutes kPurgeMargin{1};
// Longest wait of a RESTART checkpoint for readers on old snapshots (writes wait meanwhile).
// When it runs out, the next RESTART is tried once the WAL has grown by another half bound.
inline constexpr std::chrono::milliseconds kCheckpointWait{200};

class SqliteTaskStore : public TaskStore {
 public:
  // `clock` (may be null: system clock) stamps created_at/updated_at and decides the retention
  // window. `registry` (may be null: no metrics) receives the appliance_sqlite_* series;
  // `logger` (may be null) gets checkpoint and purge lines at debug level. All three must
  // outlive the store.
  explicit SqliteTaskStore(StoreOptions options, const Clock* clock = nullptr,
                           prometheus::Registry* registry = nullptr,
                           const Logger* logger = nullptr);
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
  Result<bool> listRows(const TaskQuery& query, TaskRowSink& sink) override;
  Result<Task> update(std::int64_t id, const TaskPatch& patch) override;
  Status remove(std::int64_t id, Timestamp request_at) override;
  Result<TaskCounts> counts() override;
  Status ping() override;

  // Deletes up to options().purge_batch tombstones whose last request is older than
  // now - tombstone_retention - kPurgeMargin, in one short write transaction queued like any
  // write. Returns how many; 0 when retention is off.
  Result<std::int64_t> purgeTombstones();
  // The size of the WAL file in bytes (0 when there is none); also sets the gauge.
  std::int64_t walFileBytes() const;

  // For SqliteKvStore, which shares this file, its writer and its readers. runWrite() queues
  // `body` like any write: it runs on the writer inside the next group commit, in a savepoint
  // of its own (so it applies entirely or not at all, whatever the other requests of the batch
  // do), and returns its status once the batch committed (or the batch's failure). runRead()
  // runs `body` on a pooled read connection. kUnavailable when the store is not open.
  Status runWrite(const std::function<Status(Connection&)>& body);
  Status runRead(const std::function<Status(Connection&)>& body);

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
  Status applyPurge(WriteOp& op);
  Status applyCustom(WriteOp& op);
  Status retentionRefusal(Timestamp request_at, Timestamp now) const;
  void maintainWal();
  void runCheckpoint(CheckpointMode mode);
  static int onWalCommit(void* self, sqlite3* db, const char* schema, int frames);
  static int onCheckpointBusy(void* deadline, int attempts);
  Status whyUnchanged(std::int64_t id, Timestamp request_at);
  Result<ReadLease> acquireReader();
  Timestamp now() const;

  const StoreOptions options_;
  const Clock* clock_;
  const Logger* logger_;
  std::unique_ptr<SqliteMetrics> metrics_;  // null without a registry

  // Writer state, guarded by queue_mutex_ except `writer_` and `batch_`, which only the
  // current leader (leader_busy_ == true) touches.
  mutable std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::vector<WriteOp*> queue_;
  std::vector<WriteOp*> batch_;
  bool leader_busy_ = false;
  bool open_ = false;
  std::unique_ptr<Connection> writer_;
  // WAL bookkeeping, touched only by the current leader (and open()), in frames (pages): the
  // WAL's length after the last commit (from the wal hook) and after the previous batch, the
  // bound, the length at which the next RESTART runs (the bound, or more after a busy one),
  // and the length at the last PASSIVE checkpoint.
  std::int64_t wal_frames_ = 0;
  std::int64_t last_wal_frames_ = 0;
  std::int64_t bound_frames_ = 0;
  std::int64_t restart_frames_ = 0;
  std::int64_t passive_checkpoint_frames_ = 0;

  std::unique_ptr<ReaderPool> readers_;
};

}  // namespace appliance::plugins::storage_sqlite
