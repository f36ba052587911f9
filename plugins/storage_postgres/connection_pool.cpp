#include "connection_pool.h"

#include <prometheus/gauge.h>

#include <vector>

namespace appliance::plugins::storage_postgres {
namespace {

double secondsSince(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

}  // namespace

ConnectionPool::Lease::~Lease() {
  if (conn_) pool_->release(std::move(conn_));
}

ConnectionPool::ConnectionPool(PoolConfig config, std::chrono::milliseconds connect_timeout,
                               Factory factory, DbMetrics& metrics, const Logger& logger)
    : config_(config),
      connect_timeout_(connect_timeout),
      factory_(std::move(factory)),
      metrics_(metrics),
      logger_(logger) {
  metrics_.max_connections->Set(config_.max);
}

ConnectionPool::~ConnectionPool() { close(); }

Result<ConnectionPool::Lease> ConnectionPool::acquire() {
  const auto start = SteadyClock::now();
  std::unique_lock lock(mutex_);
  if (closed_) return closedError();
  if (waiting_.empty()) {  // nobody queued ahead: an idle connection or a new one
    while (!idle_.empty()) {
      std::unique_ptr<PgConnection> conn = std::move(idle_.back());
      idle_.pop_back();
      if (conn->idleLooksAlive()) {
        ++in_use_;
        publish();
        lock.unlock();
        metrics_.observeAcquire(secondsSince(start));
        return Lease(this, std::move(conn));
      }
      --total_;  // closed by the server (restart, idle timeout): replace it
      publish();
      lock.unlock();
      conn.reset();
      lock.lock();
      if (closed_) return closedError();
      if (!waiting_.empty()) break;  // someone queued meanwhile: stay fair
    }
    if (waiting_.empty() && total_ < config_.max) {
      if (!reachable_) return unreachableError();
      ++total_;
      ++in_use_;
      publish();
      return dialReserved(lock, start);
    }
  }
  // Queue. release() hands connections to the oldest waiter directly, so a caller arriving
  // later can never take a connection from one that waited longer.
  Waiter self;
  waiting_.push_back(&self);
  ++waiters_;
  publish();
  self.wake.wait_until(lock, start + config_.acquire_timeout,
                       [&] { return self.conn || self.may_dial || self.interrupted; });
  if (!self.conn && !self.may_dial && !self.interrupted) {
    std::erase(waiting_, &self);  // timed out, still queued
  }
  --waiters_;
  publish();
  if (self.conn) {
    lock.unlock();
    metrics_.observeAcquire(secondsSince(start));
    return Lease(this, std::move(self.conn));
  }
  if (self.may_dial) {
    if (!closed_ && reachable_) return dialReserved(lock, start);
    --total_;
    --in_use_;
    publish();
    passSlotOn();
  }
  if (closed_) return closedError();
  if (!reachable_) return unreachableError();
  metrics_.countFailure(FailureKind::kTimeout);
  return Status::timeout("no PostgreSQL connection became free within pool.acquire_timeout (" +
                         std::to_string(config_.acquire_timeout.count()) + "ms, pool.max " +
                         std::to_string(config_.max) + " all in use)");
}

Result<ConnectionPool::Lease> ConnectionPool::dialReserved(std::unique_lock<std::mutex>& lock,
                                                           SteadyClock::time_point start) {
  lock.unlock();
  auto conn = factory_(SteadyClock::now() + connect_timeout_);
  lock.lock();
  if (!conn.isOk()) {
    --total_;
    --in_use_;
    markUnreachable(conn.status());  // fails every waiter fast too
    publish();
    return conn.status();
  }
  markReachable();
  lock.unlock();
  metrics_.observeAcquire(secondsSince(start));
  return Lease(this, std::move(conn).value());
}

void ConnectionPool::release(std::unique_ptr<PgConnection> conn) {
  std::unique_lock lock(mutex_);
  if (closed_ || conn->broken() || conn->inTransaction()) {  // never lend a dirty session
    if (Waiter* next = closed_ ? nullptr : takeOldestWaiter()) {
      // The slot goes to the oldest waiter, which dials a replacement (in_use_ and total_
      // stay counted for it).
      next->may_dial = true;
      next->wake.notify_one();  // under the lock: the waiter's frame outlives it
    } else {
      --in_use_;
      --total_;
      publish();
    }
    lock.unlock();
    conn.reset();
    return;
  }
  if (Waiter* next = takeOldestWaiter()) {  // straight to it; the connection stays in use
    next->conn = std::move(conn);
    next->wake.notify_one();
    return;
  }
  --in_use_;
  conn->markIdle(SteadyClock::now());
  idle_.push_back(std::move(conn));
  publish();
}

// A reserved slot its waiter could not use (the pool closed or became unreachable first).
void ConnectionPool::passSlotOn() {
  if (closed_ || total_ >= config_.max) return;
  Waiter* next = takeOldestWaiter();
  if (next == nullptr) return;
  ++total_;
  ++in_use_;
  next->may_dial = true;
  next->wake.notify_one();
}

ConnectionPool::Waiter* ConnectionPool::takeOldestWaiter() {
  if (waiting_.empty()) return nullptr;
  Waiter* oldest = waiting_.front();
  waiting_.pop_front();
  return oldest;
}

void ConnectionPool::interruptWaiters() {
  for (Waiter* waiter : waiting_) {
    waiter->interrupted = true;
    waiter->wake.notify_one();
  }
  waiting_.clear();
}

Status ConnectionPool::closedError() {
  return Status::unavailable("the PostgreSQL pool is closed (shutting down)");
}

Status ConnectionPool::unreachableError() const {
  return Status::unavailable("PostgreSQL is unreachable (reconnecting in the background): " +
                             last_error_);
}

Status ConnectionPool::tryConnect() {
  {
    std::lock_guard lock(mutex_);
    if (closed_) return Status::unavailable("the PostgreSQL pool is closed");
    if (total_ >= config_.max) return Status::ok();
    ++total_;
  }
  auto conn = factory_(SteadyClock::now() + connect_timeout_);
  std::unique_lock lock(mutex_);
  if (!conn.isOk()) {
    --total_;
    markUnreachable(conn.status());
    return conn.status();
  }
  markReachable();
  if (closed_) {
    --total_;
    lock.unlock();
    return Status::ok();  // the connection closes here
  }
  if (Waiter* next = takeOldestWaiter()) {
    ++in_use_;
    next->conn = std::move(conn).value();
    next->wake.notify_one();
  } else {
    conn.value()->markIdle(SteadyClock::now());
    idle_.push_back(std::move(conn).value());
  }
  publish();
  return Status::ok();
}

bool ConnectionPool::reachable() const {
  std::lock_guard lock(mutex_);
  return reachable_;
}

std::string ConnectionPool::lastError() const {
  std::lock_guard lock(mutex_);
  return last_error_;
}

void ConnectionPool::maintain() {
  std::vector<std::unique_ptr<PgConnection>> to_close;
  bool top_up = false;
  {
    std::lock_guard lock(mutex_);
    const auto now = SteadyClock::now();
    // Oldest idle first (front). Dead ones always go; live ones above pool.min after
    // idle_timeout.
    for (auto it = idle_.begin(); it != idle_.end();) {
      const bool expired = total_ > config_.min && now - (*it)->idleSince() > config_.idle_timeout;
      if (expired || !(*it)->idleLooksAlive()) {
        to_close.push_back(std::move(*it));
        it = idle_.erase(it);
        --total_;
      } else {
        ++it;
      }
    }
    top_up = !closed_ && reachable_ && total_ < config_.min;
    publish();
  }
  to_close.clear();
  if (top_up) (void)tryConnect();
}

void ConnectionPool::close() {
  std::deque<std::unique_ptr<PgConnection>> to_close;
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    total_ -= static_cast<int>(idle_.size());
    to_close.swap(idle_);
    interruptWaiters();
    publish();
  }
}

ConnectionPool::Stats ConnectionPool::stats() const {
  std::lock_guard lock(mutex_);
  return {static_cast<int>(idle_.size()), in_use_, waiters_};
}

void ConnectionPool::markUnreachable(const Status& why) {
  metrics_.countFailure(FailureKind::kConnection);
  if (reachable_) {
    logger_.warn(
        "PostgreSQL unreachable; requests get 503 while the pool reconnects in the "
        "background",
        {{"error", why.message()}});
  }
  reachable_ = false;
  last_error_ = why.message();
  interruptWaiters();  // they get 503 at once instead of waiting out acquire_timeout
}

void ConnectionPool::markReachable() {
  if (!reachable_) logger_.info("PostgreSQL reachable again");
  reachable_ = true;
  last_error_.clear();
}

void ConnectionPool::publish() {
  metrics_.idle->Set(static_cast<double>(idle_.size()));
  metrics_.in_use->Set(in_use_);
  metrics_.waiters->Set(waiters_);
}

}  // namespace appliance::plugins::storage_postgres
