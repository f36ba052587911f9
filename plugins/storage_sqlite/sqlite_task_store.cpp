#include "sqlite_task_store.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <filesystem>
#include <limits>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include "appliance/time.h"
#include "sqlite_migrations.h"

namespace appliance::plugins::storage_sqlite {
namespace {

constexpr std::chrono::milliseconds kMinReaderWait{1000};
// SQLite's own automatic checkpoint threshold (frames), kept for the PASSIVE checkpoints that
// spread the copying between RESTARTs.
constexpr int kPassiveCheckpointFrames = 1000;
// journal_size_limit when no bound is configured.
constexpr std::int64_t kDefaultJournalSizeLimit = std::int64_t{64} << 20;
constexpr std::int64_t kWalHeaderBytes = 32;
constexpr std::int64_t kWalFrameHeaderBytes = 24;

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// A retention in the config's own notation ("720h", "90s", "1500ms").
std::string durationText(std::chrono::microseconds value) {
  constexpr std::pair<std::int64_t, const char*> kUnits[] = {
      {3'600'000'000, "h"}, {60'000'000, "m"}, {1'000'000, "s"}, {1'000, "ms"}};
  for (const auto& [micros, unit] : kUnits) {
    if (value.count() % micros == 0) return std::to_string(value.count() / micros) + unit;
  }
  return std::to_string(value.count()) + "us";
}

Status notOpen() {
  return Status::unavailable(
      "SQLite task store is not open (storage_sqlite not started or stopped)");
}

std::string taskRef(std::int64_t id) { return "task " + std::to_string(id); }

// No exception may leave a TaskStore call (it would cross into another plugin); the only ones
// possible here are allocation failures.
template <class Body>
auto withoutExceptions(std::string_view what, Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const std::exception& e) {
    return Status::internal(std::string(what) + ": " + e.what());
  }
}

// The current row as views into SQLite's own buffers: valid until the next step or reset.
TaskView viewRow(sqlite3_stmt* stmt) {
  TaskView row;
  row.id = sqlite3_column_int64(stmt, 0);
  row.title = columnView(stmt, 1);
  row.content = columnView(stmt, 2);
  row.due_date = columnView(stmt, 3);
  row.done = sqlite3_column_int(stmt, 4) != 0;
  row.created_at = sqlite3_column_int64(stmt, 5);
  row.updated_at = sqlite3_column_int64(stmt, 6);
  row.last_request_at = sqlite3_column_int64(stmt, 7);
  return row;
}

Task readTask(sqlite3_stmt* stmt) { return taskOf(viewRow(stmt)); }

// Runs a statement that returns no rows (BEGIN, COMMIT, ROLLBACK).
Status runOnce(Connection& db, Sql id, std::string_view what) {
  Result<sqlite3_stmt*> stmt = db.statement(id);
  if (!stmt.isOk()) return stmt.status();
  StatementScope scope(*stmt);
  int rc = sqlite3_step(*stmt);
  return rc == SQLITE_DONE ? Status::ok() : db.error(rc, what);
}

const char* synchronousPragma(Synchronous mode) {
  switch (mode) {
    case Synchronous::kOff:
      return "PRAGMA synchronous = OFF";
    case Synchronous::kNormal:
      return "PRAGMA synchronous = NORMAL";
    case Synchronous::kFull:
      return "PRAGMA synchronous = FULL";
    case Synchronous::kExtra:
      return "PRAGMA synchronous = EXTRA";
  }
  return "PRAGMA synchronous = FULL";
}

// A negative cache_size is in KiB rather than pages.
std::string cacheSizePragma(std::int64_t kib) {
  return "PRAGMA cache_size = -" + std::to_string(kib);
}

Status enableWal(Connection& db, const std::string& path) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db.handle(), "PRAGMA journal_mode = WAL", -1, &stmt, nullptr);
  if (rc != SQLITE_OK) return db.error(rc, "setting journal_mode=WAL on '" + path + "'");
  rc = sqlite3_step(stmt);
  std::string mode = rc == SQLITE_ROW ? columnText(stmt, 0) : std::string();
  sqlite3_finalize(stmt);
  if (rc != SQLITE_ROW) return db.error(rc, "setting journal_mode=WAL on '" + path + "'");
  if (mode != "wal") {
    return Status::unavailable("cannot use WAL mode on '" + path +
                               "' (SQLite kept journal_mode=" + mode +
                               "); put the file on a local file system that supports shared "
                               "memory (not a network share)");
  }
  return Status::ok();
}

