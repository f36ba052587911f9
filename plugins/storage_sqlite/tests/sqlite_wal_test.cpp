// The WAL stays bounded under continuous load: readers loop without pause while writers
// write, which starves SQLite's own (PASSIVE) checkpoints; the writer's RESTART checkpoints
// must keep the -wal file near wal_checkpoint_bytes, and the readers must keep going.
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "appliance/testing/fake_context.h"
#include "sqlite_task_store.h"
#include "temp_dir.h"

namespace appliance::plugins::storage_sqlite {
namespace {

constexpr Timestamp kT0 = 1'700'000'000'000'000;

struct LoadOutcome {
  std::int64_t max_wal_bytes = 0;
  std::int64_t writes = 0;
  std::int64_t reads = 0;
  std::int64_t read_errors = 0;
  std::int64_t write_errors = 0;
  std::int64_t min_reads_per_reader = 0;
};

// `readers` threads loop get/list without pause and `writers` threads update tasks with
// 1 KiB of content for `duration`, while the -wal file's size is sampled every millisecond.
LoadOutcome runLoad(SqliteTaskStore& store, const std::string& wal_path,
                    std::chrono::milliseconds duration, int readers, int writers) {
  constexpr int kTasks = 200;
  std::vector<std::int64_t> ids;
  for (int i = 0; i < kTasks; ++i) {
    Result<Task> task =
        store.create({"task " + std::to_string(i), std::string(1024, 'x'), "2030-01-01", kT0});
    EXPECT_TRUE(task.isOk()) << task.status().message();
    if (task.isOk()) ids.push_back(task->id);
  }
  std::atomic<bool> stop{false};
  std::atomic<std::int64_t> writes{0}, reads{0}, read_errors{0}, write_errors{0};
  std::atomic<std::int64_t> max_wal{0};
  std::vector<std::int64_t> reads_by_reader(static_cast<std::size_t>(readers), 0);
  std::atomic<Timestamp> request_clock{kT0};
  std::vector<std::thread> threads;
  for (int r = 0; r < readers; ++r) {
    threads.emplace_back([&, r] {
      std::int64_t n = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        const bool ok = n % 4 == 0
                            ? store.list(TaskQuery{}).isOk()
                            : store.get(ids[static_cast<std::size_t>(n) % ids.size()]).isOk();
        if (!ok) ++read_errors;
        ++n;
      }
      reads_by_reader[static_cast<std::size_t>(r)] = n;
      reads += n;
    });
  }
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      std::int64_t n = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        TaskPatch patch;
        patch.content = std::string(1024, static_cast<char>('a' + (n + w) % 26));
        patch.request_at = ++request_clock;
        // Each writer updates its own share of the tasks: two writers racing on one task with
        // timestamps from one clock would get (correct) stale-write conflicts, not errors.
        const std::size_t share = ids.size() / static_cast<std::size_t>(writers);
        const std::size_t index =
            static_cast<std::size_t>(w) * share + static_cast<std::size_t>(n * 7) % share;
        if (!store.update(ids[index], patch).isOk()) ++write_errors;
        ++n;
      }
      writes += n;
    });
  }
  const auto end = std::chrono::steady_clock::now() + duration;
  while (std::chrono::steady_clock::now() < end) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(wal_path, ec);
    if (!ec) max_wal = std::max<std::int64_t>(max_wal, static_cast<std::int64_t>(size));
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  stop = true;
  for (auto& thread : threads) thread.join();
  LoadOutcome outcome;
  outcome.max_wal_bytes = max_wal;
  outcome.writes = writes;
  outcome.reads = reads;
  outcome.read_errors = read_errors;
  outcome.write_errors = write_errors;
  outcome.min_reads_per_reader = *std::min_element(reads_by_reader.begin(), reads_by_reader.end());
  return outcome;
}

StoreOptions loadOptions(const std::string& path, std::int64_t wal_checkpoint_bytes) {
  StoreOptions options;
  options.path = path;
  options.readers = 4;
  options.synchronous = Synchronous::kNormal;  // more commits per second: the WAL fills faster
  options.wal_checkpoint_bytes = wal_checkpoint_bytes;
  return options;
}

double mean(appliance::testing::FakeContext& context, const std::string& histogram) {
  const auto count = context.metricValue(histogram, {{"mode", "restart"}}).value_or(0);
  const std::string text = context.metricsText();
  const std::string key = histogram + "_sum{mode=\"restart\"} ";
  const auto at = text.find(key);
  if (count == 0 || at == std::string::npos) return 0;
  return std::stod(text.substr(at + key.size())) / count;
}

