#pragma once
// PgConnection: one libpq connection, used by one thread at a time (the pool hands it out).
// Pool connections run in pipeline mode with every Statement prepared once, at open; a
// statement or a group of statements is sent with one Sync (one implicit transaction, one
// round trip). Every wait is bounded by a deadline, so a silent network never hangs a caller.
//
// Failure handling: after any connection-level failure (lost socket, deadline passed in the
// middle of a result, server shutdown) the connection is broken(): close it, never reuse it.
// SQL errors leave it usable.

#include <libpq-fe.h>

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "appliance/status.h"
#include "pg_codec.h"
#include "postgres_config.h"
#include "statements.h"

namespace appliance::plugins::storage_postgres {

using SteadyClock = std::chrono::steady_clock;

struct PgResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, PgResultDeleter>;

// Why the last call failed, for appliance_db_errors_total{kind}.
enum class FailureKind { kNone, kConnection, kTimeout, kConflict, kOther };

// One statement of a pipelined group.
struct Call {
  Statement statement;
  const Params* params;
};

class PgConnection {
 public:
  // Dials with a deadline. With `pooled`: enters pipeline mode, sets statement_timeout and
  // prepares every Statement, in one round trip. Without: a plain session (migrations).
  static Result<std::unique_ptr<PgConnection>> open(const ConnectionParams& params,
                                                    std::chrono::milliseconds statement_timeout,
                                                    SteadyClock::time_point deadline, bool pooled);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // One prepared statement in its own implicit transaction; `result` holds its rows.
  Status execute(Statement statement, const Params& params, PgResult& result,
                 SteadyClock::time_point deadline);
  // Several prepared statements pipelined behind one Sync: one implicit transaction that
  // commits only if all succeed; returns after the commit (or the rollback). `results` must
  // have calls.size() elements.
  Status executeGroup(std::span<const Call> calls, std::span<PgResult> results,
                      SteadyClock::time_point deadline);
  // Simple-protocol SQL, possibly several statements (non-pooled sessions only). The last
  // statement's result is kept in `last` when given.
  Status exec(std::string_view sql, SteadyClock::time_point deadline, PgResult* last = nullptr);

  // The connection must be closed: lost, or left mid-protocol by a deadline.
  bool broken() const { return broken_ || PQstatus(conn_) != CONNECTION_OK; }
  // Inside a transaction block (an explicit BEGIN whose COMMIT did not run): a failed
  // statement leaves the block aborted until ROLLBACK, even after the Sync.
  bool inTransaction() const { return PQtransactionStatus(conn_) != PQTRANS_IDLE; }
  // Cheap check (one poll(2), no round trip) for an idle connection: false when the server
  // closed it or sent anything (an idle session never receives data unless it is ending).
  bool idleLooksAlive();
  FailureKind lastFailure() const { return last_failure_; }

  SteadyClock::time_point idleSince() const { return idle_since_; }
  void markIdle(SteadyClock::time_point now) { idle_since_ = now; }

 private:
  PgConnection(PGconn* conn, const ConnectionParams& params) : conn_(conn), params_(&params) {}
  Status setUpPooledSession(std::chrono::milliseconds statement_timeout,
                            SteadyClock::time_point deadline);
  Status flush(SteadyClock::time_point deadline);
  // Waits until PQgetResult will not block, then returns it (may be null).
  Status nextResult(PgResult& out, SteadyClock::time_point deadline);
  Status readPipeline(std::span<PgResult> results, SteadyClock::time_point deadline);
  bool waitSocket(bool for_write, SteadyClock::time_point deadline);
  Status connectionFailure(std::string_view what);
  Status timeoutFailure(std::string_view what);
  Status resultFailure(const PGresult* result);

  PGconn* conn_;
  const ConnectionParams* params_;
  bool broken_ = false;
  FailureKind last_failure_ = FailureKind::kNone;
  SteadyClock::time_point idle_since_{};
};

}  // namespace appliance::plugins::storage_postgres
