#include "pg_connection.h"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace appliance::plugins::storage_postgres {
namespace {

std::string trimmed(const char* text) {
  std::string s = text != nullptr ? text : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

bool startsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// SQLSTATEs that mean the session is gone or the server cannot serve now.
bool isConnectionState(std::string_view state) {
  return startsWith(state, "08") || state == "57P01" || state == "57P02" || state == "57P03" ||
         state == "53300" || state == "25P03";
}

int remainingMillis(SteadyClock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 1 << 30));
}

}  // namespace

Result<std::unique_ptr<PgConnection>> PgConnection::open(
    const ConnectionParams& params, std::chrono::milliseconds statement_timeout,
    SteadyClock::time_point deadline, bool pooled) {
  auto args = params.build();
  if (!args.isOk()) return args.status();
  PGconn* raw = PQconnectStartParams(args->keywords.data(), args->values.data(), 1);
  if (raw == nullptr) return Status::unavailable("cannot allocate a libpq connection");
  std::unique_ptr<PgConnection> conn(new PgConnection(raw, params));
  if (PQstatus(raw) == CONNECTION_BAD) {
    return Status::unavailable("cannot connect to PostgreSQL: " +
                               params.scrub(trimmed(PQerrorMessage(raw))));
  }
  // PQconnectPoll's loop: start as if it had asked for writability.
  PostgresPollingStatusType state = PGRES_POLLING_WRITING;
  while (state != PGRES_POLLING_OK) {
    if (state == PGRES_POLLING_FAILED) {
      return Status::unavailable("cannot connect to PostgreSQL: " +
                                 params.scrub(trimmed(PQerrorMessage(raw))));
    }
    if (!conn->waitSocket(state == PGRES_POLLING_WRITING, deadline)) {
      return Status::unavailable(
          "cannot connect to PostgreSQL: no answer within the "
          "connect_timeout");
    }
    state = PQconnectPoll(raw);
  }
  // Server notices (NOTICE: relation exists, WARNING: terminating connection) would go to
  // stderr by default: the outcomes that matter reach us as results and errors.
  PQsetNoticeProcessor(
      raw, [](void*, const char*) {}, nullptr);
  if (PQsetnonblocking(raw, 1) != 0) return conn->connectionFailure("cannot set non-blocking mode");
  if (pooled) {
    if (Status s = conn->setUpPooledSession(statement_timeout, deadline); !s.isOk()) return s;
  }
  return conn;
}

PgConnection::~PgConnection() { PQfinish(conn_); }

Status PgConnection::setUpPooledSession(std::chrono::milliseconds statement_timeout,
                                        SteadyClock::time_point deadline) {
  if (PQenterPipelineMode(conn_) != 1) return connectionFailure("cannot enter pipeline mode");
  const std::string set_timeout =
      "SET statement_timeout = " + std::to_string(statement_timeout.count());
  // Generic plans only: under the default `auto`, a custom plan for the batched GET's known
  // array (`id = ANY($1)`) looks cheaper than the generic one, so PostgreSQL planned it on
  // every execution, twice as long as running it (pg_stat_statements, bench/README.md). The
  // generic plans use the same indexes.
  constexpr const char* kGenericPlans = "SET plan_cache_mode = force_generic_plan";
  bool sent =
      PQsendQueryParams(conn_, set_timeout.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0) ==
          1 &&
      PQsendQueryParams(conn_, kGenericPlans, 0, nullptr, nullptr, nullptr, nullptr, 0) == 1;
  for (int i = 0; i < kStatementCount && sent; ++i) {
    const StatementDef& def = statementDef(static_cast<Statement>(i));
    sent = PQsendPrepare(conn_, def.name, def.sql, def.param_count, def.param_types.data()) == 1;
  }
  if (!sent || PQpipelineSync(conn_) != 1)
    return connectionFailure("cannot send the session setup");
  if (Status s = flush(deadline); !s.isOk()) return s;
  PgResult results[kStatementCount + 2];
  return readPipeline(results, deadline);
}

Status PgConnection::execute(Statement statement, const Params& params, PgResult& result,
                             SteadyClock::time_point deadline) {
  const Call call{statement, &params};
  return executeGroup(std::span<const Call>(&call, 1), std::span<PgResult>(&result, 1), deadline);
}

Status PgConnection::executeGroup(std::span<const Call> calls, std::span<PgResult> results,
                                  SteadyClock::time_point deadline) {
  last_failure_ = FailureKind::kNone;
  for (const Call& call : calls) {
    const StatementDef& def = statementDef(call.statement);
    if (PQsendQueryPrepared(conn_, def.name, call.params->count(), call.params->values(),
                            call.params->lengths(), call.params->formats(), 1) != 1) {
      return connectionFailure("cannot send a statement");
    }
  }
  if (PQpipelineSync(conn_) != 1) return connectionFailure("cannot send a statement");
  if (Status s = flush(deadline); !s.isOk()) return s;
  return readPipeline(results, deadline);
}

