#pragma once
// ReadBatcher: GET by id for many concurrent requests in one statement.
//
// Each GET costs PostgreSQL a backend wake-up, an executor start and a round trip; under load
// those, not the index lookup, are the work. `readers` threads (2) each loop: take up to
// `max_batch` queued ids and run
//     SELECT ... FROM tasks WHERE id = ANY($1::int8[]) AND NOT deleted
// on one pooled connection, then hand every waiting request its row. A request is never
// answered from another request's snapshot older than its own arrival: a batch starts after
// every op in it was queued, so each op sees every write acknowledged before it was submitted.
//
// A reader that loses its connection retries the batch once on a fresh one (a read is
// idempotent). Each op is woken through its own mutex, so the requests of one batch do not
// queue on a shared lock to return.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "connection_pool.h"
#include "db_metrics.h"
#include "pg_connection.h"

namespace appliance::plugins::storage_postgres {

struct ReadOp {
  std::int64_t id = 0;  // in
  // Out: the batch's rows (shared by its ops) and this op's row, -1 when there is none.
  Status status;
  std::shared_ptr<const PgResult> rows;
  int row = -1;

 private:
  friend class ReadBatcher;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false;
};

class ReadBatcher {
 public:
  ReadBatcher(ConnectionPool& pool, DbMetrics& metrics, std::chrono::milliseconds op_deadline,
              int readers, int max_batch);
  ~ReadBatcher();  // stop()

  // Blocks until `op` has its row (or none) or has failed.
  void submit(ReadOp& op);
  // Fails queued ops with kUnavailable, finishes running batches, joins the readers.
  void stop();
  // Ops waiting for a reader (not those in a running batch).
  std::size_t queued() const;

 private:
  void readerLoop();
  void runBatch(const std::vector<ReadOp*>& batch);
  static void finish(ReadOp& op);

  ConnectionPool& pool_;
  DbMetrics& metrics_;
  const std::chrono::milliseconds op_deadline_;
  const std::size_t max_batch_;

  mutable std::mutex mutex_;
  std::condition_variable work_;
  std::deque<ReadOp*> queue_;
  bool stopping_ = false;
  std::vector<std::thread> readers_;
};

}  // namespace appliance::plugins::storage_postgres
