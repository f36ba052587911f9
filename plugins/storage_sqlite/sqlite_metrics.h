#pragma once
// SqliteMetrics: the storage_sqlite series on the shared registry, resolved once. Thread-safe
// (prometheus-cpp metrics are).
//   appliance_sqlite_wal_bytes                                   gauge (size of the -wal file)
//   appliance_sqlite_checkpoint_duration_seconds{mode}           histogram (passive|restart)
//   appliance_sqlite_checkpoints_total{mode,result}              counter (ok|busy|error)
//   appliance_sqlite_tombstones_purged_total                     counter

#include <cstdint>

namespace prometheus {
class Registry;
class Gauge;
class Counter;
class Histogram;
}  // namespace prometheus

namespace appliance::plugins::storage_sqlite {

enum class CheckpointMode { kPassive, kRestart };
enum class CheckpointResult { kOk, kBusy, kError };

struct SqliteMetrics {
  explicit SqliteMetrics(prometheus::Registry& registry);

  void observeCheckpoint(CheckpointMode mode, CheckpointResult result, double seconds);
  void setWalBytes(std::int64_t bytes);
  void countPurged(std::int64_t rows);

  prometheus::Gauge* wal_bytes;
  prometheus::Histogram* checkpoint_seconds[2];
  prometheus::Counter* checkpoints[2][3];
  prometheus::Counter* tombstones_purged;
};

}  // namespace appliance::plugins::storage_sqlite