std::int64_t pageSize(Connection& db) {
  sqlite3_stmt* stmt = nullptr;
  std::int64_t size = 4096;
  if (sqlite3_prepare_v2(db.handle(), "PRAGMA page_size", -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    size = sqlite3_column_int64(stmt, 0);
  }
  sqlite3_finalize(stmt);
  return size;
}

Status createFolder(const std::string& path) {
  std::filesystem::path folder = std::filesystem::path(path).parent_path();
  if (folder.empty()) return Status::ok();
  std::error_code ec;
  std::filesystem::create_directories(folder, ec);
  if (ec) {
    return Status::unavailable("cannot create folder '" + folder.string() +
                               "' for the SQLite database '" + path + "': " + ec.message() +
                               "; set storage_sqlite.path to a writable location");
  }
  return Status::ok();
}

}  // namespace

StoreOptions StoreOptions::from(const SqliteConfig& config, std::string path) {
  StoreOptions options;
  options.path = std::move(path);
  options.busy_timeout = config.busy_timeout;
  options.synchronous = config.synchronous;
  options.readers = config.readers;
  options.cache_kib = config.cache_kib;
  options.tombstone_retention = config.tombstone_retention;
  options.wal_checkpoint_bytes = config.wal_checkpoint_bytes;
  return options;
}

// One write request waiting for (or inside) a group commit. Lives on the caller's stack; the
// caller blocks until `done`, which the leader sets under the queue mutex after the commit.
struct SqliteTaskStore::WriteOp {
  enum class Kind { kCreate, kUpdate, kRemove, kPurge, kCustom };
  WriteOp(Kind k, std::int64_t task_id, Timestamp request)
      : kind(k), id(task_id), request_at(request) {}

  Kind kind;
  const NewTask* new_task = nullptr;
  const TaskPatch* patch = nullptr;
  const std::function<Status(Connection&)>* body = nullptr;  // kCustom
  std::int64_t id = 0;
  Timestamp request_at = 0;
  Task task;                // the outcome of a successful create or update
  std::int64_t purged = 0;  // the outcome of a purge
  Status status;            // the outcome
  bool done = false;
};

// Read-only connections, each lent to one thread at a time, first come, first served: a
// returned connection goes straight to the longest waiter, so a request arriving while others
// wait queues behind them instead of taking the connection as it comes back (which left
// unlucky waiters for many hand-overs: the tail of list latency).
class SqliteTaskStore::ReaderPool {
 public:
  explicit ReaderPool(std::chrono::milliseconds wait) : wait_(wait) {}

  void open(std::vector<std::unique_ptr<Connection>> connections) {
    std::lock_guard lock(mutex_);
    idle_ = std::move(connections);
    closed_ = false;
  }

  Result<std::unique_ptr<Connection>> take() {
    std::unique_lock lock(mutex_);
    if (closed_) return notOpen();
    if (waiters_.empty() && !idle_.empty()) {
      std::unique_ptr<Connection> connection = std::move(idle_.back());
      idle_.pop_back();
      return connection;
    }
    Waiter me;
    waiters_.push_back(&me);
    if (!me.cv.wait_for(lock, wait_, [&me] { return me.connection || me.closed; })) {
      waiters_.erase(std::find(waiters_.begin(), waiters_.end(), &me));
      return Status::timeout("all SQLite read connections stayed busy for " +
                             std::to_string(wait_.count()) +
                             "ms; raise storage_sqlite.readers if this persists");
    }
    if (me.closed) return notOpen();
    return std::move(me.connection);
  }

  void give(std::unique_ptr<Connection> connection) {
    std::lock_guard lock(mutex_);
    if (closed_) return;  // closed meanwhile: the connection closes here
    if (waiters_.empty()) {
      idle_.push_back(std::move(connection));
      return;
    }
    Waiter* next = waiters_.front();
    waiters_.pop_front();
    next->connection = std::move(connection);
    next->cv.notify_one();
  }

  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    idle_.clear();
    for (Waiter* waiter : waiters_) {
      waiter->closed = true;
      waiter->cv.notify_one();
    }
    waiters_.clear();
  }

 private:
  struct Waiter {
    std::condition_variable cv;
    std::unique_ptr<Connection> connection;
    bool closed = false;
  };

  const std::chrono::milliseconds wait_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::deque<Waiter*> waiters_;  // oldest first; each lives on its taker's stack
  bool closed_ = true;
};

