// memory_store against the SDK's reference semantics (appliance::testing::InMemoryTaskStore),
// plus the plugin's wiring through FakeContext.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <thread>
#include <vector>

#include "appliance/sdk.h"
#include "appliance/testing/fake_context.h"
#include "appliance/testing/in_memory_task_store.h"
#include "memory_task_store.h"

extern "C" const appliance_plugin_descriptor* appliance_plugin();

namespace {

using appliance::NewTask;
using appliance::Result;
using appliance::Status;
using appliance::StatusCode;
using appliance::Task;
using appliance::TaskPatch;
using appliance::TaskQuery;
using appliance::TaskStore;
using appliance::plugins::memory_store::MemoryTaskStore;
using testing::HasSubstr;

void expectSameTask(const Task& a, const Task& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.title, b.title);
  EXPECT_EQ(a.content, b.content);
  EXPECT_EQ(a.due_date, b.due_date);
  EXPECT_EQ(a.done, b.done);
  EXPECT_EQ(a.created_at, b.created_at);
  EXPECT_EQ(a.updated_at, b.updated_at);
  EXPECT_EQ(a.last_request_at, b.last_request_at);
}

template <class T>
void expectSameResult(const Result<T>& ours, const Result<T>& reference, int step) {
  SCOPED_TRACE("step " + std::to_string(step));
  ASSERT_EQ(ours.status().code(), reference.status().code()) << ours.status().message();
  if constexpr (std::is_same_v<T, Task>) {
    if (ours.isOk()) expectSameTask(*ours, *reference);
  }
  if constexpr (std::is_same_v<T, appliance::TaskPage>) {
    if (!ours.isOk()) return;
    ASSERT_EQ(ours->tasks.size(), reference->tasks.size());
    EXPECT_EQ(ours->has_more, reference->has_more);
    for (std::size_t i = 0; i < ours->tasks.size(); ++i)
      expectSameTask(ours->tasks[i], reference->tasks[i]);
  }
}

// Thousands of random operations with few titles, ids and timestamps, so that replays, stale
// writes, tombstones and cursors all occur; every answer must equal the reference's.
TEST(MemoryTaskStore, AnswersExactlyLikeTheReferenceStore) {
  appliance::testing::ManualClock clock;
  MemoryTaskStore ours(clock, 1'000'000);
  appliance::testing::InMemoryTaskStore reference(&clock);
  std::mt19937 random(20240501);
  auto pick = [&](int n) { return static_cast<int>(random() % static_cast<unsigned>(n)); };
  const char* titles[] = {"alpha", "beta", "gamma"};
  const char* dates[] = {"2030-01-01", "2030-06-15", "2031-12-31"};
  for (int step = 0; step < 5000; ++step) {
    clock.advance(std::chrono::microseconds(1 + pick(3)));
    const std::int64_t id = 1 + pick(12);
    const appliance::Timestamp at = pick(400);
    switch (pick(5)) {
      case 0: {
        NewTask t{titles[pick(3)], "content " + std::to_string(step), dates[pick(3)], at};
        expectSameResult(ours.create(t), reference.create(t), step);
        break;
      }
      case 1: {
        TaskPatch p;
        if (pick(2)) p.title = titles[pick(3)];
        if (pick(2)) p.done = pick(2) == 1;
        if (pick(2)) p.due_date = dates[pick(3)];
        p.request_at = at;
        expectSameResult(ours.update(id, p), reference.update(id, p), step);
        break;
      }
      case 2:
        ASSERT_EQ(ours.remove(id, at).code(), reference.remove(id, at).code()) << "step " << step;
        break;
      case 3:
        expectSameResult(ours.get(id), reference.get(id), step);
        break;
      default: {
        TaskQuery q;
        if (pick(2)) q.done = pick(2) == 1;
        if (pick(3) == 0) q.due_before = dates[pick(3)];
        if (pick(3) == 0) q.due_after = dates[pick(3)];
        q.before_id = pick(3) == 0 ? id : 0;
        q.limit = static_cast<std::size_t>(pick(5));
        expectSameResult(ours.list(q), reference.list(q), step);
      }
    }
    if (testing::Test::HasFatalFailure()) return;
  }
  auto a = ours.counts();
  auto b = reference.counts();
  EXPECT_EQ(a->done, b->done);
  EXPECT_EQ(a->open, b->open);
}

