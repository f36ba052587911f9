#include "postgres_task_store.h"

#include <pthread.h>

#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <utility>

#include "appliance/time.h"
#include "migrations.h"

namespace appliance::plugins::storage_postgres {
namespace {

constexpr auto kFirstBackoff = std::chrono::milliseconds(100);
constexpr auto kMaxBackoff = std::chrono::milliseconds(2000);
constexpr auto kTick = std::chrono::milliseconds(250);
// With no successful call for this long, the background thread checks the server itself,
// so health turns 503 while the process is idle too.
constexpr auto kProbeAfter = std::chrono::seconds(5);
// A peer that stops answering mid-statement is given up on this long after the server's own
// statement_timeout should have fired.
constexpr auto kClientGrace = std::chrono::seconds(2);
constexpr auto kMigrationLockWait = std::chrono::minutes(2);
constexpr std::size_t kMaxListLimit = 10'000;
// Writer and reader threads, i.e. write and read batches in flight at once (each holds one
// pooled connection). Two writers overlap one batch's WAL flush with the next batch's
// statements. One reader: while its batch runs the next one grows, so the database runs
// fewer, larger statements; in interleaved runs one reader gave 30% more GETs per second
// than two, with a lower p99 (bench/README.md).
constexpr int kMaxWriters = 2;
constexpr int kMaxReaders = 1;
// Two: distinct pages (paging clients) then run on two backends at once, one per core here.
constexpr int kMaxListers = 2;

// Tombstones are purged only this long after the retention window passed them: a write whose
// statement started before a purge's (its window's clock reading) but ran after it would
// otherwise miss a tombstone it should have seen. Statements are far shorter than this.
constexpr auto kPurgeMargin = std::chrono::minutes(1);

double secondsSince(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

Status notFound(std::int64_t id) {
  return Status::notFound("task " + std::to_string(id) + " not found");
}

Status stale(std::int64_t id) {
  return Status::conflict("task " + std::to_string(id) +
                          " has a newer or equal request_timestamp already accepted; nothing "
                          "changed");
}

// A retention in the config's own notation ("720h", "90s", "1500ms").
std::string durationText(std::chrono::milliseconds value) {
  constexpr std::pair<std::int64_t, const char*> kUnits[] = {
      {3'600'000, "h"}, {60'000, "m"}, {1'000, "s"}};
  for (const auto& [millis, unit] : kUnits) {
    if (value.count() % millis == 0) return std::to_string(value.count() / millis) + unit;
  }
  return std::to_string(value.count()) + "ms";
}

std::chrono::milliseconds withJitter(std::chrono::milliseconds backoff) {
  thread_local std::minstd_rand random(std::random_device{}());
  return backoff / 2 + std::chrono::milliseconds(random() % (backoff.count() / 2 + 1));
}

}  // namespace

PostgresTaskStore::PostgresTaskStore(PostgresConfig config, const Logger& logger,
                                     prometheus::Registry& registry)
    : config_(std::move(config)),
      params_(config_),
      logger_(logger),
      metrics_(registry),
      pool_(
          config_.pool, config_.connect_timeout,
          [this](SteadyClock::time_point deadline) {
            return PgConnection::open(params_, config_.statement_timeout, deadline, true);
          },
          metrics_, logger_) {}

PostgresTaskStore::~PostgresTaskStore() { stop(); }

Status PostgresTaskStore::start() {
  if (config_.write_batch_size > 1 && !writer_) {  // threads start here, not at init
    writer_ =
        std::make_unique<WriteBatcher>(pool_, metrics_, config_.statement_timeout + kClientGrace,
                                       kMaxWriters, config_.write_batch_size);
  }
  if (config_.read_batch_size > 1 && !reader_) {
    reader_ = std::make_unique<ReadBatcher>(
        [this](const Params& params, PgResult& result) {
          return runOne(Statement::kGetMany, params, result, /*idempotent=*/true);
        },
        kMaxReaders, config_.read_batch_size);
  }
  if (config_.read_batch_size > 1 && !lister_) {
    lister_ = std::make_unique<ListBatcher>(
        [this](std::span<const Call> calls, std::span<PgResult> results) {
          return run(calls.front().statement, calls, results, /*idempotent=*/true);
        },
        kMaxListers, config_.read_batch_size);
  }
  logger_.info("connecting to PostgreSQL", {{"target", params_.description()}});
  Status first = connectAndMigrate();
  if (!first.isOk() && first.code() != StatusCode::kUnavailable &&
      first.code() != StatusCode::kTimeout) {
    return first;  // the server answered and refused the schema: retrying will not help
  }
  if (!first.isOk()) {
    logger_.warn("PostgreSQL not reachable at start; serving 503 and retrying in the background",
                 {{"error", first.message()}});
  }
  std::lock_guard lock(state_mutex_);
  stopping_ = false;
  background_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "pg-upkeep");
    backgroundLoop();
  });
  return Status::ok();
}

