#include "db_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace appliance::plugins::storage_postgres {
namespace {

const prometheus::Histogram::BucketBoundaries kAcquireBuckets = {
    0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
const prometheus::Histogram::BucketBoundaries kQueryBuckets = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};

}  // namespace

DbMetrics::DbMetrics(prometheus::Registry& registry) {
  auto& connections = prometheus::BuildGauge()
                          .Name("appliance_db_pool_connections")
                          .Help("PostgreSQL pool connections by state.")
                          .Register(registry);
  idle = &connections.Add({{"state", "idle"}});
  in_use = &connections.Add({{"state", "in_use"}});
  max_connections = &prometheus::BuildGauge()
                         .Name("appliance_db_pool_max_connections")
                         .Help("The pool's size limit (storage_postgres.pool.max).")
                         .Register(registry)
                         .Add({});
  waiters = &prometheus::BuildGauge()
                 .Name("appliance_db_pool_waiters")
                 .Help("Callers waiting for a free PostgreSQL connection.")
                 .Register(registry)
                 .Add({});
  acquire_seconds = &prometheus::BuildHistogram()
                         .Name("appliance_db_pool_acquire_seconds")
                         .Help("Time to obtain a PostgreSQL connection from the pool.")
                         .Register(registry)
                         .Add({}, kAcquireBuckets);
  auto& queries = prometheus::BuildHistogram()
                      .Name("appliance_db_query_duration_seconds")
                      .Help("PostgreSQL statement round trips (commit included), by statement.")
                      .Register(registry);
  for (int i = 0; i < kStatementCount; ++i) {
    const auto statement = static_cast<Statement>(i);
    if (statement == Statement::kBegin || statement == Statement::kCommit ||
        statement == Statement::kRollback) {
      continue;
    }
    query_seconds[i] =
        &queries.Add({{"statement", statementDef(static_cast<Statement>(i)).name}}, kQueryBuckets);
  }
  auto& errors = prometheus::BuildCounter()
                     .Name("appliance_db_errors_total")
                     .Help(
                         "PostgreSQL failures by kind: connection (unreachable, lost), timeout "
                         "(pool acquire or statement), conflict (writes refused by the "
                         "ordering rules, serialization failures).")
                     .Register(registry);
  connection_errors = &errors.Add({{"kind", "connection"}});
  timeout_errors = &errors.Add({{"kind", "timeout"}});
  conflict_errors = &errors.Add({{"kind", "conflict"}});
  tombstones_purged = &prometheus::BuildCounter()
                           .Name("appliance_db_tombstones_purged_total")
                           .Help("Tombstones (deleted tasks) purged after tombstone_retention.")
                           .Register(registry)
                           .Add({});
}

void DbMetrics::countFailure(FailureKind kind) {
  switch (kind) {
    case FailureKind::kConnection:
      connection_errors->Increment();
      break;
    case FailureKind::kTimeout:
      timeout_errors->Increment();
      break;
    case FailureKind::kConflict:
      conflict_errors->Increment();
      break;
    case FailureKind::kNone:
    case FailureKind::kOther:
      break;
  }
}

void DbMetrics::observeQuery(Statement statement, double seconds) {
  if (auto* histogram = query_seconds[static_cast<int>(statement)]) histogram->Observe(seconds);
}

void DbMetrics::observeAcquire(double seconds) { acquire_seconds->Observe(seconds); }

void DbMetrics::countPurged(std::int64_t rows) {
  tombstones_purged->Increment(static_cast<double>(rows));
}

}  // namespace appliance::plugins::storage_postgres
