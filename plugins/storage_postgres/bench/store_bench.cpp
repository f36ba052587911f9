// storage_postgres_bench: drives PostgresTaskStore directly (no HTTP) at fixed concurrency,
// to compare the store with pgbench running the same statements (bench/pgbench/).
//
//   storage_postgres_bench URL OP [threads=32] [seconds=10] [pool_max=8] [write_batch_size=64]
//   OP: get | list | create | update | mixed   (ids 1..10000 must exist for get/update:
//       psql URL -f bench/pgbench/setup.sql)
// Prints operations/s, p50/p99 latency, outcomes, and the process's peak RSS.
#include <prometheus/registry.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "postgres_task_store.h"

namespace pg = appliance::plugins::storage_postgres;
using appliance::StatusCode;
using Clock = std::chrono::steady_clock;

namespace {

class StderrLogger : public appliance::Logger {
 public:
  bool enabled(appliance::LogLevel level) const override {
    return level >= appliance::LogLevel::kWarn;
  }
  void log(appliance::LogLevel, std::string_view message,
           std::span<const appliance::LogField> fields) const override {
    std::cerr << message;
    for (const auto& f : fields) std::cerr << ' ' << f.key << '=' << f.value;
    std::cerr << '\n';
  }
};

std::string peakRss() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return line.substr(6);
  }
  return "?";
}

appliance::Timestamp nowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: storage_postgres_bench URL get|list|create|update|mixed [threads] "
                 "[seconds] [pool_max] [write_batch_size]\n";
    return 2;
  }
  const std::string op = argv[2];
  const int threads = argc > 3 ? std::stoi(argv[3]) : 32;
  const int seconds = argc > 4 ? std::stoi(argv[4]) : 10;
  pg::PostgresConfig config;
  config.url = argv[1];
  config.pool.max = argc > 5 ? std::stoi(argv[5]) : 8;
  config.pool.min = config.pool.max;
  if (argc > 6) config.write_batch_size = std::stoi(argv[6]);
  StderrLogger logger;
  prometheus::Registry registry;
  pg::PostgresTaskStore store(config, logger, registry);
  if (auto s = store.start(); !s.isOk() || !store.health().healthy) {
    std::cerr << "start: " << s.message() << ' ' << store.health().message << '\n';
    return 1;
  }
  std::atomic<appliance::Timestamp> clock{nowMicros()};
  std::atomic<bool> stop{false};
  // Latency histograms per thread: 10 us buckets up to 100 ms, then 1 ms buckets to 10 s
  // (bounded memory, so the peak RSS printed is the store's, not the samples').
  constexpr int kFine = 10'000, kCoarse = 9'900;
  auto bucketOf = [](double ms) {
    if (ms < 100) return static_cast<int>(ms * 100);
    return std::min(kFine + static_cast<int>(ms - 100), kFine + kCoarse - 1);
  };
  auto bucketMs = [](int b) { return b < kFine ? b / 100.0 : 100.0 + (b - kFine); };
  std::vector<std::vector<std::uint32_t>> latencies(threads);
  std::vector<std::map<StatusCode, long>> outcomes(threads);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::mt19937_64 random(t);
      latencies[t].assign(kFine + kCoarse, 0);
      for (long i = 0; !stop.load(std::memory_order_relaxed); ++i) {
        const std::int64_t id = 1 + static_cast<std::int64_t>(random() % 10000);
        std::string what = op == "mixed" ? (i % 10 < 6   ? "get"
                                            : i % 10 < 8 ? "update"
                                            : i % 10 < 9 ? "list"
                                                         : "create")
                                         : op;
        const auto start = Clock::now();
        StatusCode code;
        if (what == "get") {
          code = store.get(id).status().code();
        } else if (what == "list") {
          appliance::TaskQuery query;
          query.limit = 100;
          code = store.list(query).status().code();
        } else if (what == "create") {
          code = store
                     .create({"bench " + std::to_string(random()), "some content", "2025-01-01",
                              clock.fetch_add(1)})
                     .status()
                     .code();
        } else {
          appliance::TaskPatch patch;
          patch.done = (i & 1) != 0;
          patch.request_at = clock.fetch_add(1);
          code = store.update(id, patch).status().code();
        }
        ++latencies[t][bucketOf(
            std::chrono::duration<double, std::milli>(Clock::now() - start).count())];
        ++outcomes[t][code];
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  stop = true;
  for (auto& w : workers) w.join();
  std::vector<std::uint64_t> merged(kFine + kCoarse, 0);
  std::map<StatusCode, long> total;
  std::uint64_t count = 0;
  for (int t = 0; t < threads; ++t) {
    for (int b = 0; b < kFine + kCoarse; ++b) merged[b] += latencies[t][b];
    for (auto [code, n] : outcomes[t]) total[code] += n;
  }
  for (auto n : merged) count += n;
  auto pct = [&](double p) {
    const auto target = static_cast<std::uint64_t>(p * static_cast<double>(count));
    std::uint64_t seen = 0;
    for (int b = 0; b < kFine + kCoarse; ++b) {
      seen += merged[b];
      if (seen > target) return bucketMs(b);
    }
    return bucketMs(kFine + kCoarse - 1);
  };
  std::printf(
      "%s: %d threads, pool.max %d, batch %d, %ds: %.0f ops/s, p50 %.2f ms, p99 %.2f ms, "
      "peak RSS%s\n",
      op.c_str(), threads, config.pool.max, config.write_batch_size, seconds,
      static_cast<double>(count) / seconds, pct(0.5), pct(0.99), peakRss().c_str());
  for (auto [code, n] : total) std::printf("  %s: %ld\n", appliance::statusCodeName(code), n);
  store.stop();
  return 0;
}
