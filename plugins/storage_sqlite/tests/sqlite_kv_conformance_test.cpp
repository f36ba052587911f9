// SqliteKvStore against the shared KvStore conformance suite, on a manual clock, with group
// commit (the default) and without it; reopening closes the file and opens it again.
#include <memory>
#include <vector>

#include "appliance/testing/fake_context.h"
#include "kv_store_conformance.h"
#include "sqlite_kv_store.h"
#include "sqlite_task_store.h"
#include "temp_dir.h"

namespace appliance::plugins::storage_sqlite {
namespace {

using appliance::testing::KvStoreConformance;
using appliance::testing::KvStoreFactory;
using appliance::testing::KvTestStore;

struct Owned {
  TempDir dir;
  appliance::testing::ManualClock clock;
  StoreOptions options;
  // Every generation opened, so that a pointer handed out before a reopen stays valid.
  std::vector<std::shared_ptr<SqliteTaskStore>> tasks;
  std::vector<std::shared_ptr<SqliteKvStore>> kv;

  std::shared_ptr<SqliteKvStore> open() {
    auto store = std::make_shared<SqliteTaskStore>(options, &clock);
    Status status = store->open();
    if (!status.isOk()) {
      ADD_FAILURE() << "opening " << options.path << ": " << status.message();
      return nullptr;
    }
    tasks.push_back(store);
    kv.push_back(std::make_shared<SqliteKvStore>(store, &clock));
    return kv.back();
  }
};

KvTestStore makeStore(std::size_t max_batch, int readers) {
  auto owned = std::make_shared<Owned>();
  owned->options.path = owned->dir.file("kv.db");
  owned->options.max_batch = max_batch;
  owned->options.readers = readers;
  KvTestStore target;
  std::shared_ptr<SqliteKvStore> kv = owned->open();
  if (!kv) return target;
  target.store = std::shared_ptr<KvStore>(owned, kv.get());
  target.now = [owned] {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               owned->clock.now().time_since_epoch())
        .count();
  };
  target.advance = [owned](std::chrono::milliseconds by) { owned->clock.advance(by); };
  // Captures a weak pointer: the store the suite holds keeps `owned` alive, not the closure.
  std::weak_ptr<Owned> weak = owned;
  target.reopen = [weak]() -> std::shared_ptr<KvStore> {
    auto o = weak.lock();
    if (!o) return nullptr;
    o->tasks.back()->close();
    std::shared_ptr<SqliteKvStore> fresh = o->open();
    if (!fresh) return nullptr;
    return std::shared_ptr<KvStore>(o, fresh.get());
  };
  return target;
}

INSTANTIATE_TEST_SUITE_P(
    Sqlite, KvStoreConformance,
    ::testing::Values(KvStoreFactory{"sqlite_group_commit", [] { return makeStore(64, 4); }},
                      KvStoreFactory{"sqlite_one_per_commit", [] { return makeStore(1, 1); }}),
    appliance::testing::kvStoreFactoryName);

}  // namespace
}  // namespace appliance::plugins::storage_sqlite