// A read connection borrowed from the pool for one call.
class SqliteTaskStore::ReadLease {
 public:
  ReadLease(ReaderPool* pool, std::unique_ptr<Connection> connection)
      : pool_(pool), connection_(std::move(connection)) {}
  ReadLease(ReadLease&& other) noexcept = default;
  ReadLease& operator=(ReadLease&&) = delete;
  ~ReadLease() {
    if (connection_) pool_->give(std::move(connection_));
  }
  Connection& connection() { return *connection_; }

 private:
  ReaderPool* pool_;
  std::unique_ptr<Connection> connection_;
};

SqliteTaskStore::SqliteTaskStore(StoreOptions options, const Clock* clock,
                                 prometheus::Registry* registry, const Logger* logger)
    : options_(std::move(options)),
      clock_(clock),
      logger_(logger),
      metrics_(registry != nullptr ? std::make_unique<SqliteMetrics>(*registry) : nullptr),
      readers_(std::make_unique<ReaderPool>(std::max(options_.busy_timeout, kMinReaderWait))) {
  queue_.reserve(options_.max_batch * 2);
  batch_.reserve(options_.max_batch);
}

SqliteTaskStore::~SqliteTaskStore() { close(); }

Timestamp SqliteTaskStore::now() const {
  auto tp = clock_ != nullptr ? clock_->now() : std::chrono::system_clock::now();
  return std::chrono::duration_cast<std::chrono::microseconds>(tp.time_since_epoch()).count();
}

bool SqliteTaskStore::isOpen() const {
  std::lock_guard lock(queue_mutex_);
  return open_;
}

Status SqliteTaskStore::openWriter() {
  const std::string& path = options_.path;
  Status status = createFolder(path);
  if (!status.isOk()) return status;
  auto writer = Connection::open(path, Connection::Mode::kReadWrite, options_.busy_timeout);
  if (!writer.isOk()) return writer.status();
  Connection& db = *writer.value();
  if (sqlite3_db_readonly(db.handle(), "main") == 1) {
    return Status::unavailable("SQLite database '" + path +
                               "' is not writable (read-only file or folder); fix its "
                               "permissions or set storage_sqlite.path elsewhere");
  }
  status = enableWal(db, path);
  if (status.isOk())
    status = db.exec(synchronousPragma(options_.synchronous), "setting synchronous");
  if (status.isOk()) status = db.exec(cacheSizePragma(options_.cache_kib), "setting cache_size");
  // Keeps the WAL file from staying large after a burst: when the log restarts, the file is
  // truncated to this size.
  const std::int64_t size_limit =
      options_.wal_checkpoint_bytes > 0 ? options_.wal_checkpoint_bytes : kDefaultJournalSizeLimit;
  if (status.isOk()) {
    status = db.exec("PRAGMA journal_size_limit = " + std::to_string(size_limit),
                     "setting the WAL limit");
  }
  if (!status.isOk()) return status;
  Result<int> applied = applyMigrations(db, now());
  if (!applied.isOk()) {
    return Status(applied.status().code(),
                  "migrating '" + path + "': " + applied.status().message());
  }
  // The hook replaces SQLite's automatic checkpoints; maintainWal() runs them instead.
  if (options_.wal_checkpoint_bytes > 0) {
    const std::int64_t frame_bytes = kWalFrameHeaderBytes + pageSize(db);
    bound_frames_ =
        std::max<std::int64_t>(1, (options_.wal_checkpoint_bytes - kWalHeaderBytes) / frame_bytes);
    restart_frames_ = bound_frames_;
    wal_frames_ = last_wal_frames_ = passive_checkpoint_frames_ = 0;
    sqlite3_wal_hook(db.handle(), &SqliteTaskStore::onWalCommit, this);
  }
  std::lock_guard lock(queue_mutex_);
  writer_ = std::move(writer).value();
  return Status::ok();
}

Status SqliteTaskStore::open() {
  if (isOpen()) return Status::ok();
  Status status = openWriter();
  if (!status.isOk()) return status;
  std::vector<std::unique_ptr<Connection>> readers;
  readers.reserve(static_cast<std::size_t>(options_.readers));
  for (int i = 0; i < options_.readers; ++i) {
    auto reader =
        Connection::open(options_.path, Connection::Mode::kReadOnly, options_.busy_timeout);
    if (!reader.isOk()) {
      std::lock_guard lock(queue_mutex_);
      writer_.reset();
      return reader.status();
    }
    Status cache = reader.value()->exec(cacheSizePragma(options_.cache_kib), "setting cache_size");
    if (!cache.isOk()) {
      std::lock_guard lock(queue_mutex_);
      writer_.reset();
      return cache;
    }
    readers.push_back(std::move(reader).value());
  }
  readers_->open(std::move(readers));
  std::lock_guard lock(queue_mutex_);
  open_ = true;
  return Status::ok();
}

