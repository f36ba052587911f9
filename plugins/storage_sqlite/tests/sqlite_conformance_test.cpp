// SqliteTaskStore against the shared TaskStore conformance suite: with group commit (the
// default) and without it (one request per transaction, one reader); and the retention
// window's suite on a manual clock.
#include <memory>

#include "appliance/testing/fake_context.h"
#include "sqlite_task_store.h"
#include "task_store_conformance.h"
#include "temp_dir.h"

namespace appliance::plugins::storage_sqlite {
namespace {

using appliance::testing::RetentionStore;
using appliance::testing::RetentionStoreFactory;
using appliance::testing::StoreFactory;
using appliance::testing::TaskStoreConformance;
using appliance::testing::TaskStoreRetentionConformance;

// A store on a new file in its own temp folder; the folder goes when the store does.
std::shared_ptr<TaskStore> makeStore(std::size_t max_batch, int readers) {
  struct Owned {
    TempDir dir;
    std::shared_ptr<SqliteTaskStore> store;
  };
  auto owned = std::make_shared<Owned>();
  StoreOptions options;
  options.path = owned->dir.file("tasks.db");
  options.max_batch = max_batch;
  options.readers = readers;
  owned->store = std::make_shared<SqliteTaskStore>(options);
  Status status = owned->store->open();
  if (!status.isOk()) {
    ADD_FAILURE() << "opening " << options.path << ": " << status.message();
    return nullptr;
  }
  return std::shared_ptr<TaskStore>(owned, owned->store.get());
}

INSTANTIATE_TEST_SUITE_P(
    Sqlite, TaskStoreConformance,
    ::testing::Values(StoreFactory{"sqlite_group_commit", [] { return makeStore(64, 4); }},
                      StoreFactory{"sqlite_one_per_commit", [] { return makeStore(1, 1); }}),
    appliance::testing::storeFactoryName);

// A store whose retention window runs on its own manual clock.
RetentionStore makeRetentionStore(std::chrono::milliseconds retention) {
  struct Owned {
    TempDir dir;
    appliance::testing::ManualClock clock;
    std::shared_ptr<SqliteTaskStore> store;
  };
  auto owned = std::make_shared<Owned>();
  StoreOptions options;
  options.path = owned->dir.file("tasks.db");
  options.tombstone_retention = retention;
  owned->store = std::make_shared<SqliteTaskStore>(options, &owned->clock);
  Status status = owned->store->open();
  if (!status.isOk()) {
    ADD_FAILURE() << "opening " << options.path << ": " << status.message();
    return {};
  }
  RetentionStore target;
  target.store = std::shared_ptr<TaskStore>(owned, owned->store.get());
  target.now = [owned] {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               owned->clock.now().time_since_epoch())
        .count();
  };
  target.advance = [owned](std::chrono::milliseconds by) { owned->clock.advance(by); };
  return target;
}

INSTANTIATE_TEST_SUITE_P(Sqlite, TaskStoreRetentionConformance,
                         ::testing::Values(RetentionStoreFactory{"sqlite", makeRetentionStore}),
                         appliance::testing::retentionFactoryName);

}  // namespace
}  // namespace appliance::plugins::storage_sqlite