// Reads one result per queued statement, then the Sync's PGRES_PIPELINE_SYNC (the commit
// has then happened). Keeps the first error; always drains to the Sync so the connection
// stays usable after an SQL error.
Status PgConnection::readPipeline(std::span<PgResult> results, SteadyClock::time_point deadline) {
  Status first_error;
  for (PgResult& slot : results) {
    if (Status s = nextResult(slot, deadline); !s.isOk()) return s;
    if (!slot) return connectionFailure("the server sent no result");
    const ExecStatusType status = PQresultStatus(slot.get());
    if (status == PGRES_FATAL_ERROR && first_error.isOk()) {
      first_error = resultFailure(slot.get());
    } else if (status == PGRES_PIPELINE_ABORTED && first_error.isOk()) {
      first_error = Status::internal("pipeline aborted");
    }
    PgResult end;  // each statement's results end with a null
    if (Status s = nextResult(end, deadline); !s.isOk()) return s;
    if (end) return connectionFailure("unexpected extra result");
  }
  PgResult sync;
  if (Status s = nextResult(sync, deadline); !s.isOk()) return s;
  if (!sync) return connectionFailure("the server sent no end of pipeline");
  if (PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC) {
    // An error reported at the Sync itself: the commit failed. Drain to the Sync marker;
    // a connection that does not produce it is not reused.
    if (first_error.isOk()) first_error = resultFailure(sync.get());
    bool synced = false;
    for (int i = 0; i < 4 && !synced; ++i) {
      PgResult rest;
      if (Status s = nextResult(rest, deadline); !s.isOk()) return s;
      synced = rest && PQresultStatus(rest.get()) == PGRES_PIPELINE_SYNC;
    }
    if (!synced) broken_ = true;
  }
  if (broken()) return connectionFailure("connection lost");
  return first_error;
}

Status PgConnection::exec(std::string_view sql, SteadyClock::time_point deadline, PgResult* last) {
  last_failure_ = FailureKind::kNone;
  const std::string text(sql);
  if (PQsendQuery(conn_, text.c_str()) != 1) return connectionFailure("cannot send SQL");
  if (Status s = flush(deadline); !s.isOk()) return s;
  Status first_error;
  for (;;) {
    PgResult result;
    if (Status s = nextResult(result, deadline); !s.isOk()) return s;
    if (!result) break;
    if (PQresultStatus(result.get()) == PGRES_FATAL_ERROR && first_error.isOk()) {
      first_error = resultFailure(result.get());
    }
    if (last != nullptr) *last = std::move(result);
  }
  if (broken()) return connectionFailure("connection lost");
  return first_error;
}

bool PgConnection::idleLooksAlive() {
  if (broken()) return false;
  pollfd pfd{PQsocket(conn_), POLLIN, 0};
  const int ready = ::poll(&pfd, 1, 0);
  if (ready == 0) return true;
  broken_ = true;  // readable while idle: a shutdown notice or EOF
  return false;
}

Status PgConnection::flush(SteadyClock::time_point deadline) {
  for (;;) {
    const int r = PQflush(conn_);
    if (r == 0) return Status::ok();
    if (r < 0) return connectionFailure("cannot send to the server");
    if (!waitSocket(true, deadline)) return timeoutFailure("sending to the server timed out");
    if (PQconsumeInput(conn_) != 1) return connectionFailure("connection lost");
  }
}

Status PgConnection::nextResult(PgResult& out, SteadyClock::time_point deadline) {
  while (PQisBusy(conn_) == 1) {
    if (!waitSocket(false, deadline)) return timeoutFailure("no answer from the server in time");
    if (PQconsumeInput(conn_) != 1) return connectionFailure("connection lost");
  }
  out.reset(PQgetResult(conn_));
  return Status::ok();
}

// For reading: readable. For writing: writable or readable (the server may be waiting for us
// to read before it reads more).
bool PgConnection::waitSocket(bool for_write, SteadyClock::time_point deadline) {
  const int fd = PQsocket(conn_);
  if (fd < 0) return false;
  pollfd pfd{fd, static_cast<short>(for_write ? (POLLOUT | POLLIN) : POLLIN), 0};
  for (;;) {
    const int ready = ::poll(&pfd, 1, remainingMillis(deadline));
    if (ready > 0) return true;
    if (ready == 0) return false;
    if (errno != EINTR) return false;
  }
}

Status PgConnection::connectionFailure(std::string_view what) {
  broken_ = true;
  last_failure_ = FailureKind::kConnection;
  std::string detail = trimmed(PQerrorMessage(conn_));
  return Status::unavailable("PostgreSQL connection failed: " + std::string(what) +
                             (detail.empty() ? "" : ": " + params_->scrub(detail)));
}

Status PgConnection::timeoutFailure(std::string_view what) {
  broken_ = true;  // mid-protocol: the connection cannot be reused
  last_failure_ = FailureKind::kTimeout;
  return Status::timeout("PostgreSQL: " + std::string(what));
}

Status PgConnection::resultFailure(const PGresult* result) {
  const char* state_field = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  const std::string state = state_field != nullptr ? state_field : "";
  const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
  std::string message =
      params_->scrub(trimmed(primary != nullptr ? primary : PQresultErrorMessage(result)));
  message = "PostgreSQL: " + message + (state.empty() ? "" : " (SQLSTATE " + state + ")");
  if (state.empty() || isConnectionState(state)) {
    broken_ = true;  // the server ends such sessions
    last_failure_ = FailureKind::kConnection;
    return Status::unavailable(std::move(message));
  }
  if (state == "57014" || state == "55P03") {  // statement_timeout, lock_timeout
    last_failure_ = FailureKind::kTimeout;
    return Status::timeout(std::move(message));
  }
  if (state == "40001" || state == "40P01") {  // serialization failure, deadlock: retry
    last_failure_ = FailureKind::kConflict;
    return Status::unavailable(std::move(message));
  }
  last_failure_ = FailureKind::kOther;
  if (startsWith(state, "22") || startsWith(state, "23"))
    return Status::invalid(std::move(message));
  return Status::internal(std::move(message));
}

}  // namespace appliance::plugins::storage_postgres