void SqliteTaskStore::close() {
  readers_->close();
  std::unique_lock lock(queue_mutex_);
  open_ = false;
  queue_cv_.wait(lock, [this] { return !leader_busy_; });
  for (WriteOp* op : queue_) {
    op->status = notOpen();
    op->done = true;
  }
  queue_.clear();
  queue_cv_.notify_all();
  writer_.reset();  // the last connection to close checkpoints the WAL into the database
}

// ---- writes -------------------------------------------------------------------------------

Status SqliteTaskStore::submit(WriteOp& op) {
  std::unique_lock lock(queue_mutex_);
  if (!open_) return notOpen();
  try {
    queue_.push_back(&op);
  } catch (const std::exception& e) {
    return Status::internal(std::string("queueing a write: ") + e.what());
  }
  while (!op.done) {
    if (!leader_busy_) {
      leadBatch(lock);
    } else {
      queue_cv_.wait(lock);
    }
  }
  return op.status;
}

void SqliteTaskStore::leadBatch(std::unique_lock<std::mutex>& queue_lock) {
  leader_busy_ = true;
  const auto n = static_cast<std::ptrdiff_t>(std::min(queue_.size(), options_.max_batch));
  batch_.assign(queue_.begin(), queue_.begin() + n);
  queue_.erase(queue_.begin(), queue_.begin() + n);
  queue_lock.unlock();
  runBatch();
  queue_lock.lock();
  for (WriteOp* op : batch_) op->done = true;
  batch_.clear();
  queue_cv_.notify_all();  // the batch's callers return now; a checkpoint delays the next batch
  if (options_.wal_checkpoint_bytes > 0) {
    queue_lock.unlock();
    maintainWal();
    queue_lock.lock();
  }
  leader_busy_ = false;
  queue_cv_.notify_all();
}

int SqliteTaskStore::onWalCommit(void* self, sqlite3* /*db*/, const char* /*schema*/, int frames) {
  static_cast<SqliteTaskStore*>(self)->wal_frames_ = frames;
  return SQLITE_OK;
}

// After a batch, on the leader thread. RESTART once the WAL holds more than the bound; in
// between, a PASSIVE checkpoint every kPassiveCheckpointFrames frames of growth (as SQLite's
// automatic checkpoint would) keeps the copying a RESTART has left to do small.
void SqliteTaskStore::maintainWal() {
  if (!writer_ || wal_frames_ <= 0) return;
  if (wal_frames_ < last_wal_frames_) {  // the log started over by itself
    restart_frames_ = bound_frames_;
    passive_checkpoint_frames_ = 0;
  }
  last_wal_frames_ = wal_frames_;
  if (wal_frames_ >= restart_frames_) {
    runCheckpoint(CheckpointMode::kRestart);
  } else if (wal_frames_ - passive_checkpoint_frames_ >= kPassiveCheckpointFrames) {
    runCheckpoint(CheckpointMode::kPassive);
  }
}

// The busy handler while a RESTART waits for readers: a reader holds its snapshot for one
// statement, so poll finely (SQLite's own handler sleeps 1, 2, 5, 10, ... ms, which is what
// the pause would then mostly be) until kCheckpointWait has passed.
int SqliteTaskStore::onCheckpointBusy(void* deadline, int /*attempts*/) {
  const auto& until = *static_cast<const std::chrono::steady_clock::time_point*>(deadline);
  if (std::chrono::steady_clock::now() >= until) return 0;
  std::this_thread::sleep_for(std::chrono::microseconds(50));
  return 1;
}