void PostgresTaskStore::stop() {
  {
    std::lock_guard lock(state_mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (background_.joinable()) background_.join();
  if (writer_) writer_->stop();
  if (reader_) reader_->stop();
  if (lister_) lister_->stop();
  pool_.close();
  ready_ = false;
  std::lock_guard lock(state_mutex_);
  not_ready_reason_ = "stopped";
}

// One attempt: a plain session for the migrations (pooled sessions prepare statements that
// need the tables), then the store is ready and the pool dials on demand.
Status PostgresTaskStore::connectAndMigrate() {
  auto conn = PgConnection::open(params_, config_.statement_timeout,
                                 SteadyClock::now() + config_.connect_timeout, false);
  Status result = conn.isOk() ? Status::ok() : conn.status();
  if (conn.isOk()) {
    auto outcome =
        applyMigrations(*conn.value(), embeddedMigrations(), logger_, kMigrationLockWait);
    if (outcome.isOk()) {
      schema_version_ = outcome->schema_version;
      ready_ = true;
      logger_.info("PostgreSQL ready", {{"schema_version", outcome->schema_version},
                                        {"applied", static_cast<int>(outcome->applied.size())}});
      return Status::ok();
    }
    result = outcome.status();
    if (conn.value()->broken() && result.code() == StatusCode::kInternal) {
      result = Status::unavailable(result.message());
    }
  }
  if (result.code() == StatusCode::kUnavailable) metrics_.countFailure(FailureKind::kConnection);
  std::lock_guard lock(state_mutex_);
  not_ready_reason_ = result.message();
  return result;
}

void PostgresTaskStore::backgroundLoop() {
  auto backoff = kFirstBackoff;
  auto next_attempt = SteadyClock::now();
  std::unique_lock lock(state_mutex_);
  while (!stopping_) {
    // Every kTick, or sooner when a reconnect attempt is due.
    const bool retrying = !ready_ || !pool_.reachable();
    const auto tick = SteadyClock::now() + kTick;
    wake_.wait_until(lock, retrying ? std::min(tick, next_attempt) : tick,
                     [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    const auto now = SteadyClock::now();
    if (now >= next_attempt && (!ready_ || !pool_.reachable())) {
      Status s = ready_ ? pool_.tryConnect() : connectAndMigrate();
      if (s.isOk()) {
        backoff = kFirstBackoff;
      } else {
        if (s.code() != StatusCode::kUnavailable && s.code() != StatusCode::kTimeout &&
            s.message() != last_migration_error_) {
          logger_.error("PostgreSQL schema migration failed; retrying", {{"error", s.message()}});
          last_migration_error_ = s.message();
        }
        next_attempt = now + withJitter(backoff);
        backoff = std::min(backoff * 2, kMaxBackoff);
      }
    } else if (ready_ && pool_.reachable()) {
      pool_.maintain();
      probeIfIdle();
    }
    lock.lock();
  }
}

void PostgresTaskStore::probeIfIdle() {
  const auto last = SteadyClock::time_point(SteadyClock::duration(last_success_.load()));
  if (SteadyClock::now() - last < kProbeAfter) return;
  Params none;
  PgResult result;
  if (runOne(Statement::kPing, none, result, true).isOk()) return;
  // The probe's connection failed: a dial tells whether the server is there at all.
  (void)pool_.tryConnect();
}

Status PostgresTaskStore::notReady() const {
  std::lock_guard lock(state_mutex_);
  return Status::unavailable("PostgreSQL storage is not ready: " + not_ready_reason_);
}

HealthResult PostgresTaskStore::health() const {
  if (!ready_) return {false, notReady().message()};
  if (!pool_.reachable()) return {false, "PostgreSQL unreachable: " + pool_.lastError()};
  return {true, ""};
}

Status PostgresTaskStore::ping() {
  HealthResult h = health();
  return h.healthy ? Status::ok() : Status::unavailable(h.message);
}

Status PostgresTaskStore::run(Statement metric, std::span<const Call> calls,
                              std::span<PgResult> results, bool idempotent) {
  if (!ready_) return notReady();
  for (int attempt = 0;; ++attempt) {
    auto lease = pool_.acquire();
    if (!lease.isOk()) return lease.status();
    const auto start = SteadyClock::now();
    Status s =
        (*lease)->executeGroup(calls, results, start + config_.statement_timeout + kClientGrace);
    metrics_.observeQuery(metric, secondsSince(start));
    if (s.isOk()) {
      last_success_.store(SteadyClock::now().time_since_epoch().count(), std::memory_order_relaxed);
      return s;
    }
    const FailureKind kind = (*lease)->lastFailure();
    metrics_.countFailure(kind);
    if (kind == FailureKind::kConnection && idempotent && attempt == 0) continue;
    if (kind == FailureKind::kConnection && !idempotent) {
      return Status::unavailable(s.message() + " (the write may or may not have been applied)");
    }
    return s;
  }
}

Status PostgresTaskStore::runOne(Statement statement, const Params& params, PgResult& result,
                                 bool idempotent) {
  const Call call{statement, &params};
  return run(statement, std::span<const Call>(&call, 1), std::span<PgResult>(&result, 1),
             idempotent);
}

Status PostgresTaskStore::runTransaction(
    const std::function<Status(const TransactionStep&)>& body) {
  if (!ready_) return notReady();
  auto lease = pool_.acquire();
  if (!lease.isOk()) return lease.status();
  PgConnection& conn = **lease;
  const TransactionStep step = [&](Statement statement, const Params& params,
                                   PgResult& result) -> Status {
    const auto start = SteadyClock::now();
    Status s =
        conn.execute(statement, params, result, start + config_.statement_timeout + kClientGrace);
    metrics_.observeQuery(statement, secondsSince(start));
    if (!s.isOk()) metrics_.countFailure(conn.lastFailure());
    return s;
  };
  static const Params kNone;
  PgResult ignored;
  Status s = step(Statement::kBegin, kNone, ignored);
  if (s.isOk()) s = body(step);
  if (s.isOk()) {
    s = step(Statement::kCommit, kNone, ignored);
    if (!s.isOk() && conn.lastFailure() == FailureKind::kConnection) {
      return Status::unavailable(s.message() + " (the write may or may not have been applied)");
    }
  } else if (!conn.broken() && conn.inTransaction()) {
    // A connection still in a transaction block is closed by the pool instead of reused.
    (void)conn.execute(Statement::kRollback, kNone, ignored,
                       SteadyClock::now() + config_.statement_timeout + kClientGrace);
  }
  if (s.isOk()) {
    last_success_.store(SteadyClock::now().time_since_epoch().count(), std::memory_order_relaxed);
  }
  return s;
}

void PostgresTaskStore::write(WriteOp& op) {
  if (!ready_) {
    op.status = notReady();
    return;
  }
  if (writer_) {
    writer_->submit(op);
  } else {
    op.status = run(op.metric, std::span<const Call>(op.calls.data(), op.call_count),
                    std::span<PgResult>(op.results.data(), op.call_count), false);
  }
  noteWritten(op);
}

void PostgresTaskStore::noteWritten(const WriteOp& op) {
  if (op.status.isOk()) {
    last_success_.store(SteadyClock::now().time_since_epoch().count(), std::memory_order_relaxed);
  }
}

// One asynchronous call: its op, the parameters its statements read, the input those point
// into, and the caller's `done`. Owns itself from submitAsync() until `then` has run.
template <typename Op, typename Done>
struct PostgresTaskStore::Pending {
  Op op;
  std::array<Params, 2> params;
  NewTask task;
  TaskPatch patch;
  Done done;
};

template <typename Finish>
void PostgresTaskStore::finishOnBatchThread(Finish&& finish) noexcept {
  try {
    finish();
  } catch (const std::exception& e) {
    logger_.error("a task store completion failed", {{"error", e.what()}});
  } catch (...) {
    logger_.error("a task store completion failed", {{"error", "non-standard exception"}});
  }
}

// Runs `pending` through `batcher`, then `finish(*pending)` (which calls `done`) on the batch
// thread. Without a batcher, or before the store is ready, it runs on this thread.
template <typename Op, typename Done, typename Batcher, typename Finish>
void PostgresTaskStore::submitPending(std::unique_ptr<Pending<Op, Done>> pending, Batcher* batcher,
                                      Finish finish) {
  if (!batcher || !ready_) {
    Op& op = pending->op;
    if (!ready_) {
      op.status = notReady();
    } else if constexpr (std::is_same_v<Op, WriteOp>) {
      write(op);
    } else {
      op.status = readOne(op);
    }
    finish(*pending);
    return;
  }
  Pending<Op, Done>* raw = pending.release();
  raw->op.completion.then = [this, raw, finish] {
    std::unique_ptr<Pending<Op, Done>> owned(raw);
    if constexpr (std::is_same_v<Op, WriteOp>) noteWritten(owned->op);
    finishOnBatchThread([&] { finish(*owned); });
  };
  batcher->submitAsync(raw->op);
}

void PostgresTaskStore::prepareCreate(const NewTask& task, std::array<Params, 2>& params,
                                      WriteOp& op, Status& invalid) const {
  Params& lock = params[0];
  Params& insert = params[1];
  const std::int32_t lock_key = titleLockKey(task.title);
  lock.int4(lock_key);
  insert.text(task.title);
  insert.text(task.content);
  if (!insert.date(task.due_date)) {
    invalid = Status::invalid("due_date '" + task.due_date + "' is not a YYYY-MM-DD calendar date");
    return;
  }
  insert.timestamp(task.request_at);
  retentionParam(insert);
  op.calls = {Call{Statement::kCreateLock, &lock}, Call{Statement::kCreate, &insert}};
  op.call_count = 2;
  op.metric = Statement::kCreate;
  op.order_group = 0;
  op.order_key = lock_key;
}

Result<Task> PostgresTaskStore::createOutcome(const NewTask& task, const WriteOp& op) {
  if (!op.status.isOk()) return op.status;
  const PGresult* result = op.results[1].get();
  const std::int64_t outcome =
      PQntuples(result) == 1 ? readInt(result, 0, kTaskColumns) : kOutcomeConflict;
  if (outcome == kOutcomeWritten) return readTask(result, 0);
  metrics_.countFailure(FailureKind::kConflict);
  if (outcome == kOutcomeTooOld) return tooOld(task.request_at);
  return Status::conflict("a task titled '" + task.title +
                          "' already has a newer or equal request_timestamp (replayed create)");
}

Result<Task> PostgresTaskStore::create(const NewTask& task) {
  std::array<Params, 2> params;
  WriteOp op;
  Status invalid;
  prepareCreate(task, params, op, invalid);
  if (!invalid.isOk()) return invalid;
  write(op);
  return createOutcome(task, op);
}

void PostgresTaskStore::createAsync(const NewTask& task, TaskDone done) {
  auto pending = std::make_unique<Pending<WriteOp, TaskDone>>();
  pending->task = task;
  pending->done = std::move(done);
  Status invalid;
  prepareCreate(pending->task, pending->params, pending->op, invalid);
  if (!invalid.isOk()) return pending->done(invalid);
  submitPending(std::move(pending), writer_.get(),
                [this](Pending<WriteOp, TaskDone>& p) { p.done(createOutcome(p.task, p.op)); });
}

Status PostgresTaskStore::readOne(ReadOp& op) {
  if (reader_) {
    reader_->submit(op);
    return op.status;
  }
  Params params;
  params.int8(op.id);
  auto result = std::make_shared<PgResult>();
  if (Status s = runOne(Statement::kGet, params, *result, true); !s.isOk()) return s;
  if (PQntuples(result->get()) > 0) op.row = 0;
  op.rows = std::move(result);
  return Status::ok();
}

Result<Task> PostgresTaskStore::getOutcome(const ReadOp& op) {
  if (!op.status.isOk()) return op.status;
  if (op.row < 0) return notFound(op.id);
  return readTask(op.rows->get(), op.row);
}

Result<Task> PostgresTaskStore::get(std::int64_t id) {
  if (!ready_) return notReady();
  ReadOp op;
  op.id = id;
  op.status = readOne(op);
  return getOutcome(op);
}

void PostgresTaskStore::getAsync(std::int64_t id, TaskDone done) {
  auto pending = std::make_unique<Pending<ReadOp, TaskDone>>();
  pending->op.id = id;
  pending->done = std::move(done);
  submitPending(std::move(pending), reader_.get(),
                [this](Pending<ReadOp, TaskDone>& p) { p.done(getOutcome(p.op)); });
}

namespace {

// The list page `query` asks for, as the list batcher's key, and how many rows it shows.
Status listKeyOf(const TaskQuery& query, ListKey& key, std::size_t& limit) {
  limit = std::min(query.limit, kMaxListLimit);
  key.statement = !query.done   ? Statement::kList
                  : *query.done ? Statement::kListDone
                                : Statement::kListOpen;
  key.before_id = query.before_id > 0 ? query.before_id : std::numeric_limits<std::int64_t>::max();
  key.due_before = query.due_before;
  key.due_after = query.due_after;
  key.row_limit = static_cast<std::int64_t>(limit) + 1;  // one more tells whether a page follows
  for (const auto* date : {&key.due_before, &key.due_after}) {
    Params check;
    if (date->has_value() && !check.date(**date)) {
      return Status::invalid("'" + **date + "' is not a YYYY-MM-DD calendar date");
    }
  }
  return Status::ok();
}

// Lends the first `limit` rows of a page's result to `sink`; has_more when there are more.
Result<bool> lendRows(const PgResult& rows, std::size_t limit, TaskRowSink& sink) {
  const PGresult* result = rows.get();
  const int count = PQntuples(result);
  TaskView view;
  std::string date;
  for (int row = 0; row < count && static_cast<std::size_t>(row) < limit; ++row) {
    if (Status s = readTaskView(result, row, view, date); !s.isOk()) return s;
    sink.onRow(view);
  }
  return static_cast<std::size_t>(count) > limit;
}

}  // namespace

Result<bool> PostgresTaskStore::listRows(const TaskQuery& query, TaskRowSink& sink) {
  ListKey key;
  std::size_t limit = 0;
  if (Status s = listKeyOf(query, key, limit); !s.isOk()) return s;
  std::shared_ptr<const PgResult> rows;
  if (lister_) {
    if (!ready_) return notReady();
    ListOp op;
    op.key = &key;
    lister_->submit(op);
    if (!op.status.isOk()) return op.status;
    rows = std::move(op.rows);
  } else {
    Params params;
    key.bind(params);
    PgResult result;
    if (Status s = runOne(key.statement, params, result, true); !s.isOk()) return s;
    rows = std::make_shared<const PgResult>(std::move(result));
  }
  return lendRows(*rows, limit, sink);
}

void PostgresTaskStore::listRowsAsync(const TaskQuery& query, TaskRowSink& sink, ListDone done) {
  struct PendingList {
    ListKey key;
    std::size_t limit = 0;
    ListOp op;
    TaskRowSink* sink = nullptr;
    ListDone done;
  };
  auto pending = std::make_unique<PendingList>();
  if (Status s = listKeyOf(query, pending->key, pending->limit); !s.isOk()) return done(s);
  if (!ready_) return done(notReady());
  if (!lister_) return done(listRows(query, sink));
  pending->op.key = &pending->key;
  pending->sink = &sink;
  pending->done = std::move(done);
  PendingList* raw = pending.release();
  raw->op.completion.then = [this, raw] {
    std::unique_ptr<PendingList> owned(raw);
    finishOnBatchThread([&] {
      owned->done(owned->op.status.isOk() ? lendRows(*owned->op.rows, owned->limit, *owned->sink)
                                          : Result<bool>(owned->op.status));
    });
  };
  lister_->submitAsync(raw->op);
}

Result<TaskPage> PostgresTaskStore::list(const TaskQuery& query) {
  TaskPageCollector collector;
  Result<bool> has_more = listRows(query, collector);
  if (!has_more.isOk()) return has_more.status();
  collector.page.has_more = *has_more;
  return std::move(collector.page);
}

void PostgresTaskStore::prepareUpdate(std::int64_t id, const TaskPatch& patch, Params& params,
                                      WriteOp& op, Status& invalid) const {
  params.int8(id);
  for (const auto* text : {&patch.title, &patch.content}) {
    if (text->has_value()) {
      params.text(**text);
    } else {
      params.null();
    }
  }
  if (!patch.due_date) {
    params.null();
  } else if (!params.date(*patch.due_date)) {
    invalid =
        Status::invalid("due_date '" + *patch.due_date + "' is not a YYYY-MM-DD calendar date");
    return;
  }
  if (patch.done) {
    params.boolean(*patch.done);
  } else {
    params.null();
  }
  params.timestamp(patch.request_at);
  retentionParam(params);
  op.calls[0] = {Statement::kUpdate, &params};
  op.metric = Statement::kUpdate;
  op.order_key = id;
}

Result<Task> PostgresTaskStore::updateOutcome(std::int64_t id, Timestamp request_at,
                                              const WriteOp& op) {
  if (!op.status.isOk()) return op.status;
  const PGresult* result = op.results[0].get();
  if (PQntuples(result) == 0) return notFound(id);
  const std::int64_t outcome = readInt(result, 0, kTaskColumns);
  if (outcome == kOutcomeWritten) return readTask(result, 0);
  if (outcome == kOutcomeNotFound) return notFound(id);
  metrics_.countFailure(FailureKind::kConflict);
  return outcome == kOutcomeTooOld ? tooOld(request_at) : stale(id);
}

Result<Task> PostgresTaskStore::update(std::int64_t id, const TaskPatch& patch) {
  Params params;
  WriteOp op;
  Status invalid;
  prepareUpdate(id, patch, params, op, invalid);
  if (!invalid.isOk()) return invalid;
  write(op);
  return updateOutcome(id, patch.request_at, op);
}

void PostgresTaskStore::updateAsync(std::int64_t id, const TaskPatch& patch, TaskDone done) {
  auto pending = std::make_unique<Pending<WriteOp, TaskDone>>();
  pending->patch = patch;
  pending->done = std::move(done);
  Status invalid;
  prepareUpdate(id, pending->patch, pending->params[0], pending->op, invalid);
  if (!invalid.isOk()) return pending->done(invalid);
  submitPending(std::move(pending), writer_.get(), [this, id](Pending<WriteOp, TaskDone>& p) {
    p.done(updateOutcome(id, p.patch.request_at, p.op));
  });
}

void PostgresTaskStore::prepareRemove(std::int64_t id, Timestamp request_at, Params& params,
                                      WriteOp& op) const {
  params.int8(id);
  params.timestamp(request_at);
  retentionParam(params);
  op.calls[0] = {Statement::kRemove, &params};
  op.metric = Statement::kRemove;
  op.order_key = id;
}

Status PostgresTaskStore::removeOutcome(std::int64_t id, Timestamp request_at, const WriteOp& op) {
  if (!op.status.isOk()) return op.status;
  const PGresult* result = op.results[0].get();
  if (PQntuples(result) == 0) return notFound(id);
  const std::int64_t outcome = readInt(result, 0, 0);
  if (outcome == kOutcomeWritten) return Status::ok();
  if (outcome == kOutcomeNotFound) return notFound(id);
  metrics_.countFailure(FailureKind::kConflict);
  return outcome == kOutcomeTooOld ? tooOld(request_at) : stale(id);
}

Status PostgresTaskStore::remove(std::int64_t id, Timestamp request_at) {
  Params params;
  WriteOp op;
  prepareRemove(id, request_at, params, op);
  write(op);
  return removeOutcome(id, request_at, op);
}

void PostgresTaskStore::removeAsync(std::int64_t id, Timestamp request_at, StatusDone done) {
  auto pending = std::make_unique<Pending<WriteOp, StatusDone>>();
  pending->done = std::move(done);
  prepareRemove(id, request_at, pending->params[0], pending->op);
  submitPending(std::move(pending), writer_.get(),
                [this, id, request_at](Pending<WriteOp, StatusDone>& p) {
                  p.done(removeOutcome(id, request_at, p.op));
                });
}

void PostgresTaskStore::retentionParam(Params& params) const {
  if (config_.tombstone_retention.count() > 0) {
    params.int8(
        std::chrono::duration_cast<std::chrono::microseconds>(config_.tombstone_retention).count());
  } else {
    params.null();
  }
}

Status PostgresTaskStore::tooOld(Timestamp request_at) const {
  return Status::conflict(std::string(kRetentionConflictPrefix) + "request_timestamp " +
                          formatTimestamp(request_at) + " is more than " +
                          durationText(config_.tombstone_retention) +
                          " old; writes that old are refused, so that a task deleted that long "
                          "ago cannot come back");
}

Result<std::int64_t> PostgresTaskStore::purgeTombstones() {
  if (config_.tombstone_retention.count() <= 0) return std::int64_t{0};
  Params params;
  params.int8(std::chrono::duration_cast<std::chrono::microseconds>(config_.tombstone_retention +
                                                                    kPurgeMargin)
                  .count());
  params.int8(kPurgeBatch);
  PgResult result;
  if (Status s = runOne(Statement::kPurge, params, result, /*idempotent=*/true); !s.isOk()) {
    return s;
  }
  const std::int64_t purged = readInt(result.get(), 0, 0);
  if (purged > 0) metrics_.countPurged(purged);
  return purged;
}

// A cached count, refreshed at most every counts_max_age by one caller (others wait for it):
// the count is a scan, and it only feeds a gauge.
Result<TaskCounts> PostgresTaskStore::counts() {
  std::lock_guard lock(counts_mutex_);
  const auto now = SteadyClock::now();
  if (counts_ && now - counts_at_ < config_.counts_max_age) return *counts_;
  Params none;
  PgResult result;
  if (Status s = runOne(Statement::kCounts, none, result, true); !s.isOk()) return s;
  TaskCounts counts;
  counts.done = readInt(result.get(), 0, 0);
  counts.open = readInt(result.get(), 0, 1);
  counts_ = counts;
  counts_at_ = now;
  return counts;
}

}  // namespace appliance::plugins::storage_postgres
