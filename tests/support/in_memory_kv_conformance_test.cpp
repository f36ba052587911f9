// The SDK's reference InMemoryKvStore against the shared KvStore conformance suite, on a
// manual clock (it is not durable, so the reopening case is skipped).
#include <chrono>
#include <memory>

#include "appliance/testing/fake_context.h"
#include "appliance/testing/in_memory_kv_store.h"
#include "kv_store_conformance.h"

namespace {

using appliance::testing::InMemoryKvStore;
using appliance::testing::KvStoreConformance;
using appliance::testing::KvStoreFactory;
using appliance::testing::KvTestStore;
using appliance::testing::ManualClock;

KvTestStore makeStore() {
  struct Owned {
    ManualClock clock;
    InMemoryKvStore store{&clock};
  };
  auto owned = std::make_shared<Owned>();
  KvTestStore target;
  target.store = std::shared_ptr<appliance::KvStore>(owned, &owned->store);
  target.now = [owned] {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               owned->clock.now().time_since_epoch())
        .count();
  };
  target.advance = [owned](std::chrono::milliseconds by) { owned->clock.advance(by); };
  return target;
}

INSTANTIATE_TEST_SUITE_P(InMemory, KvStoreConformance,
                         ::testing::Values(KvStoreFactory{"in_memory", makeStore}),
                         appliance::testing::kvStoreFactoryName);

}  // namespace