TEST(SqliteWal, StaysNearTheBoundWhileReadersNeverStop) {
  TempDir dir;
  appliance::testing::FakeContext context("storage_sqlite");
  constexpr std::int64_t kBound = std::int64_t{1} << 20;  // 1 MiB
  SqliteTaskStore store(loadOptions(dir.file("tasks.db"), kBound), nullptr, &context.metrics());
  ASSERT_TRUE(store.open().isOk());

  const LoadOutcome load =
      runLoad(store, dir.file("tasks.db-wal"), std::chrono::seconds(4), /*readers=*/4,
              /*writers=*/2);
  const double restarts = context
                              .metricValue("appliance_sqlite_checkpoints_total",
                                           {{"mode", "restart"}, {"result", "ok"}})
                              .value_or(0);
  const double busy = context
                          .metricValue("appliance_sqlite_checkpoints_total",
                                       {{"mode", "restart"}, {"result", "busy"}})
                          .value_or(0);
  std::printf(
      "bound %lld B: max WAL file %lld B; %lld writes, %lld reads (fewest by one reader %lld); "
      "RESTART checkpoints ok %.0f, busy %.0f, mean pause %.2f ms\n",
      static_cast<long long>(kBound), static_cast<long long>(load.max_wal_bytes),
      static_cast<long long>(load.writes), static_cast<long long>(load.reads),
      static_cast<long long>(load.min_reads_per_reader), restarts, busy,
      1000 * mean(context, "appliance_sqlite_checkpoint_duration_seconds"));

  const std::string text = context.metricsText();
  for (std::size_t at = 0;
       (at = text.find("checkpoint_duration_seconds_bucket{", at)) != std::string::npos;) {
    const auto end = text.find('\n', at);
    if (text.find("restart", at) < end) std::printf("  %s\n", text.substr(at, end - at).c_str());
    at = end;
  }
  EXPECT_EQ(load.write_errors, 0);
  EXPECT_EQ(load.read_errors, 0);
  // Enough WAL traffic to cross the bound many times over...
  EXPECT_GE(restarts, 5) << "the load never filled the WAL past the bound a few times";
  // ...and most RESTARTs found the readers gone within the wait...
  EXPECT_LE(busy, restarts / 2);
  // ...so the file stayed near the bound: past it by at most what one group commit writes
  // (well under half a bound here), plus half a bound for each RESTART a reader kept busy
  // (a reader thread descheduled inside its statement on this busy 2-core machine). Without
  // the bound the same load takes the file to tens of MiB (DISABLED_ test below).
  const auto allowed = static_cast<std::int64_t>(kBound + (busy + 1) * (kBound / 2));
  EXPECT_LE(load.max_wal_bytes, allowed);
  EXPECT_LE(load.max_wal_bytes, 8 * kBound);
  // Readers were not starved: each kept reading throughout.
  EXPECT_GT(load.min_reads_per_reader, 100);
}

// For comparison (not run by default: how far the WAL grows depends on timing): the same load
// with only SQLite's own checkpoints, and with the default 16 MiB bound.
// --gtest_also_run_disabled_tests to see the numbers.
TEST(SqliteWal, DISABLED_ComparedWithoutTheBoundAndWithTheDefault) {
  for (const std::int64_t bound : {std::int64_t{0}, std::int64_t{16} << 20}) {
    TempDir dir;
    appliance::testing::FakeContext context("storage_sqlite");
    SqliteTaskStore store(loadOptions(dir.file("tasks.db"), bound), nullptr, &context.metrics());
    ASSERT_TRUE(store.open().isOk());
    const LoadOutcome load =
        runLoad(store, dir.file("tasks.db-wal"), std::chrono::seconds(4), 4, 2);
    const auto restarts = [&](const char* result) {
      return context
          .metricValue("appliance_sqlite_checkpoints_total",
                       {{"mode", "restart"}, {"result", result}})
          .value_or(0);
    };
    std::printf(
        "bound %lld B: max WAL file %lld B; %lld writes, %lld reads; RESTART ok %.0f, busy "
        "%.0f, mean pause %.2f ms\n",
        static_cast<long long>(bound), static_cast<long long>(load.max_wal_bytes),
        static_cast<long long>(load.writes), static_cast<long long>(load.reads), restarts("ok"),
        restarts("busy"), 1000 * mean(context, "appliance_sqlite_checkpoint_duration_seconds"));
  }
}

}  // namespace
}  // namespace appliance::plugins::storage_sqlite
