#pragma once
// PostgresTaskStore: the `task_store` service on PostgreSQL through libpq.
//
// Lifecycle: construct (no I/O) -> start() -> ... -> stop(). start() dials and applies the
// migrations when the database answers; when it does not, start() still succeeds: the store
// reports unhealthy and a background thread retries with backoff (100 ms doubling to 2 s).
// Until the schema is in place every call returns kUnavailable.
//
// Every ordering rule is a single prepared statement (create: the per-title advisory lock and
// the checked INSERT, pipelined). GETs by id go through the ReadBatcher, which answers
// concurrent GETs with one statement; lists and counts borrow a pooled connection for one
// round trip; writes go through the WriteBatcher, which commits concurrent writes together (one WAL
// flush) while each keeps its own outcome. A result is returned only after the commit.
// Reads that fail because a connection was lost are retried once on a fresh connection;
// writes are not (their outcome is unknown; the ordering rules make a client retry safe).
//
// Thread-safe: every TaskStore method may be called from many threads at once.

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>

#include "appliance/context.h"
#include "appliance/logger.h"
#include "appliance/task_store.h"
#include "connection_pool.h"
#include "db_metrics.h"
#include "list_batcher.h"
#include "postgres_config.h"
#include "read_batcher.h"
#include "write_batcher.h"

namespace appliance::plugins::storage_postgres {

class PostgresTaskStore final : public TaskStore, public AsyncTaskStore, public AsyncTaskLister {
 public:
  // `logger` and `registry` must outlive the store.
  PostgresTaskStore(PostgresConfig config, const Logger& logger, prometheus::Registry& registry);
  ~PostgresTaskStore() override;

  // Fails only for what retrying cannot fix (a migration rejected by the server).
  Status start();
  // Stops the background thread and closes the pool; later calls get kUnavailable.
  void stop();
  // Cached: ready (schema in place) and the pool reachable. Never dials.
  HealthResult health() const;
  // Highest migration version recorded in the database (0 until ready).
  int schemaVersion() const { return schema_version_.load(); }
  // Writes waiting for a batch writer (tests; 0 when batching is off).
  std::size_t queuedWrites() const { return writer_ ? writer_->queued() : 0; }
  // GETs waiting for a batch reader (tests; 0 when batching is off).
  std::size_t queuedReads() const { return reader_ ? reader_->queued() : 0; }

  Result<Task> create(const NewTask& task) override;
  // AsyncTaskStore: the same calls, completed on the batcher threads (`done` runs there).
  void createAsync(const NewTask& task, TaskDone done) override;
  void getAsync(std::int64_t id, TaskDone done) override;
  void updateAsync(std::int64_t id, const TaskPatch& patch, TaskDone done) override;
  void removeAsync(std::int64_t id, Timestamp request_at, StatusDone done) override;
  Result<Task> get(std::int64_t id) override;
  Result<TaskPage> list(const TaskQuery& query) override;
  Result<bool> listRows(const TaskQuery& query, TaskRowSink& sink) override;
  // AsyncTaskLister: listRows() through the list batcher, the rows lent and `done` run on its
  // thread (on the caller's when batching is off).
  void listRowsAsync(const TaskQuery& query, TaskRowSink& sink, ListDone done) override;
  Result<Task> update(std::int64_t id, const TaskPatch& patch) override;
  Status remove(std::int64_t id, Timestamp request_at) override;
  Result<TaskCounts> counts() override;
  Status ping() override;

  // Deletes up to kPurgeBatch tombstones whose last request is older than the retention
  // window (plus a minute), on the server's clock; returns how many (0 when retention is off
  // or nothing expired). Idempotent and safe to run from every process at once: each run
  // takes its rows FOR UPDATE SKIP LOCKED, so concurrent purges split the work and never wait
  // for each other or for a write.
  Result<std::int64_t> purgeTombstones();
  static constexpr std::int64_t kPurgeBatch = 500;

