#include "sqlite_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace appliance::plugins::storage_sqlite {
namespace {

// A checkpoint copies pages and syncs the database file: from well under a millisecond to the
// time a RESTART waits for readers (at most the checkpoint wait, 200 ms, plus the copy).
const prometheus::Histogram::BucketBoundaries kCheckpointBuckets = {
    0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};

constexpr const char* kModes[] = {"passive", "restart"};
constexpr const char* kResults[] = {"ok", "busy", "error"};

}  // namespace

SqliteMetrics::SqliteMetrics(prometheus::Registry& registry) {
  wal_bytes = &prometheus::BuildGauge()
                   .Name("appliance_sqlite_wal_bytes")
                   .Help("Size of the SQLite write-ahead log file (<path>-wal) in bytes.")
                   .Register(registry)
                   .Add({});
  auto& durations =
      prometheus::BuildHistogram()
          .Name("appliance_sqlite_checkpoint_duration_seconds")
          .Help(
              "WAL checkpoints run by the writer after a commit, by mode; writes wait while one "
              "runs.")
          .Register(registry);
  auto& counts = prometheus::BuildCounter()
                     .Name("appliance_sqlite_checkpoints_total")
                     .Help(
                         "WAL checkpoints by mode and result (busy: readers or another process "
                         "kept it from finishing).")
                     .Register(registry);
  for (int mode = 0; mode < 2; ++mode) {
    checkpoint_seconds[mode] = &durations.Add({{"mode", kModes[mode]}}, kCheckpointBuckets);
    for (int result = 0; result < 3; ++result) {
      checkpoints[mode][result] =
          &counts.Add({{"mode", kModes[mode]}, {"result", kResults[result]}});
    }
  }
  tombstones_purged = &prometheus::BuildCounter()
                           .Name("appliance_sqlite_tombstones_purged_total")
                           .Help("Tombstones (deleted tasks) purged after tombstone_retention.")
                           .Register(registry)
                           .Add({});
}

void SqliteMetrics::observeCheckpoint(CheckpointMode mode, CheckpointResult result,
                                      double seconds) {
  const auto m = static_cast<int>(mode);
  checkpoint_seconds[m]->Observe(seconds);
  checkpoints[m][static_cast<int>(result)]->Increment();
}

void SqliteMetrics::setWalBytes(std::int64_t bytes) { wal_bytes->Set(static_cast<double>(bytes)); }

void SqliteMetrics::countPurged(std::int64_t rows) {
  tombstones_purged->Increment(static_cast<double>(rows));
}

}  // namespace appliance::plugins::storage_sqlite