void SqliteTaskStore::runCheckpoint(CheckpointMode mode) {
  sqlite3* db = writer_->handle();
  const bool restart = mode == CheckpointMode::kRestart;
  const auto start = std::chrono::steady_clock::now();
  auto deadline = start + kCheckpointWait;
  // RESTART waits for readers through the busy handler: bounded, since writes wait too.
  if (restart) sqlite3_busy_handler(db, &SqliteTaskStore::onCheckpointBusy, &deadline);
  int log_frames = 0;
  int copied_frames = 0;
  const int rc = sqlite3_wal_checkpoint_v2(
      db, nullptr, restart ? SQLITE_CHECKPOINT_RESTART : SQLITE_CHECKPOINT_PASSIVE, &log_frames,
      &copied_frames);
  const double seconds = secondsSince(start);
  if (restart) sqlite3_busy_timeout(db, static_cast<int>(options_.busy_timeout.count()));
  const int primary = rc & 0xff;
  const CheckpointResult result = rc == SQLITE_OK ? CheckpointResult::kOk
                                  : primary == SQLITE_BUSY || primary == SQLITE_LOCKED
                                      ? CheckpointResult::kBusy
                                      : CheckpointResult::kError;
  if (result == CheckpointResult::kOk && restart) {
    wal_frames_ = last_wal_frames_ = 0;  // the next write starts the log over
    passive_checkpoint_frames_ = 0;
    restart_frames_ = bound_frames_;
  } else if (restart) {
    // A reader kept its snapshot past the wait: try again after more growth, not after every
    // commit, so a long reader cannot make every write wait kCheckpointWait.
    restart_frames_ = wal_frames_ + std::max<std::int64_t>(1, bound_frames_ / 2);
  } else {
    passive_checkpoint_frames_ = wal_frames_;
  }
  if (metrics_) metrics_->observeCheckpoint(mode, result, seconds);
  if (logger_ != nullptr && logger_->enabled(LogLevel::kDebug)) {
    logger_->debug("SQLite WAL checkpoint",
                   {{"mode", restart ? "restart" : "passive"},
                    {"result", result == CheckpointResult::kOk     ? "ok"
                               : result == CheckpointResult::kBusy ? "busy"
                                                                   : "error"},
                    {"duration_us", static_cast<std::int64_t>(seconds * 1e6)},
                    {"wal_frames", log_frames},
                    {"next_restart_frames", restart_frames_},
                    {"copied_frames", copied_frames},
                    {"error", rc == SQLITE_OK ? "" : sqlite3_errstr(rc)}});
  }
  if (restart) (void)walFileBytes();
}

std::int64_t SqliteTaskStore::walFileBytes() const {
  std::error_code ec;
  const auto size = std::filesystem::file_size(options_.path + "-wal", ec);
  const std::int64_t bytes = ec ? 0 : static_cast<std::int64_t>(size);
  if (metrics_) metrics_->setWalBytes(bytes);
  return bytes;
}

void SqliteTaskStore::runBatch() noexcept {
  auto failAll = [this](const Status& status) {
    for (WriteOp* op : batch_) op->status = status;
  };
  try {
    Connection& db = *writer_;
    // A rollback that failed earlier must not wedge every later batch.
    if (db.inTransaction()) (void)runOnce(db, Sql::kRollback, "rolling back a stale transaction");
    Status status = runOnce(db, Sql::kBegin, "starting a write transaction");
    if (!status.isOk()) return failAll(status);
    for (WriteOp* op : batch_) {
      apply(*op);
      // An I/O error, a full disk or an interrupt may make SQLite roll the whole transaction
      // back: then no outcome of this batch holds, not even a 404 or 409 decided on its state.
      if (!db.inTransaction()) {
        return failAll(
            Status::unavailable("write transaction rolled back: " + op->status.message()));
      }
    }
    status = runOnce(db, Sql::kCommit, "committing a write transaction");
    if (!status.isOk()) {
      if (db.inTransaction()) (void)runOnce(db, Sql::kRollback, "rolling back");
      failAll(status);
    }
  } catch (const std::exception& e) {
    if (writer_ && writer_->inTransaction())
      (void)runOnce(*writer_, Sql::kRollback, "rolling back");
    failAll(Status::internal(std::string("write batch failed: ") + e.what()));
  }
}

void SqliteTaskStore::apply(WriteOp& op) {
  if (op.kind != WriteOp::Kind::kPurge && op.kind != WriteOp::Kind::kCustom) {
    // Decided here, in the writer transaction, so that no purge can come between the check
    // and the write.
    op.status = retentionRefusal(op.request_at, now());
    if (!op.status.isOk()) return;
  }
  switch (op.kind) {
    case WriteOp::Kind::kCreate:
      op.status = applyCreate(op);
      break;
    case WriteOp::Kind::kUpdate:
      op.status = applyUpdate(op);
      break;
    case WriteOp::Kind::kRemove:
      op.status = applyRemove(op);
      break;
    case WriteOp::Kind::kPurge:
      op.status = applyPurge(op);
      break;
    case WriteOp::Kind::kCustom:
      op.status = applyCustom(op);
      break;
  }
}

