#pragma once
// The standard process_* metrics, read from /proc at scrape time (prometheus-cpp has none).
// ProcessCollector keeps only facts fixed for the life of the process (clock tick, page
// size, start time); read() touches no shared state, so concurrent scrapes are safe.

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include <prometheus/metric_family.h>

#include "appliance/status.h"

namespace appliance::plugins::metrics_exporter {

// One reading of the process, in base units.
struct ProcessStats {
  double cpu_seconds = 0;         // user + system CPU time
  double resident_bytes = 0;      // RSS
  double virtual_bytes = 0;       // VSZ
  double open_fds = 0;            // file descriptors open now
  double max_fds = 0;             // soft RLIMIT_NOFILE (+Inf when unlimited)
  double start_time_seconds = 0;  // since the Unix epoch
  double threads = 0;
};

// The fields of /proc/<pid>/stat that the collector uses, in the kernel's units.
struct ProcStat {
  std::uint64_t utime_ticks = 0;
  std::uint64_t stime_ticks = 0;
  std::int64_t threads = 0;
  std::uint64_t start_ticks = 0;  // since boot
  std::uint64_t vsize_bytes = 0;
  std::int64_t rss_pages = 0;
};

// Parses /proc/<pid>/stat. The command name (field 2) may contain spaces and parentheses,
// so fields are counted from the last ')'. nullopt when the text is malformed.
std::optional<ProcStat> parseProcStat(std::string_view text);

// The `btime` line of /proc/stat: the boot time in seconds since the Unix epoch.
std::optional<std::int64_t> parseBootTime(std::string_view proc_stat);

class ProcessCollector {
 public:
  // Reads the fixed facts; an error when /proc is not usable (then there are no
  // process metrics at all).
  static Result<ProcessCollector> create();

  // Reads the process now: /proc/self/stat, the entries of /proc/self/fd and RLIMIT_NOFILE.
  Result<ProcessStats> read() const;

  // read() as metric families, or no families when reading failed.
  std::vector<prometheus::MetricFamily> collect() const;

 private:
  ProcessCollector(double ticks_per_second, double page_size, double start_time_seconds)
      : ticks_per_second_(ticks_per_second),
        page_size_(page_size),
        start_time_seconds_(start_time_seconds) {}

  double ticks_per_second_;
  double page_size_;
  double start_time_seconds_;
};

// The seven process_* families for one reading.
std::vector<prometheus::MetricFamily> processFamilies(const ProcessStats& stats);

}  // namespace appliance::plugins::metrics_exporter
