// Micro-benchmarks of SqliteTaskStore on a real file (synchronous=full unless stated):
// GET by id on the reader pool, and PUT by id with and without group commit.
//   build: cmake --build <dir> --target sqlite_store_bench
//   run:   <dir>/bin/sqlite_store_bench [--benchmark_filter=Update]
// Put the temp folder on the disk you care about with TMPDIR=...
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "sqlite_task_store.h"

namespace {

using appliance::NewTask;
using appliance::TaskPatch;
using appliance::Timestamp;
using appliance::plugins::storage_sqlite::SqliteTaskStore;
using appliance::plugins::storage_sqlite::StoreOptions;
using appliance::plugins::storage_sqlite::Synchronous;

constexpr int kTasks = 1000;

struct Fixture {
  std::string dir;
  std::unique_ptr<SqliteTaskStore> store;
  std::vector<std::int64_t> ids;
};
Fixture* fixture = nullptr;
std::atomic<Timestamp> request_clock{1'700'000'000'000'000};

// range(0): max_batch (1 = one commit per request), range(1): 1 = synchronous=normal.
void setUp(const benchmark::State& state) {
  fixture = new Fixture;
  std::string pattern = (std::filesystem::temp_directory_path() / "sqlite_bench_XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) std::abort();
  fixture->dir = pattern;
  StoreOptions options;
  options.path = pattern + "/bench.db";
  options.max_batch = static_cast<std::size_t>(state.range(0));
  options.synchronous = state.range(1) == 1 ? Synchronous::kNormal : Synchronous::kFull;
  fixture->store = std::make_unique<SqliteTaskStore>(options);
  if (!fixture->store->open().isOk()) std::abort();
  for (int i = 0; i < kTasks; ++i) {
    NewTask task;
    task.title = "task " + std::to_string(i);
    task.content = "some content for the benchmark";
    task.due_date = "2030-01-01";
    task.request_at = ++request_clock;
    auto created = fixture->store->create(task);
    if (!created.isOk()) std::abort();
    fixture->ids.push_back(created->id);
  }
}

void tearDown(const benchmark::State&) {
  fixture->store.reset();
  std::error_code ignored;
  std::filesystem::remove_all(fixture->dir, ignored);
  delete fixture;
  fixture = nullptr;
}

void getById(benchmark::State& state) {
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * 97;
  for (auto _ : state) {
    auto task = fixture->store->get(fixture->ids[i++ % fixture->ids.size()]);
    if (!task.isOk()) state.SkipWithError(task.status().message().c_str());
    benchmark::DoNotOptimize(task);
  }
}

void updateById(benchmark::State& state) {
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * 97;
  std::int64_t conflicts = 0;
  TaskPatch patch;
  patch.content = "updated content";
  for (auto _ : state) {
    patch.request_at = ++request_clock;
    auto task = fixture->store->update(fixture->ids[i++ % fixture->ids.size()], patch);
    if (!task.isOk()) ++conflicts;  // racing threads may be stale; anything else is a bug here
  }
  state.counters["not_ok"] =
      benchmark::Counter(static_cast<double>(conflicts), benchmark::Counter::kAvgThreads);
}

BENCHMARK(getById)
    ->Setup(setUp)
    ->Teardown(tearDown)
    ->Args({64, 0})
    ->Threads(1)
    ->Threads(4)
    ->UseRealTime();
BENCHMARK(updateById)
    ->Setup(setUp)
    ->Teardown(tearDown)
    ->ArgNames({"max_batch", "sync_normal"})
    ->Args({1, 0})
    ->Args({64, 0})
    ->Args({64, 1})
    ->Threads(1)
    ->Threads(16)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