// Racing writers end in the state of the accepted request with the highest timestamp.
TEST(MemoryTaskStore, ConcurrentUpdatesKeepTheNewestRequest) {
  appliance::testing::ManualClock clock;
  MemoryTaskStore store(clock, 100);
  const Task task = store.create({"race", "start", "2030-01-01", 1}).value();
  std::vector<appliance::Timestamp> newest_sent(8, 0);
  std::vector<std::thread> writers;
  for (int w = 0; w < 8; ++w) {
    writers.emplace_back([&store, &task, &newest_sent, w] {
      std::mt19937 random(static_cast<unsigned>(w));
      for (int i = 0; i < 500; ++i) {
        TaskPatch p;
        p.request_at = 2 + static_cast<appliance::Timestamp>(random() % 1'000'000);
        p.content = std::to_string(p.request_at);
        newest_sent[w] = std::max(newest_sent[w], p.request_at);
        (void)store.update(task.id, p);
      }
    });
  }
  for (auto& t : writers) t.join();
  const Task final_state = store.get(task.id).value();
  const auto newest = *std::max_element(newest_sent.begin(), newest_sent.end());
  EXPECT_EQ(final_state.last_request_at, newest);
  EXPECT_EQ(final_state.content, std::to_string(newest));
}

TEST(MemoryTaskStore, RefusesCreatesPastMaxTasksCountingTombstones) {
  appliance::testing::ManualClock clock;
  MemoryTaskStore store(clock, 2);
  ASSERT_TRUE(store.create({"a", "x", "2030-01-01", 1}).isOk());
  const Task b = store.create({"b", "x", "2030-01-01", 1}).value();
  ASSERT_TRUE(store.remove(b.id, 2).isOk());
  Result<Task> full = store.create({"c", "x", "2030-01-01", 1});
  EXPECT_EQ(full.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(full.status().message(), HasSubstr("raise memory_store.max_tasks"));
}

// The plugin as the host sees it: descriptor, config, and the service it provides.
TEST(MemoryStorePlugin, ProvidesTaskStoreToOtherPlugins) {
  const appliance_plugin_descriptor* d = appliance_plugin();
  EXPECT_STREQ(d->name, "memory_store");
  EXPECT_STREQ(d->provides_services, "task_store");
  std::unique_ptr<appliance::Plugin, void (*)(appliance::Plugin*) noexcept> plugin(d->create(),
                                                                                   d->destroy);
  auto root = appliance::ConfigNode::parse("memory_store: {max_tasks: 1}\n", "test.yaml");
  ASSERT_TRUE(plugin->configure(root->child("memory_store")).isOk());
  appliance::testing::FakeContext context("memory_store");
  ASSERT_TRUE(plugin->init(context).isOk());

  std::shared_ptr<TaskStore> store = context.services().find<TaskStore>();
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(store->create({"one", "x", "2030-01-01", 1}).isOk());
  EXPECT_EQ(store->create({"two", "x", "2030-01-01", 1}).status().code(), StatusCode::kUnavailable);
}

TEST(MemoryStorePlugin, RejectsBadConfigWithFileLineAndKey) {
  const appliance_plugin_descriptor* d = appliance_plugin();
  std::unique_ptr<appliance::Plugin, void (*)(appliance::Plugin*) noexcept> plugin(d->create(),
                                                                                   d->destroy);
  auto root =
      appliance::ConfigNode::parse("memory_store:\n  max_tasks: 0\n  path: /tmp/x\n", "test.yaml");
  Status s = plugin->configure(root->child("memory_store"));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("test.yaml:2: memory_store.max_tasks: must be"));
  EXPECT_THAT(s.message(), HasSubstr("test.yaml:3: memory_store.path: unknown key"));
}

}  // namespace