Status SqliteTaskStore::applyCustom(WriteOp& op) {
  Connection& db = *writer_;
  Status status = runOnce(db, Sql::kKvSavepoint, "starting a savepoint");
  if (!status.isOk()) return status;
  try {
    status = (*op.body)(db);
  } catch (const std::exception& e) {
    status = Status::internal(std::string("kv write failed: ") + e.what());
  }
  if (!db.inTransaction()) return status;  // SQLite rolled everything back (runBatch reports it)
  if (!status.isOk()) {
    Status undone = runOnce(db, Sql::kKvRollbackTo, "rolling back a savepoint");
    if (!undone.isOk()) return undone;
  }
  Status released = runOnce(db, Sql::kKvRelease, "releasing a savepoint");
  return status.isOk() ? released : status;
}

Status SqliteTaskStore::retentionRefusal(Timestamp request_at, Timestamp now) const {
  const std::int64_t retention = options_.tombstone_retention.count();
  if (retention <= 0 || request_at >= now - retention) return Status::ok();
  return Status::conflict(
      std::string(kRetentionConflictPrefix) + "request_timestamp " + formatTimestamp(request_at) +
      " is more than " + durationText(options_.tombstone_retention) +
      " old; writes with a request_timestamp before " + formatTimestamp(now - retention) +
      " are refused, so that a task deleted that long ago cannot come back");
}

Status SqliteTaskStore::applyPurge(WriteOp& op) {
  Connection& db = *writer_;
  Result<sqlite3_stmt*> purge = db.statement(Sql::kPurgeTombstones);
  if (!purge.isOk()) return purge.status();
  StatementScope scope(*purge);
  const auto margin = std::chrono::duration_cast<std::chrono::microseconds>(kPurgeMargin);
  sqlite3_bind_int64(*purge, 1, now() - options_.tombstone_retention.count() - margin.count());
  sqlite3_bind_int64(*purge, 2, options_.purge_batch);
  int rc = sqlite3_step(*purge);
  if (rc != SQLITE_DONE) return db.error(rc, "purging tombstones");
  op.purged = sqlite3_changes(db.handle());
  return Status::ok();
}

Status SqliteTaskStore::applyCreate(WriteOp& op) {
  Connection& db = *writer_;
  const NewTask& in = *op.new_task;
  {
    Result<sqlite3_stmt*> replay = db.statement(Sql::kFindReplay);
    if (!replay.isOk()) return replay.status();
    StatementScope scope(*replay);
    bindText(*replay, 1, in.title);
    sqlite3_bind_int64(*replay, 2, in.request_at);
    int rc = sqlite3_step(*replay);
    if (rc == SQLITE_ROW) {
      return Status::conflict(
          "replayed create: a task with this title already has a request timestamp at or after "
          "this one");
    }
    if (rc != SQLITE_DONE) return db.error(rc, "checking for a replayed create");
  }
  Result<sqlite3_stmt*> insert = db.statement(Sql::kInsertTask);
  if (!insert.isOk()) return insert.status();
  StatementScope scope(*insert);
  const Timestamp created = now();
  bindText(*insert, 1, in.title);
  bindText(*insert, 2, in.content);
  bindText(*insert, 3, in.due_date);
  sqlite3_bind_int64(*insert, 4, created);
  sqlite3_bind_int64(*insert, 5, in.request_at);
  int rc = sqlite3_step(*insert);
  if (rc != SQLITE_ROW) return db.error(rc, "inserting a task");
  op.task.id = sqlite3_column_int64(*insert, 0);
  rc = sqlite3_step(*insert);
  if (rc != SQLITE_DONE) return db.error(rc, "inserting a task");
  op.task.title = in.title;
  op.task.content = in.content;
  op.task.due_date = in.due_date;
  op.task.done = false;
  op.task.created_at = created;
  op.task.updated_at = created;
  op.task.last_request_at = in.request_at;
  return Status::ok();
}

