#pragma once
// The TaskStore conformance suite: every ordering rule of task_store.h, as value-parameterised
// GoogleTest cases, run against any store. Each provider instantiates it once:
//
//   #include "task_store_conformance.h"
//   using appliance::testing::StoreFactory;
//   using appliance::testing::TaskStoreConformance;  // the macro needs an unqualified name
//   INSTANTIATE_TEST_SUITE_P(Sqlite, TaskStoreConformance,
//                            ::testing::Values(StoreFactory{"sqlite", [] { return ...; }}),
//                            appliance::testing::storeFactoryName);
//
// `make` must return a fresh, open, empty store for every test (a temp file or a truncated
// database); whatever it owns is released when the returned shared_ptr dies, right after the
// test. Link target: task_store_conformance.
//
// A store with a tombstone retention window (task_store.h) also instantiates
// TaskStoreRetentionConformance with a RetentionStoreFactory.

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "appliance/task_store.h"

namespace appliance::testing {

struct StoreFactory {
  std::string name;  // the test-name suffix: letters, digits and '_'
  std::function<std::shared_ptr<TaskStore>()> make;
};

// Names instantiated tests after StoreFactory::name.
std::string storeFactoryName(const ::testing::TestParamInfo<StoreFactory>& info);
void PrintTo(const StoreFactory& factory, std::ostream* out);

class TaskStoreConformance : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Creates a task that must be accepted; fails the test otherwise.
  Task mustCreate(const std::string& title, Timestamp request_at,
                  const std::string& due_date = "2030-01-01");
  // Every live task, newest first, via list() pages of `page_size`.
  std::vector<Task> listAll(TaskQuery query = {}, std::size_t page_size = 1000);

  std::shared_ptr<TaskStore> store_;
};

// A store under test for the retention rule, with its notion of time.
struct RetentionStore {
  std::shared_ptr<TaskStore> store;
  std::function<Timestamp()> now;  // the store's current time (its clock, or its server's)
  // Moves the store's clock forward by `by` (a manual clock), or waits that long (a real one).
  std::function<void(std::chrono::milliseconds by)> advance;
};

struct RetentionStoreFactory {
  std::string name;  // the test-name suffix: letters, digits and '_'
  // A fresh, open, empty store whose retention window is `retention` (0: none).
  std::function<RetentionStore(std::chrono::milliseconds retention)> make;
};

std::string retentionFactoryName(const ::testing::TestParamInfo<RetentionStoreFactory>& info);
void PrintTo(const RetentionStoreFactory& factory, std::ostream* out);

class TaskStoreRetentionConformance : public ::testing::TestWithParam<RetentionStoreFactory> {
 protected:
  void TearDown() override;
  // Makes this test's store (target_); fails the test when the factory cannot.
  void makeStore(std::chrono::milliseconds retention);

  RetentionStore target_;
};

// The suite's test cases live in a static library; this reference from every file that
// includes the header makes the linker keep them.
int taskStoreConformanceLinkAnchor();
namespace {
[[maybe_unused]] const int kTaskStoreConformanceLinked = taskStoreConformanceLinkAnchor();
}  // namespace

}  // namespace appliance::testing
