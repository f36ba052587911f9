// examples/memory_store against the shared TaskStore conformance suite.
#include <memory>

#include "appliance/context.h"
#include "memory_task_store.h"
#include "task_store_conformance.h"

namespace {

using appliance::plugins::memory_store::MemoryTaskStore;
using appliance::testing::StoreFactory;
using appliance::testing::TaskStoreConformance;

class SystemClock : public appliance::Clock {
 public:
  std::chrono::system_clock::time_point now() const override {
    return std::chrono::system_clock::now();
  }
  std::chrono::steady_clock::time_point steadyNow() const override {
    return std::chrono::steady_clock::now();
  }
};

const SystemClock kClock;

INSTANTIATE_TEST_SUITE_P(MemoryStore, TaskStoreConformance,
                         ::testing::Values(StoreFactory{
                             "memory_store",
                             [] { return std::make_shared<MemoryTaskStore>(kClock, 1'000'000); }}),
                         appliance::testing::storeFactoryName);

}  // namespace
