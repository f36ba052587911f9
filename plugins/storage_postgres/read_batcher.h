#pragma once
// ReadBatcher: GET by id for many concurrent requests in one statement.
//
// Each GET costs PostgreSQL a backend wake-up, an executor start and a round trip; under load
// those, not the index lookup, are the work. `readers` threads (the store uses one) each
// loop: take up to `max_batch` queued ids and run
//     SELECT ... FROM tasks WHERE id = ANY($1::int8[]) AND NOT deleted
// on one pooled connection, then hand every waiting request its row. A request is never
// answered from another request's snapshot older than its own arrival: a batch starts after
// every op in it was queued, so each op sees every write acknowledged before it was submitted.
//
// The statement runs through the store's own single-statement path (pool, metrics, one retry
// on a fresh connection after a lost one: a read is idempotent).

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "batch_queue.h"
#include "pg_connection.h"

namespace appliance::plugins::storage_postgres {

struct ReadOp {
  std::int64_t id = 0;  // in
  // Out: the batch's rows (shared by its ops) and this op's row, -1 when there is none.
  Status status;
  std::shared_ptr<const PgResult> rows;
  int row = -1;
  Completion completion;
};

class ReadBatcher {
 public:
  // Runs the kGetMany statement with `params` into `result`.
  using Execute = std::function<Status(const Params& params, PgResult& result)>;

  ReadBatcher(Execute execute, int readers, int max_batch);

  // Blocks until `op` has its row (or none) or has failed.
  void submit(ReadOp& op) { queue_.submit(op); }
  // Returns at once; op.completion.then runs when it is done (batch_queue.h).
  void submitAsync(ReadOp& op) { queue_.submitAsync(op); }
  // Fails queued ops with kUnavailable, finishes running batches, joins the readers.
  void stop() { queue_.stop(); }
  // Ops waiting for a reader (not those in a running batch).
  std::size_t queued() const { return queue_.queued(); }

 private:
  void runBatch(const std::vector<ReadOp*>& batch);

  const Execute execute_;
  BatchQueue<ReadOp> queue_;  // last: its threads call runBatch
};

}  // namespace appliance::plugins::storage_postgres
