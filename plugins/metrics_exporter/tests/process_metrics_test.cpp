#include "process_metrics.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <future>
#include <memory>
#include <thread>
#include <vector>

namespace appliance::plugins::metrics_exporter {
namespace {

// A /proc/<pid>/stat line whose command name holds spaces and parentheses.
constexpr std::string_view kStatLine =
    "4242 (my (odd) proc) S 1 4242 4242 0 -1 4194560 1200 0 3 0 "
    "250 75 0 0 20 0 9 0 123456 104857600 2560 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 "
    "17 1 0 0 0 0 0\n";

TEST(ParseProcStat, CountsFieldsFromTheLastParenthesis) {
  const auto stat = parseProcStat(kStatLine);
  ASSERT_TRUE(stat.has_value());
  EXPECT_EQ(stat->utime_ticks, 250u);
  EXPECT_EQ(stat->stime_ticks, 75u);
  EXPECT_EQ(stat->threads, 9);
  EXPECT_EQ(stat->start_ticks, 123456u);
  EXPECT_EQ(stat->vsize_bytes, 104857600u);
  EXPECT_EQ(stat->rss_pages, 2560);
}

TEST(ParseProcStat, RejectsMalformedText) {
  EXPECT_FALSE(parseProcStat("").has_value());
  EXPECT_FALSE(parseProcStat("4242 no parenthesis S 1").has_value());
  EXPECT_FALSE(parseProcStat("4242 (short) S 1 2 3\n").has_value());
  std::string bad(kStatLine);
  bad.replace(bad.find(" 250 "), 5, " x50 ");  // utime not a number
  EXPECT_FALSE(parseProcStat(bad).has_value());
}

TEST(ParseBootTime, ReadsTheBtimeLine) {
  EXPECT_EQ(parseBootTime("cpu  1 2 3\nintr 5\nbtime 1700000000\nprocesses 9\n"), 1700000000);
  EXPECT_FALSE(parseBootTime("cpu  1 2 3\n").has_value());
  EXPECT_FALSE(parseBootTime("btime soon\n").has_value());
}

ProcessStats readNow(const ProcessCollector& collector) {
  auto stats = collector.read();
  EXPECT_TRUE(stats.isOk()) << stats.status().message();
  return stats.isOk() ? *stats : ProcessStats{};
}

class ProcessCollectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto created = ProcessCollector::create();
    ASSERT_TRUE(created.isOk()) << created.status().message();
    collector_ = std::make_unique<ProcessCollector>(std::move(created).value());
  }
  std::unique_ptr<ProcessCollector> collector_;
};

TEST_F(ProcessCollectorTest, ValuesArePlausibleForThisProcess) {
  const ProcessStats stats = readNow(*collector_);
  EXPECT_GT(stats.resident_bytes, 0);
  EXPECT_GE(stats.virtual_bytes, stats.resident_bytes);
  EXPECT_GE(stats.cpu_seconds, 0);
  EXPECT_GE(stats.threads, 1);
  EXPECT_GE(stats.open_fds, 3);  // stdin, stdout, stderr at least
  rlimit limit{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
  EXPECT_EQ(stats.max_fds, static_cast<double>(limit.rlim_cur));
  EXPECT_LE(stats.open_fds, stats.max_fds);
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  // This process started before now, and after the machine booted (1 s tick rounding).
  EXPECT_LE(stats.start_time_seconds, now + 1);
  EXPECT_GT(stats.start_time_seconds, 1'000'000'000);
}

TEST_F(ProcessCollectorTest, OpenFdsFollowsDescriptorsWeOpenAndClose) {
  const double before = readNow(*collector_).open_fds;
  std::vector<int> fds;
  for (int i = 0; i < 5; ++i) {
    fds.push_back(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    ASSERT_GE(fds.back(), 0) << std::strerror(errno);
  }
  EXPECT_EQ(readNow(*collector_).open_fds, before + 5);
  for (int fd : fds) ::close(fd);
  EXPECT_EQ(readNow(*collector_).open_fds, before);
}

TEST_F(ProcessCollectorTest, ThreadsFollowsAThreadWeStart) {
  const double before = readNow(*collector_).threads;
  std::promise<void> release;
  std::promise<void> started;
  std::thread worker([&] {
    started.set_value();
    release.get_future().wait();
  });
  started.get_future().wait();
  const double during = readNow(*collector_).threads;
  release.set_value();
  worker.join();
  EXPECT_EQ(during, before + 1);
}

TEST_F(ProcessCollectorTest, ResidentMemoryGrowsWhenWeTouchMemory) {
  const double before = readNow(*collector_).resident_bytes;
  constexpr std::size_t kBytes = 64u << 20;
  auto block = std::make_unique<char[]>(kBytes);
  for (std::size_t i = 0; i < kBytes; i += 4096) block[i] = static_cast<char>(i);
  const double after = readNow(*collector_).resident_bytes;
  EXPECT_GE(after - before, static_cast<double>(kBytes) / 2);
  EXPECT_NE(block[4096], 1);  // keep the writes observable
}

TEST_F(ProcessCollectorTest, CpuSecondsGrowsWhenWeBurnCpu) {
  const double before = readNow(*collector_).cpu_seconds;
  timespec start{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &start);
  volatile std::uint64_t sink = 0;
  for (;;) {
    for (int i = 0; i < 100000; ++i) sink = sink + static_cast<std::uint64_t>(i);
    timespec now{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
    const double spent = static_cast<double>(now.tv_sec - start.tv_sec) +
                         static_cast<double>(now.tv_nsec - start.tv_nsec) / 1e9;
    if (spent >= 0.3) break;
  }
  EXPECT_GE(readNow(*collector_).cpu_seconds - before, 0.15);
}

TEST_F(ProcessCollectorTest, CollectGivesTheSevenStandardFamilies) {
  const auto families = collector_->collect();
  std::vector<std::pair<std::string, prometheus::MetricType>> seen;
  for (const auto& family : families) {
    ASSERT_EQ(family.metric.size(), 1u) << family.name;
    EXPECT_FALSE(family.help.empty()) << family.name;
    seen.emplace_back(family.name, family.type);
  }
  using prometheus::MetricType;
  const std::vector<std::pair<std::string, MetricType>> expected = {
      {"process_cpu_seconds_total", MetricType::Counter},
      {"process_resident_memory_bytes", MetricType::Gauge},
      {"process_virtual_memory_bytes", MetricType::Gauge},
      {"process_open_fds", MetricType::Gauge},
      {"process_max_fds", MetricType::Gauge},
      {"process_start_time_seconds", MetricType::Gauge},
      {"process_threads", MetricType::Gauge}};
  EXPECT_EQ(seen, expected);
  EXPECT_GT(families[1].metric[0].gauge.value, 0);  // RSS
}

TEST_F(ProcessCollectorTest, ConcurrentReadsAgreeOnFixedFacts) {
  std::vector<std::future<ProcessStats>> readers;
  for (int i = 0; i < 4; ++i) {
    readers.push_back(std::async(std::launch::async, [&] { return readNow(*collector_); }));
  }
  const double start_time = readNow(*collector_).start_time_seconds;
  for (auto& reader : readers) {
    const ProcessStats stats = reader.get();
    EXPECT_EQ(stats.start_time_seconds, start_time);
    EXPECT_GT(stats.resident_bytes, 0);
  }
}

}  // namespace
}  // namespace appliance::plugins::metrics_exporter