  // For PostgresKvStore, which shares this store's pool, readiness, metrics and error mapping.
  // runStatement(): one statement on a pooled connection (its own implicit transaction);
  // `idempotent` allows one retry after a lost connection.
  Status runStatement(Statement statement, const Params& params, PgResult& result,
                      bool idempotent) {
    return runOne(statement, params, result, idempotent);
  }
  // runTransaction(): BEGIN, then `body`, which runs statements one round trip each through
  // the step it is given, then COMMIT when it returns ok, else ROLLBACK. Each statement is
  // timed under its own label. A connection lost before the COMMIT answered is kUnavailable
  // (after the COMMIT was sent: "may or may not have been applied").
  using TransactionStep = std::function<Status(Statement, const Params&, PgResult&)>;
  Status runTransaction(const std::function<Status(const TransactionStep&)>& body);
  DbMetrics& metrics() { return metrics_; }

 private:
  // Runs statements on one pooled connection, one round trip, one implicit transaction.
  // `metric` names the histogram; `idempotent` allows one retry after a lost connection.
  Status run(Statement metric, std::span<const Call> calls, std::span<PgResult> results,
             bool idempotent);
  Status runOne(Statement statement, const Params& params, PgResult& result, bool idempotent);
  // Creates, updates and deletes: through the group-commit batcher. Fills op.status.
  void write(WriteOp& op);
  void noteWritten(const WriteOp& op);
  // A GET by id through the read batcher (or one statement); op.row is -1 when none.
  Status readOne(ReadOp& op);
  // Each call in two halves, shared by the blocking and the asynchronous form: bind the
  // statements (`invalid` set for input the database cannot take), then read the outcome.
  void prepareCreate(const NewTask& task, std::array<Params, 2>& params, WriteOp& op,
                     Status& invalid) const;
  Result<Task> createOutcome(const NewTask& task, const WriteOp& op);
  Result<Task> getOutcome(const ReadOp& op);
  void prepareUpdate(std::int64_t id, const TaskPatch& patch, Params& params, WriteOp& op,
                     Status& invalid) const;
  Result<Task> updateOutcome(std::int64_t id, Timestamp request_at, const WriteOp& op);
  void prepareRemove(std::int64_t id, Timestamp request_at, Params& params, WriteOp& op) const;
  Status removeOutcome(std::int64_t id, Timestamp request_at, const WriteOp& op);
  template <typename Op, typename Done>
  struct Pending;
  // Runs an asynchronous call's `done` on a batch thread, logging what it throws.
  template <typename Finish>
  void finishOnBatchThread(Finish&& finish) noexcept;
  template <typename Op, typename Done, typename Batcher, typename Finish>
  void submitPending(std::unique_ptr<Pending<Op, Done>> pending, Batcher* batcher, Finish finish);
  Status connectAndMigrate();
  void backgroundLoop();
  void probeIfIdle();
  Status notReady() const;
  // The retention window's parameter of the write statements: microseconds, or NULL (off).
  void retentionParam(Params& params) const;
  Status tooOld(Timestamp request_at) const;

  const PostgresConfig config_;
  const ConnectionParams params_;
  const Logger& logger_;
  DbMetrics metrics_;
  ConnectionPool pool_;
  std::unique_ptr<WriteBatcher> writer_;  // null when write_batch_size is 1
  std::unique_ptr<ReadBatcher> reader_;   // null when read_batch_size is 1
  std::unique_ptr<ListBatcher> lister_;   // null when read_batch_size is 1

  std::atomic<bool> ready_{false};
  std::atomic<int> schema_version_{0};
  std::atomic<SteadyClock::rep> last_success_{0};  // steady ticks of the last good call

  mutable std::mutex state_mutex_;
  std::string not_ready_reason_ = "not started";
  std::string last_migration_error_;
  bool stopping_ = false;
  std::condition_variable wake_;
  std::thread background_;

  std::mutex counts_mutex_;
  std::optional<TaskCounts> counts_;
  SteadyClock::time_point counts_at_{};
};

}  // namespace appliance::plugins::storage_postgres
