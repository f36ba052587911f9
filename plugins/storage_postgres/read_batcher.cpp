#include "read_batcher.h"

#include <algorithm>
#include <utility>

namespace appliance::plugins::storage_postgres {

ReadBatcher::ReadBatcher(ConnectionPool& pool, DbMetrics& metrics,
                         std::chrono::milliseconds op_deadline, int readers, int max_batch)
    : pool_(pool),
      metrics_(metrics),
      op_deadline_(op_deadline),
      queue_("pg-reader", readers, static_cast<std::size_t>(max_batch),
             [this](std::vector<ReadOp*>& batch) { runBatch(batch); }) {}

void ReadBatcher::runBatch(const std::vector<ReadOp*>& batch) {
  std::vector<std::int64_t> ids;
  ids.reserve(batch.size());
  for (const ReadOp* op : batch) ids.push_back(op->id);
  std::string array_buffer;
  Params params;
  params.int8Array(ids, array_buffer);
  const Call call{Statement::kGetMany, &params};
  auto rows = std::make_shared<PgResult>();
  Status status;
  for (int attempt = 0;; ++attempt) {
    auto lease = pool_.acquire();
    if (!lease.isOk()) {
      status = lease.status();  // the pool counted it already
      break;
    }
    const auto start = SteadyClock::now();
    status = (*lease)->executeGroup(std::span<const Call>(&call, 1),
                                    std::span<PgResult>(rows.get(), 1), start + op_deadline_);
    const double seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
    metrics_.observeQuery(Statement::kGetMany, seconds);
    if (status.isOk()) break;
    const FailureKind kind = (*lease)->lastFailure();
    metrics_.countFailure(kind);
    if (kind != FailureKind::kConnection || attempt > 0) break;
  }
  if (!status.isOk()) {
    for (ReadOp* op : batch) op->status = status;
    return;
  }
  // Row of each id; ids are unique in the table, so a sorted (id, row) list maps them.
  const PGresult* result = rows->get();
  std::vector<std::pair<std::int64_t, int>> found;
  found.reserve(static_cast<std::size_t>(PQntuples(result)));
  for (int row = 0; row < PQntuples(result); ++row)
    found.emplace_back(readInt(result, row, 0), row);
  std::sort(found.begin(), found.end());
  std::shared_ptr<const PgResult> shared = std::move(rows);
  for (ReadOp* op : batch) {
    op->status = Status::ok();
    const auto it = std::lower_bound(found.begin(), found.end(), std::pair{op->id, -1});
    if (it != found.end() && it->first == op->id) {
      op->row = it->second;
      op->rows = shared;
    }
  }
}

}  // namespace appliance::plugins::storage_postgres
