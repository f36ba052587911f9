// The shared TaskStore conformance suite (tests/support) against PostgresTaskStore, each test
// on a fresh database.
#include <memory>

#include "pg_test_support.h"
#include "task_store_conformance.h"

namespace {

using appliance::testing::StoreFactory;
using appliance::testing::TaskStoreConformance;
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

INSTANTIATE_TEST_SUITE_P(Postgres, TaskStoreConformance,
                         ::testing::Values(StoreFactory{"postgres", makeStore}),
                         appliance::testing::storeFactoryName);

}  // namespace
