#pragma once
// WriteBatcher: group commit for the store's writes. With fsync on, a write's cost is the WAL
// flush at its commit; concurrent writes that share one transaction share one flush.
//
// `writers` threads (2 by default) each loop: take up to `max_batch` queued ops (FIFO), run
// them on one pooled connection as one pipeline
//     BEGIN; op1; op2; ...; COMMIT; Sync          (one round trip, one commit)
// then wake each op's thread (the threads and the queue: batch_queue.h). A submitting thread
// only enqueues and waits. A batch of one runs without BEGIN/COMMIT, so a lone write costs
// what it would cost unbatched.
//
// Each op is still one conditional statement (create: lock + checked INSERT), executed in
// order inside the transaction, so each op's outcome is exactly what it would be alone at
// that point; nothing is acknowledged before the COMMIT has returned.
//
// Ops are sorted inside a batch (creates by title lock key, then updates/deletes by id) so
// that every batch, in every process, takes its locks in one global order: concurrent
// batches cannot deadlock. Ops racing in one batch are concurrent requests, so any order
// among them is a valid one.
//
// If a batch fails with an SQL error (one op's bad input, a statement timeout), nothing of it
// was committed and each op is re-run alone, getting its own outcome. If the connection is
// lost, every op of the batch gets kUnavailable (the COMMIT may or may not have happened).

#include <array>
#include <vector>

#include "batch_queue.h"
#include "connection_pool.h"
#include "db_metrics.h"
#include "pg_connection.h"

namespace appliance::plugins::storage_postgres {

struct WriteOp {
  // In: one or two statements (create: title lock + INSERT) and the sort key.
  std::array<Call, 2> calls{};
  int call_count = 1;
  Statement metric = Statement::kUpdate;
  int order_group = 1;         // 0: creates (title locks), 1: updates and deletes (row locks)
  std::int64_t order_key = 0;  // title lock key, or task id
  // Out.
  Status status;
  std::array<PgResult, 2> results;
  FailureKind failure = FailureKind::kNone;
  Completion completion;
};

class WriteBatcher {
 public:
  WriteBatcher(ConnectionPool& pool, DbMetrics& metrics, std::chrono::milliseconds op_deadline,
               int writers, int max_batch);

  // Blocks until `op` is committed or has failed; fills op.status and op.results.
  void submit(WriteOp& op) { queue_.submit(op); }
  // Returns at once; op.completion.then runs when it is done (batch_queue.h).
  void submitAsync(WriteOp& op) { queue_.submitAsync(op); }
  // Fails queued ops with kUnavailable, finishes running batches, joins the writers.
  void stop() { queue_.stop(); }
  // Ops waiting for a writer (not those in a running batch).
  std::size_t queued() const { return queue_.queued(); }

 private:
  void runBatch(std::vector<WriteOp*>& batch);
  void runAlone(PgConnection& conn, WriteOp& op);

  ConnectionPool& pool_;
  DbMetrics& metrics_;
  const std::chrono::milliseconds op_deadline_;
  BatchQueue<WriteOp> queue_;  // last: its threads call runBatch
};

}  // namespace appliance::plugins::storage_postgres
