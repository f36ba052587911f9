// The shared KvStore conformance suite (tests/support) against PostgresKvStore, each test on
// a fresh database. Expiry runs on the store's manual clock (the FakeContext's); reopening
// stops the store and starts a new one (a new pool, as a new plugin instance would) on the
// same database.
#include <chrono>
#include <memory>
#include <vector>

#include "kv_store_conformance.h"
#include "pg_test_support.h"
#include "postgres_kv_store.h"

namespace {

using appliance::testing::KvStoreConformance;
using appliance::testing::KvStoreFactory;
using appliance::testing::KvTestStore;
namespace pg = appliance::plugins::storage_postgres;

struct Owned {
  pg::testing::TestDatabase db;
  // Every generation started, so that a pointer handed out before a reopen stays valid.
  std::vector<std::unique_ptr<pg::testing::RunningStore>> stores;
  std::vector<std::shared_ptr<pg::PostgresKvStore>> kv;

  appliance::testing::ManualClock& clock() { return stores.back()->context.manual_clock; }

  std::shared_ptr<pg::PostgresKvStore> start() {
    auto running = std::make_unique<pg::testing::RunningStore>(db.url());
    if (!running->started.isOk()) {
      ADD_FAILURE() << "store did not start: " << running->started.message();
      return nullptr;
    }
    if (!stores.empty()) running->context.manual_clock.set(clock().now());
    // Non-owning: `stores` keeps the task store alive as long as the kv store.
    std::shared_ptr<pg::PostgresTaskStore> tasks(std::shared_ptr<void>(), running->store.get());
    kv.push_back(std::make_shared<pg::PostgresKvStore>(tasks, &running->context.manual_clock));
    stores.push_back(std::move(running));
    return kv.back();
  }

  ~Owned() {
    kv.clear();
    stores.clear();  // stop every pool before the database is dropped
  }
};

KvTestStore makeStore() {
  auto owned = std::make_shared<Owned>();
  KvTestStore target;
  std::shared_ptr<pg::PostgresKvStore> kv = owned->start();
  if (!kv) return target;
  target.store = std::shared_ptr<appliance::KvStore>(owned, kv.get());
  target.now = [owned] {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               owned->clock().now().time_since_epoch())
        .count();
  };
  target.advance = [owned](std::chrono::milliseconds by) { owned->clock().advance(by); };
  target.reopen = [owned]() -> std::shared_ptr<appliance::KvStore> {
    owned->stores.back()->store->stop();
    std::shared_ptr<pg::PostgresKvStore> fresh = owned->start();
    if (!fresh) return nullptr;
    return std::shared_ptr<appliance::KvStore>(owned, fresh.get());
  };
  return target;
}

INSTANTIATE_TEST_SUITE_P(Postgres, KvStoreConformance,
                         ::testing::Values(KvStoreFactory{"postgres", makeStore}),
                         appliance::testing::kvStoreFactoryName);

}  // namespace