Status SqliteTaskStore::applyUpdate(WriteOp& op) {
  Connection& db = *writer_;
  const TaskPatch& patch = *op.patch;
  Result<sqlite3_stmt*> update = db.statement(Sql::kUpdateTask);
  if (!update.isOk()) return update.status();
  {
    StatementScope scope(*update);
    sqlite3_stmt* stmt = *update;
    bindOptionalText(stmt, 1, patch.title ? &*patch.title : nullptr);
    bindOptionalText(stmt, 2, patch.content ? &*patch.content : nullptr);
    bindOptionalText(stmt, 3, patch.due_date ? &*patch.due_date : nullptr);
    if (patch.done) {
      sqlite3_bind_int(stmt, 4, *patch.done ? 1 : 0);
    } else {
      sqlite3_bind_null(stmt, 4);
    }
    sqlite3_bind_int64(stmt, 5, now());
    sqlite3_bind_int64(stmt, 6, patch.request_at);
    sqlite3_bind_int64(stmt, 7, op.id);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
      op.task = readTask(stmt);
      rc = sqlite3_step(stmt);
      return rc == SQLITE_DONE ? Status::ok() : db.error(rc, "updating " + taskRef(op.id));
    }
    if (rc != SQLITE_DONE) return db.error(rc, "updating " + taskRef(op.id));
  }
  return whyUnchanged(op.id, patch.request_at);
}

Status SqliteTaskStore::applyRemove(WriteOp& op) {
  Connection& db = *writer_;
  Result<sqlite3_stmt*> remove = db.statement(Sql::kDeleteTask);
  if (!remove.isOk()) return remove.status();
  {
    StatementScope scope(*remove);
    sqlite3_bind_int64(*remove, 1, now());
    sqlite3_bind_int64(*remove, 2, op.request_at);
    sqlite3_bind_int64(*remove, 3, op.id);
    int rc = sqlite3_step(*remove);
    if (rc != SQLITE_DONE) return db.error(rc, "deleting " + taskRef(op.id));
    if (sqlite3_changes(db.handle()) == 1) return Status::ok();
  }
  return whyUnchanged(op.id, op.request_at);
}

// A conditional write matched no row: tell 404 from 409 in the same transaction.
Status SqliteTaskStore::whyUnchanged(std::int64_t id, Timestamp request_at) {
  Connection& db = *writer_;
  Result<sqlite3_stmt*> state = db.statement(Sql::kTaskState);
  if (!state.isOk()) return state.status();
  StatementScope scope(*state);
  sqlite3_bind_int64(*state, 1, id);
  int rc = sqlite3_step(*state);
  if (rc == SQLITE_DONE) return Status::notFound(taskRef(id) + " not found");
  if (rc != SQLITE_ROW) return db.error(rc, "reading the state of " + taskRef(id));
  const Timestamp last_request_at = sqlite3_column_int64(*state, 0);
  const bool deleted = sqlite3_column_int(*state, 1) != 0;
  if (request_at <= last_request_at) {
    return Status::conflict("stale request: " + taskRef(id) +
                            " already accepted a request with a timestamp at or after this one");
  }
  if (deleted) return Status::notFound(taskRef(id) + " not found (deleted)");
  return Status::internal("conditional write on " + taskRef(id) + " matched no row unexpectedly");
}

Result<Task> SqliteTaskStore::create(const NewTask& task) {
  WriteOp op(WriteOp::Kind::kCreate, 0, task.request_at);
  op.new_task = &task;
  Status status = submit(op);
  if (!status.isOk()) return status;
  return std::move(op.task);
}

Result<Task> SqliteTaskStore::update(std::int64_t id, const TaskPatch& patch) {
  WriteOp op(WriteOp::Kind::kUpdate, id, patch.request_at);
  op.patch = &patch;
  Status status = submit(op);
  if (!status.isOk()) return status;
  return std::move(op.task);
}

Status SqliteTaskStore::remove(std::int64_t id, Timestamp request_at) {
  WriteOp op(WriteOp::Kind::kRemove, id, request_at);
  return submit(op);
}

Result<std::int64_t> SqliteTaskStore::purgeTombstones() {
  if (options_.tombstone_retention.count() <= 0) return std::int64_t{0};
  WriteOp op(WriteOp::Kind::kPurge, 0, 0);
  Status status = submit(op);
  if (!status.isOk()) return status;
  if (metrics_ && op.purged > 0) metrics_->countPurged(op.purged);
  return op.purged;
}

Status SqliteTaskStore::runWrite(const std::function<Status(Connection&)>& body) {
  WriteOp op(WriteOp::Kind::kCustom, 0, 0);
  op.body = &body;
  return submit(op);
}

// ---- reads --------------------------------------------------------------------------------

Status SqliteTaskStore::runRead(const std::function<Status(Connection&)>& body) {
  return withoutExceptions("reading the kv store", [&]() -> Status {
    Result<ReadLease> lease = acquireReader();
    if (!lease.isOk()) return lease.status();
    return body(lease.value().connection());
  });
}

