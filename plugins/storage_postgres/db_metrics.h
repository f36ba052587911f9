#pragma once
// DbMetrics: the storage_postgres series on the shared registry, resolved once (no label
// lookup per query). Thread-safe (prometheus-cpp metrics are).
//   appliance_db_pool_connections{state="idle|in_use"}  gauge
//   appliance_db_pool_max_connections                   gauge (pool.max)
//   appliance_db_pool_waiters                           gauge
//   appliance_db_pool_acquire_seconds                   histogram
//   appliance_db_query_duration_seconds{statement}      histogram (statement = prepared name)
//   appliance_db_errors_total{kind="connection|timeout|conflict"}  counter
//   appliance_db_tombstones_purged_total                 counter

#include <array>
#include <cstdint>

#include "pg_connection.h"
#include "statements.h"

namespace prometheus {
class Registry;
class Gauge;
class Counter;
class Histogram;
}  // namespace prometheus

namespace appliance::plugins::storage_postgres {

struct DbMetrics {
  explicit DbMetrics(prometheus::Registry& registry);

  void countFailure(FailureKind kind);
  void observeQuery(Statement statement, double seconds);
  void observeAcquire(double seconds);
  void countPurged(std::int64_t rows);

  prometheus::Gauge* idle;
  prometheus::Gauge* in_use;
  prometheus::Gauge* max_connections;
  prometheus::Gauge* waiters;
  prometheus::Histogram* acquire_seconds;
  std::array<prometheus::Histogram*, kStatementCount> query_seconds{};
  prometheus::Counter* connection_errors;
  prometheus::Counter* timeout_errors;
  prometheus::Counter* conflict_errors;
  prometheus::Counter* tombstones_purged;
};

}  // namespace appliance::plugins::storage_postgres
