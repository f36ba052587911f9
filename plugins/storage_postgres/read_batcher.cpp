#include "read_batcher.h"

#include <pthread.h>

#include <algorithm>
#include <utility>

namespace appliance::plugins::storage_postgres {

ReadBatcher::ReadBatcher(ConnectionPool& pool, DbMetrics& metrics,
                         std::chrono::milliseconds op_deadline, int readers, int max_batch)
    : pool_(pool),
      metrics_(metrics),
      op_deadline_(op_deadline),
      max_batch_(static_cast<std::size_t>(max_batch)) {
  for (int i = 0; i < readers; ++i) {
    readers_.emplace_back([this] {
      pthread_setname_np(pthread_self(), "pg-reader");
      readerLoop();
    });
  }
}

ReadBatcher::~ReadBatcher() { stop(); }

void ReadBatcher::finish(ReadOp& op) {
  // Notified under the op's own lock: its thread may destroy the op as soon as it sees done_.
  std::lock_guard lock(op.mutex_);
  op.done_ = true;
  op.wake_.notify_one();
}

void ReadBatcher::stop() {
  std::deque<ReadOp*> orphans;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    orphans.swap(queue_);
  }
  work_.notify_all();
  for (ReadOp* op : orphans) {
    op->status = Status::unavailable("the PostgreSQL store is stopping");
    finish(*op);
  }
  for (auto& reader : readers_) {
    if (reader.joinable()) reader.join();
  }
}

std::size_t ReadBatcher::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

void ReadBatcher::submit(ReadOp& op) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) {
      op.status = Status::unavailable("the PostgreSQL store is stopping");
      return;
    }
    queue_.push_back(&op);
  }
  work_.notify_one();
  std::unique_lock lock(op.mutex_);
  op.wake_.wait(lock, [&] { return op.done_; });
}

void ReadBatcher::readerLoop() {
  std::vector<ReadOp*> batch;
  batch.reserve(max_batch_);
  std::unique_lock lock(mutex_);
  for (;;) {
    work_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    const auto n = static_cast<std::ptrdiff_t>(std::min(queue_.size(), max_batch_));
    batch.assign(queue_.begin(), queue_.begin() + n);
    queue_.erase(queue_.begin(), queue_.begin() + n);
    lock.unlock();
    runBatch(batch);
    for (ReadOp* op : batch) finish(*op);
    lock.lock();
  }
}

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
