#include "process_metrics.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <fstream>
#include <limits>
#include <span>
#include <string>
#include <system_error>

namespace appliance::plugins::metrics_exporter {
namespace {

std::string errnoText(int error) {
  return std::error_code(error, std::generic_category()).message();
}

// Reads a small /proc file into `buffer` (no allocation); the bytes read, or the errno.
Result<std::string_view> readSmallFile(const char* path, std::span<char> buffer) {
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::unavailable(std::string(path) + ": " + errnoText(errno));
  std::size_t used = 0;
  while (used < buffer.size()) {
    const ssize_t n = ::read(fd, buffer.data() + used, buffer.size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      ::close(fd);
      return Status::unavailable(std::string(path) + ": " + errnoText(error));
    }
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return std::string_view(buffer.data(), used);
}

// Entries of /proc/self/fd, not counting the descriptor used to list them.
Result<std::int64_t> countOpenFds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return Status::unavailable("/proc/self/fd: " + errnoText(errno));
  const int listing_fd = ::dirfd(dir);
  std::int64_t count = 0;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string_view name(entry->d_name);
    int fd = -1;
    const auto [end, error] = std::from_chars(name.data(), name.data() + name.size(), fd);
    if (error != std::errc() || end != name.data() + name.size()) continue;  // ".", ".."
    if (fd != listing_fd) ++count;
  }
  ::closedir(dir);
  return count;
}

double maxOpenFds() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) {
    return std::numeric_limits<double>::infinity();
  }
  return static_cast<double>(limit.rlim_cur);
}

template <class Number>
bool parseField(std::string_view field, Number& value) {
  const auto [end, error] = std::from_chars(field.data(), field.data() + field.size(), value);
  return error == std::errc() && end == field.data() + field.size();
}

prometheus::MetricFamily family(const char* name, const char* help, prometheus::MetricType type,
                                double value) {
  prometheus::MetricFamily result;
  result.name = name;
  result.help = help;
  result.type = type;
  result.metric.emplace_back();
  if (type == prometheus::MetricType::Counter) {
    result.metric.back().counter.value = value;
  } else {
    result.metric.back().gauge.value = value;
  }
  return result;
}

}  // namespace

std::optional<ProcStat> parseProcStat(std::string_view text) {
  const auto close_paren = text.rfind(')');
  if (close_paren == std::string_view::npos) return std::nullopt;
  // fields[n] is field n of proc(5), from 3 (state) to 24 (rss).
  std::array<std::string_view, 25> fields{};
  std::size_t pos = close_paren + 1;
  for (std::size_t n = 3; n < fields.size(); ++n) {
    pos = text.find_first_not_of(" \n", pos);
    if (pos == std::string_view::npos) return std::nullopt;
    const std::size_t end = std::min(text.find_first_of(" \n", pos), text.size());
    fields[n] = text.substr(pos, end - pos);
    pos = end;
  }
  ProcStat stat;
  const bool ok =
      parseField(fields[14], stat.utime_ticks) && parseField(fields[15], stat.stime_ticks) &&
      parseField(fields[20], stat.threads) && parseField(fields[22], stat.start_ticks) &&
      parseField(fields[23], stat.vsize_bytes) && parseField(fields[24], stat.rss_pages);
  if (!ok) return std::nullopt;
  return stat;
}

std::optional<std::int64_t> parseBootTime(std::string_view proc_stat) {
  constexpr std::string_view kKey = "btime ";
  std::size_t pos = 0;
  while (pos < proc_stat.size()) {
    const std::size_t end = std::min(proc_stat.find('\n', pos), proc_stat.size());
    const std::string_view line = proc_stat.substr(pos, end - pos);
    if (line.starts_with(kKey)) {
      std::int64_t seconds = 0;
      if (parseField(line.substr(kKey.size()), seconds)) return seconds;
      return std::nullopt;
    }
    pos = end + 1;
  }
  return std::nullopt;
}

Result<ProcessCollector> ProcessCollector::create() {
  const long ticks = ::sysconf(_SC_CLK_TCK);
  const long page_size = ::sysconf(_SC_PAGESIZE);
  if (ticks <= 0 || page_size <= 0)
    return Status::unavailable("sysconf(_SC_CLK_TCK/_SC_PAGESIZE) failed");

  std::ifstream file("/proc/stat");
  const std::string proc_stat((std::istreambuf_iterator<char>(file)),
                              std::istreambuf_iterator<char>());
  const auto boot_time = parseBootTime(proc_stat);
  if (!boot_time) return Status::unavailable("/proc/stat: no readable btime line");

  std::array<char, 4096> buffer{};
  const auto text = readSmallFile("/proc/self/stat", buffer);
  if (!text.isOk()) return text.status();
  const auto stat = parseProcStat(*text);
  if (!stat) return Status::unavailable("/proc/self/stat: unexpected format");

  const double start = static_cast<double>(*boot_time) +
                       static_cast<double>(stat->start_ticks) / static_cast<double>(ticks);
  return ProcessCollector(static_cast<double>(ticks), static_cast<double>(page_size), start);
}

Result<ProcessStats> ProcessCollector::read() const {
  std::array<char, 4096> buffer{};
  const auto text = readSmallFile("/proc/self/stat", buffer);
  if (!text.isOk()) return text.status();
  const auto stat = parseProcStat(*text);
  if (!stat) return Status::unavailable("/proc/self/stat: unexpected format");
  const auto open_fds = countOpenFds();
  if (!open_fds.isOk()) return open_fds.status();

  ProcessStats stats;
  stats.cpu_seconds =
      static_cast<double>(stat->utime_ticks + stat->stime_ticks) / ticks_per_second_;
  stats.resident_bytes = static_cast<double>(stat->rss_pages) * page_size_;
  stats.virtual_bytes = static_cast<double>(stat->vsize_bytes);
  stats.open_fds = static_cast<double>(*open_fds);
  stats.max_fds = maxOpenFds();
  stats.start_time_seconds = start_time_seconds_;
  stats.threads = static_cast<double>(stat->threads);
  return stats;
}

std::vector<prometheus::MetricFamily> ProcessCollector::collect() const {
  const auto stats = read();
  if (!stats.isOk()) return {};
  return processFamilies(*stats);
}

std::vector<prometheus::MetricFamily> processFamilies(const ProcessStats& stats) {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> families;
  families.reserve(7);
  families.push_back(family("process_cpu_seconds_total",
                            "Total user and system CPU time spent in seconds.", MetricType::Counter,
                            stats.cpu_seconds));
  families.push_back(family("process_resident_memory_bytes", "Resident memory size in bytes.",
                            MetricType::Gauge, stats.resident_bytes));
  families.push_back(family("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                            MetricType::Gauge, stats.virtual_bytes));
  families.push_back(family("process_open_fds", "Number of open file descriptors.",
                            MetricType::Gauge, stats.open_fds));
  families.push_back(family("process_max_fds", "Maximum number of open file descriptors.",
                            MetricType::Gauge, stats.max_fds));
  families.push_back(family("process_start_time_seconds",
                            "Start time of the process since unix epoch in seconds.",
                            MetricType::Gauge, stats.start_time_seconds));
  families.push_back(family("process_threads", "Number of OS threads in the process.",
                            MetricType::Gauge, stats.threads));
  return families;
}

}  // namespace appliance::plugins::metrics_exporter