Result<SqliteTaskStore::ReadLease> SqliteTaskStore::acquireReader() {
  Result<std::unique_ptr<Connection>> connection = readers_->take();
  if (!connection.isOk()) return connection.status();
  return ReadLease(readers_.get(), std::move(connection).value());
}

Result<Task> SqliteTaskStore::get(std::int64_t id) {
  return withoutExceptions("reading a task", [&]() -> Result<Task> {
    Result<ReadLease> lease = acquireReader();
    if (!lease.isOk()) return lease.status();
    Connection& db = lease.value().connection();
    Result<sqlite3_stmt*> stmt = db.statement(Sql::kGetTask);
    if (!stmt.isOk()) return stmt.status();
    StatementScope scope(*stmt);
    sqlite3_bind_int64(*stmt, 1, id);
    int rc = sqlite3_step(*stmt);
    if (rc == SQLITE_ROW) return readTask(*stmt);
    if (rc == SQLITE_DONE) return Status::notFound(taskRef(id) + " not found");
    return db.error(rc, "reading " + taskRef(id));
  });
}

Result<bool> SqliteTaskStore::listRows(const TaskQuery& query, TaskRowSink& sink) {
  return withoutExceptions("listing tasks", [&]() -> Result<bool> {
    Result<ReadLease> lease = acquireReader();
    if (!lease.isOk()) return lease.status();
    Connection& db = lease.value().connection();
    Result<sqlite3_stmt*> stmt = db.statement(query.done ? Sql::kListByDone : Sql::kListAll);
    if (!stmt.isOk()) return stmt.status();
    StatementScope scope(*stmt);
    constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
    const std::int64_t limit = static_cast<std::int64_t>(
        std::min<std::size_t>(query.limit, static_cast<std::size_t>(kMax - 1)));
    sqlite3_bind_int64(*stmt, 1, query.before_id > 0 ? query.before_id : kMax);
    bindOptionalText(*stmt, 2, query.due_before ? &*query.due_before : nullptr);
    bindOptionalText(*stmt, 3, query.due_after ? &*query.due_after : nullptr);
    sqlite3_bind_int64(*stmt, 4, limit + 1);  // one more row tells whether another page exists
    if (query.done) sqlite3_bind_int(*stmt, 5, *query.done ? 1 : 0);
    // Rows go to the sink as they are stepped, straight from SQLite's buffers; the reader
    // connection (a snapshot of its own) is held until the last one is written.
    std::int64_t rows = 0;
    int rc;
    while ((rc = sqlite3_step(*stmt)) == SQLITE_ROW) {
      if (rows == limit) return true;
      sink.onRow(viewRow(*stmt));
      ++rows;
    }
    if (rc != SQLITE_DONE) return db.error(rc, "listing tasks");
    return false;
  });
}

Result<TaskPage> SqliteTaskStore::list(const TaskQuery& query) {
  TaskPageCollector collector;
  Result<bool> has_more = listRows(query, collector);
  if (!has_more.isOk()) return has_more.status();
  collector.page.has_more = *has_more;
  return std::move(collector.page);
}

Result<TaskCounts> SqliteTaskStore::counts() {
  return withoutExceptions("counting tasks", [&]() -> Result<TaskCounts> {
    Result<ReadLease> lease = acquireReader();
    if (!lease.isOk()) return lease.status();
    Connection& db = lease.value().connection();
    Result<sqlite3_stmt*> stmt = db.statement(Sql::kCounts);
    if (!stmt.isOk()) return stmt.status();
    StatementScope scope(*stmt);
    TaskCounts counts;
    int rc;
    while ((rc = sqlite3_step(*stmt)) == SQLITE_ROW) {
      (sqlite3_column_int(*stmt, 0) != 0 ? counts.done : counts.open) =
          sqlite3_column_int64(*stmt, 1);
    }
    if (rc != SQLITE_DONE) return db.error(rc, "counting tasks");
    return counts;
  });
}

Status SqliteTaskStore::ping() {
  return withoutExceptions("checking the database", [&]() -> Status {
    Result<ReadLease> lease = acquireReader();
    if (!lease.isOk()) return lease.status();
    Connection& db = lease.value().connection();
    Result<sqlite3_stmt*> stmt = db.statement(Sql::kPing);
    if (!stmt.isOk()) return stmt.status();
    StatementScope scope(*stmt);
    int rc = sqlite3_step(*stmt);
    return rc == SQLITE_ROW ? Status::ok() : db.error(rc, "checking the database");
  });
}

}  // namespace appliance::plugins::storage_sqlite
