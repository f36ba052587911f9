// The SDK's reference InMemoryTaskStore against the shared TaskStore conformance suite.
#include <memory>

#include "appliance/testing/in_memory_task_store.h"
#include "task_store_conformance.h"

namespace {

using appliance::testing::InMemoryTaskStore;
using appliance::testing::StoreFactory;
using appliance::testing::TaskStoreConformance;

INSTANTIATE_TEST_SUITE_P(InMemory, TaskStoreConformance,
                         ::testing::Values(StoreFactory{
                             "in_memory", [] { return std::make_shared<InMemoryTaskStore>(); }}),
                         appliance::testing::storeFactoryName);

}  // namespace
