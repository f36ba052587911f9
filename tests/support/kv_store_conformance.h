#pragma once
// The KvStore conformance suite: every rule of kv_store.h (versions, compare-and-set, expiry,
// list order and paging, namespaces, atomic batches, limits, concurrency, durability), as
// value-parameterised GoogleTest cases run against any store. Each provider instantiates it
// once:
//
//   #include "kv_store_conformance.h"
//   using appliance::testing::KvStoreConformance;  // the macro needs an unqualified name
//   INSTANTIATE_TEST_SUITE_P(Sqlite, KvStoreConformance,
//                            ::testing::Values(KvStoreFactory{"sqlite", [] { return ...; }}),
//                            appliance::testing::kvStoreFactoryName);
//
// `make` returns a fresh, open, empty store (a temp file or a new database) with its notion
// of time; whatever it owns is released when the last shared_ptr it handed out dies, right
// after the test. Link target: kv_store_conformance.

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "appliance/kv_store.h"

namespace appliance::testing {

struct KvTestStore {
  std::shared_ptr<KvStore> store;
  // The store's current time, UTC microseconds (the clock it judges expiry by).
  std::function<Timestamp()> now;
  // Moves that clock forward by `by` (a manual clock), or waits that long (a real one).
  std::function<void(std::chrono::milliseconds by)> advance;
  // Closes the store (drops every reference the suite handed back) and opens a new one on the
  // same data: a file reopened, a new plugin instance on the same database. Empty for stores
  // that are not durable (the durability case is then skipped).
  std::function<std::shared_ptr<KvStore>()> reopen;
};

struct KvStoreFactory {
  std::string name;  // the test-name suffix: letters, digits and '_'
  std::function<KvTestStore()> make;
};

std::string kvStoreFactoryName(const ::testing::TestParamInfo<KvStoreFactory>& info);
void PrintTo(const KvStoreFactory& factory, std::ostream* out);

class KvStoreConformance : public ::testing::TestWithParam<KvStoreFactory> {
 protected:
  void SetUp() override;
  void TearDown() override;

  KvTestStore target_;
  KvStore* store_ = nullptr;  // target_.store.get()
};

// The suite's test cases live in a static library; this reference from every file that
// includes the header makes the linker keep them.
int kvStoreConformanceLinkAnchor();
namespace {
[[maybe_unused]] const int kKvStoreConformanceLinked = kvStoreConformanceLinkAnchor();
}  // namespace

}  // namespace appliance::testing
