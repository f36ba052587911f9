#pragma once
// ConnectionPool: at most pool.max PostgreSQL connections shared by the HTTP threads.
//
//  - acquire() hands out an idle connection (most recently used first, so the surplus idles
//    out), dials a new one while below max, or queues for up to acquire_timeout (then
//    kTimeout, which the API answers with 503 + Retry-After). It never hangs. The queue is
//    FIFO: a returned connection goes straight to the oldest waiter, so under overload no
//    caller is overtaken by later ones (cond-var barging made list p99 several times p50).
//  - An idle connection is checked with one poll(2) before it is handed out: a server that
//    restarted has closed it, and it is replaced instead of failing a request.
//  - When a dial fails the pool becomes unreachable: queued callers and acquire() then fail
//    at once with kUnavailable instead of dialling again, and the owner's background loop calls
//    tryConnect() with backoff until the server answers.
//  - maintain() (background) closes connections idle for longer than idle_timeout down to
//    pool.min, drops dead idle connections and tops the pool up to pool.min.
// Thread-safe. Connections are dialled and closed outside the lock.

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "appliance/logger.h"
#include "appliance/status.h"
#include "db_metrics.h"
#include "pg_connection.h"
#include "postgres_config.h"

namespace appliance::plugins::storage_postgres {

class ConnectionPool {
 public:
  using Factory =
      std::function<Result<std::unique_ptr<PgConnection>>(SteadyClock::time_point deadline)>;

  // A connection on loan; returns it to the pool (or closes it if broken) when destroyed.
  class Lease {
   public:
    Lease(ConnectionPool* pool, std::unique_ptr<PgConnection> conn)
        : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    ~Lease();
    PgConnection* operator->() const { return conn_.get(); }
    PgConnection& operator*() const { return *conn_; }

   private:
    ConnectionPool* pool_;
    std::unique_ptr<PgConnection> conn_;
  };

  ConnectionPool(PoolConfig config, std::chrono::milliseconds connect_timeout, Factory factory,
                 DbMetrics& metrics, const Logger& logger);
  ~ConnectionPool();

  Result<Lease> acquire();

  // Dials one connection and keeps it idle. Makes the pool reachable on success.
  Status tryConnect();
  bool reachable() const;
  std::string lastError() const;
  void maintain();
  // Refuses new leases and closes idle connections; leased ones close when returned.
  void close();

  struct Stats {
    int idle = 0;
    int in_use = 0;
    int waiters = 0;
  };
  Stats stats() const;

 private:
  // A caller queued in acquire(), on its own stack.
  struct Waiter {
    std::condition_variable wake;
    std::unique_ptr<PgConnection> conn;  // handed over by release() or tryConnect()
    bool may_dial = false;               // given the slot of a dropped connection
    bool interrupted = false;            // the pool closed or became unreachable
  };

  void release(std::unique_ptr<PgConnection> conn);
  // Dials on a slot already counted in total_ and in_use_; requires mutex_ (held by `lock`).
  Result<Lease> dialReserved(std::unique_lock<std::mutex>& lock, SteadyClock::time_point start);
  void passSlotOn();           // requires mutex_
  Waiter* takeOldestWaiter();  // requires mutex_; null when nobody waits
  void interruptWaiters();     // requires mutex_
  static Status closedError();
  Status unreachableError() const;          // requires mutex_
  void markUnreachable(const Status& why);  // requires mutex_
  void markReachable();                     // requires mutex_
  void publish();                           // requires mutex_

  const PoolConfig config_;
  const std::chrono::milliseconds connect_timeout_;
  const Factory factory_;
  DbMetrics& metrics_;
  const Logger& logger_;

  mutable std::mutex mutex_;
  std::deque<Waiter*> waiting_;                     // front = oldest
  std::deque<std::unique_ptr<PgConnection>> idle_;  // back = most recently used
  int total_ = 0;                                   // idle + in use + being dialled
  int in_use_ = 0;
  int waiters_ = 0;
  bool closed_ = false;
  bool reachable_ = true;  // until a dial fails
  std::string last_error_;
};

}  // namespace appliance::plugins::storage_postgres
