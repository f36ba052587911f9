#include "read_batcher.h"

#include <algorithm>
#include <utility>

namespace appliance::plugins::storage_postgres {

ReadBatcher::ReadBatcher(Execute execute, int readers, int max_batch)
    : execute_(std::move(execute)),
      queue_("pg-reader", readers, static_cast<std::size_t>(max_batch),
             [this](std::vector<ReadOp*>& batch) { runBatch(batch); }) {}

void ReadBatcher::runBatch(const std::vector<ReadOp*>& batch) {
  std::vector<std::int64_t> ids;
  ids.reserve(batch.size());
  for (const ReadOp* op : batch) ids.push_back(op->id);
  std::string array_buffer;
  Params params;
  params.int8Array(ids, array_buffer);
  auto rows = std::make_shared<PgResult>();
  if (Status status = execute_(params, *rows); !status.isOk()) {
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
