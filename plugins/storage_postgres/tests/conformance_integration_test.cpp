// The shared TaskStore conformance suite (tests/support) against PostgresTaskStore, each test
// on a fresh database: once through its blocking TaskStore calls, once ("postgres_async")
// through its AsyncTaskStore calls, which the task API uses.
#include <chrono>
#include <memory>
#include <thread>

#include "async_task_store_adapter.h"
#include "pg_test_support.h"
#include "task_store_conformance.h"

namespace {

using appliance::testing::AsyncAsBlockingTaskStore;
using appliance::testing::RetentionStore;
using appliance::testing::RetentionStoreFactory;
using appliance::testing::StoreFactory;
using appliance::testing::TaskStoreConformance;
using appliance::testing::TaskStoreRetentionConformance;
namespace pg = appliance::plugins::storage_postgres;

// Owns the database and the store; the shared_ptr the suite gets aliases the store.
struct StoreOnFreshDatabase {
  pg::testing::TestDatabase db;
  pg::testing::RunningStore store{db.url()};
};

std::shared_ptr<appliance::TaskStore> makeStore() {
  auto holder = std::make_shared<StoreOnFreshDatabase>();
  if (!holder->store.started.isOk()) {
    ADD_FAILURE() << "store did not start: " << holder->store.started.message();
    return nullptr;
  }
  return std::shared_ptr<appliance::TaskStore>(holder, holder->store.store.get());
}

// The same store, its writes and GETs through the AsyncTaskStore calls, its lists through
// AsyncTaskLister.
std::shared_ptr<appliance::TaskStore> asyncPath(std::shared_ptr<appliance::TaskStore> store,
                                                pg::PostgresTaskStore& async) {
  if (!store) return nullptr;
  return std::make_shared<AsyncAsBlockingTaskStore>(std::move(store), async, &async);
}

std::shared_ptr<appliance::TaskStore> makeAsyncStore() {
  auto store = makeStore();
  return store ? asyncPath(store, static_cast<pg::PostgresTaskStore&>(*store)) : nullptr;
}

INSTANTIATE_TEST_SUITE_P(Postgres, TaskStoreConformance,
                         ::testing::Values(StoreFactory{"postgres", makeStore},
                                           StoreFactory{"postgres_async", makeAsyncStore}),
                         appliance::testing::storeFactoryName);

// The window runs on the server's clock (statement_timestamp()), which on the test cluster is
// this machine's: `now` reads the system clock and `advance` waits.
struct RetentionStoreOnFreshDatabase {
  explicit RetentionStoreOnFreshDatabase(std::chrono::milliseconds retention)
      : store(db.url(),
              [retention](pg::PostgresConfig& config) { config.tombstone_retention = retention; }) {
  }
  pg::testing::TestDatabase db;
  pg::testing::RunningStore store;
};

RetentionStore makeRetentionStore(std::chrono::milliseconds retention) {
  auto holder = std::make_shared<RetentionStoreOnFreshDatabase>(retention);
  if (!holder->store.started.isOk()) {
    ADD_FAILURE() << "store did not start: " << holder->store.started.message();
    return {};
  }
  RetentionStore target;
  target.store = std::shared_ptr<appliance::TaskStore>(holder, holder->store.store.get());
  target.now = [] {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  target.advance = [](std::chrono::milliseconds by) { std::this_thread::sleep_for(by); };
  return target;
}

RetentionStore makeAsyncRetentionStore(std::chrono::milliseconds retention) {
  RetentionStore target = makeRetentionStore(retention);
  if (target.store) {
    target.store = asyncPath(target.store, static_cast<pg::PostgresTaskStore&>(*target.store));
  }
  return target;
}

INSTANTIATE_TEST_SUITE_P(Postgres, TaskStoreRetentionConformance,
                         ::testing::Values(RetentionStoreFactory{"postgres", makeRetentionStore},
                                           RetentionStoreFactory{"postgres_async",
                                                                 makeAsyncRetentionStore}),
                         appliance::testing::retentionFactoryName);

}  // namespace
