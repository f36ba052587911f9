#include "write_batcher.h"

#include <algorithm>

namespace appliance::plugins::storage_postgres {
namespace {

double secondsSince(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

}  // namespace

WriteBatcher::WriteBatcher(ConnectionPool& pool, DbMetrics& metrics,
                           std::chrono::milliseconds op_deadline, int writers, int max_batch)
    : pool_(pool),
      metrics_(metrics),
      op_deadline_(op_deadline),
      queue_("pg-writer", writers, static_cast<std::size_t>(max_batch),
             [this](std::vector<WriteOp*>& batch) { runBatch(batch); }) {}

void WriteBatcher::runBatch(std::vector<WriteOp*>& batch) {
  std::stable_sort(batch.begin(), batch.end(), [](const WriteOp* a, const WriteOp* b) {
    return a->order_group != b->order_group ? a->order_group < b->order_group
                                            : a->order_key < b->order_key;
  });
  auto lease = pool_.acquire();
  if (!lease.isOk()) {
    for (WriteOp* op : batch) op->status = lease.status();  // the pool counted it already
    return;
  }
  PgConnection& conn = **lease;
  if (batch.size() == 1) {
    runAlone(conn, *batch.front());
    return;
  }
  static const Params kNoParams;
  std::vector<Call> calls;
  calls.reserve(batch.size() * 2 + 2);
  calls.push_back({Statement::kBegin, &kNoParams});
  for (WriteOp* op : batch)
    calls.insert(calls.end(), op->calls.begin(), op->calls.begin() + op->call_count);
  calls.push_back({Statement::kCommit, &kNoParams});
  std::vector<PgResult> results(calls.size());
  const auto start = SteadyClock::now();
  // Each statement has the server's statement_timeout; a batch gets twice the client-side
  // allowance of a single write before the connection is given up.
  Status s = conn.executeGroup(calls, results, start + 2 * op_deadline_);
  const double seconds = secondsSince(start);
  if (s.isOk()) {
    std::size_t next = 1;  // after BEGIN
    for (WriteOp* op : batch) {
      for (int i = 0; i < op->call_count; ++i) op->results[i] = std::move(results[next++]);
      op->status = Status::ok();
      metrics_.observeQuery(op->metric, seconds);
    }
    return;
  }
  if (conn.lastFailure() == FailureKind::kConnection || conn.broken()) {
    metrics_.countFailure(FailureKind::kConnection);
    for (WriteOp* op : batch) {
      op->status =
          Status::unavailable(s.message() + " (the write may or may not have been applied)");
      op->failure = FailureKind::kConnection;
    }
    return;
  }
  // Nothing was committed: end the aborted transaction block, then give every op its own
  // outcome.
  if (!conn.broken() && conn.inTransaction()) {
    static const Params kNone;
    PgResult ignored;
    (void)conn.execute(Statement::kRollback, kNone, ignored, SteadyClock::now() + op_deadline_);
  }
  for (WriteOp* op : batch) {
    if (conn.broken()) {
      op->status = Status::unavailable("PostgreSQL connection lost");
      op->failure = FailureKind::kConnection;
      continue;
    }
    runAlone(conn, *op);
  }
}

void WriteBatcher::runAlone(PgConnection& conn, WriteOp& op) {
  const auto start = SteadyClock::now();
  op.status = conn.executeGroup(std::span<const Call>(op.calls.data(), op.call_count),
                                std::span<PgResult>(op.results.data(), op.call_count),
                                start + op_deadline_);
  metrics_.observeQuery(op.metric, secondsSince(start));
  if (!op.status.isOk()) {
    op.failure = conn.lastFailure();
    metrics_.countFailure(op.failure);
    if (op.failure == FailureKind::kConnection) {
      op.status = Status::unavailable(op.status.message() +
                                      " (the write may or may not have been applied)");
    }
  }
}

}  // namespace appliance::plugins::storage_postgres
