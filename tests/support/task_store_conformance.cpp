#include "task_store_conformance.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <latch>
#include <mutex>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace appliance::testing {

int taskStoreConformanceLinkAnchor() { return 1; }

std::string storeFactoryName(const ::testing::TestParamInfo<StoreFactory>& info) {
  return info.param.name;
}

void PrintTo(const StoreFactory& factory, std::ostream* out) { *out << factory.name; }

void TaskStoreConformance::SetUp() {
  ASSERT_TRUE(GetParam().make) << "StoreFactory '" << GetParam().name << "' has no make()";
  store_ = GetParam().make();
  ASSERT_NE(store_, nullptr) << "StoreFactory '" << GetParam().name << "' returned no store";
}

void TaskStoreConformance::TearDown() { store_.reset(); }

namespace {

// 2023-11-14T22:13:20Z; request timestamps in the tests are offsets from here.
constexpr Timestamp kT0 = 1'700'000'000'000'000;
constexpr Timestamp kSecond = 1'000'000;

::testing::AssertionResult hasCode(const Status& status, StatusCode want) {
  if (status.code() == want) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "expected " << statusCodeName(want) << ", got "
                                       << statusCodeName(status.code()) << ": " << status.message();
}

NewTask newTask(std::string title, Timestamp request_at, std::string due_date = "2030-01-01") {
  NewTask task;
  task.title = std::move(title);
  task.content = "content of " + task.title;
  task.due_date = std::move(due_date);
  task.request_at = request_at;
  return task;
}

TaskPatch patchAt(Timestamp request_at) {
  TaskPatch patch;
  patch.request_at = request_at;
  return patch;
}

// Problems reported from several threads; the first few are kept.
struct ProblemLog {
  std::mutex mutex;
  std::vector<std::string> problems;
  void problem(std::string text) {
    std::lock_guard lock(mutex);
    if (problems.size() < 10) problems.push_back(std::move(text));
  }
};

std::vector<std::int64_t> idsOf(const std::vector<Task>& tasks) {
  std::vector<std::int64_t> ids;
  for (const Task& task : tasks) ids.push_back(task.id);
  return ids;
}

}  // namespace

Task TaskStoreConformance::mustCreate(const std::string& title, Timestamp request_at,
                                      const std::string& due_date) {
  Result<Task> created = store_->create(newTask(title, request_at, due_date));
  EXPECT_TRUE(created.isOk()) << "create '" << title << "': " << created.status().message();
  return created.isOk() ? created.value() : Task{};
}

std::vector<Task> TaskStoreConformance::listAll(TaskQuery query, std::size_t page_size) {
  std::vector<Task> all;
  query.limit = page_size;
  for (int pages = 0; pages < 10'000; ++pages) {
    Result<TaskPage> page = store_->list(query);
    EXPECT_TRUE(page.isOk()) << page.status().message();
    if (!page.isOk()) break;
    all.insert(all.end(), page->tasks.begin(), page->tasks.end());
    if (!page->has_more) break;
    EXPECT_FALSE(page->tasks.empty()) << "has_more with an empty page";
    if (page->tasks.empty()) break;
    query.before_id = page->tasks.back().id;
  }
  return all;
}

// ---- create / get ---------------------------------------------------------------------------

TEST_P(TaskStoreConformance, CreateReturnsTheStoredTask) {
  NewTask in = newTask("write the report", kT0 + kSecond, "2030-05-17");
  Result<Task> created = store_->create(in);
  ASSERT_TRUE(created.isOk()) << created.status().message();
  EXPECT_GT(created->id, 0);
  EXPECT_EQ(created->title, in.title);
  EXPECT_EQ(created->content, in.content);
  EXPECT_EQ(created->due_date, "2030-05-17");
  EXPECT_FALSE(created->done);
  EXPECT_GT(created->created_at, 0);
  EXPECT_GE(created->updated_at, created->created_at);
  EXPECT_EQ(created->last_request_at, kT0 + kSecond);

  Result<Task> got = store_->get(created->id);
  ASSERT_TRUE(got.isOk()) << got.status().message();
  EXPECT_EQ(got->id, created->id);
  EXPECT_EQ(got->title, in.title);
  EXPECT_EQ(got->content, in.content);
  EXPECT_EQ(got->due_date, in.due_date);
  EXPECT_EQ(got->done, false);
  EXPECT_EQ(got->created_at, created->created_at);
  EXPECT_EQ(got->updated_at, created->updated_at);
  EXPECT_EQ(got->last_request_at, kT0 + kSecond);
}

TEST_P(TaskStoreConformance, TextIsStoredExactly) {
  const std::string title = "Ünïcödé 'quotes' \"double\" ; DROP TABLE tasks; --";
  NewTask in = newTask(title, kT0);
  in.content = std::string(2000, 'x') + "\n\ttail";
  Result<Task> created = store_->create(in);
  ASSERT_TRUE(created.isOk()) << created.status().message();
  Result<Task> got = store_->get(created->id);
  ASSERT_TRUE(got.isOk()) << got.status().message();
  EXPECT_EQ(got->title, title);
  EXPECT_EQ(got->content, in.content);
}

TEST_P(TaskStoreConformance, GetOfUnknownIdIsNotFound) {
  mustCreate("exists", kT0);
  EXPECT_TRUE(hasCode(store_->get(999'999).status(), StatusCode::kNotFound));
  EXPECT_TRUE(hasCode(store_->get(0).status(), StatusCode::kNotFound));
  EXPECT_TRUE(hasCode(store_->get(-1).status(), StatusCode::kNotFound));
}

TEST_P(TaskStoreConformance, CreatedTasksGetIncreasingIds) {
  Task a = mustCreate("a", kT0);
  Task b = mustCreate("b", kT0);
  Task c = mustCreate("c", kT0);
  EXPECT_LT(a.id, b.id);
  EXPECT_LT(b.id, c.id);
}

TEST_P(TaskStoreConformance, SameTimestampWithDifferentTitlesIsAccepted) {
  mustCreate("first", kT0);
  Result<Task> second = store_->create(newTask("second", kT0));
  EXPECT_TRUE(second.isOk()) << second.status().message();
}

// ---- list -----------------------------------------------------------------------------------

TEST_P(TaskStoreConformance, ListOfEmptyStoreIsEmpty) {
  Result<TaskPage> page = store_->list({});
  ASSERT_TRUE(page.isOk()) << page.status().message();
  EXPECT_TRUE(page->tasks.empty());
  EXPECT_FALSE(page->has_more);
}

TEST_P(TaskStoreConformance, ListIsNewestFirst) {
  Task a = mustCreate("a", kT0);
  Task b = mustCreate("b", kT0);
  Task c = mustCreate("c", kT0);
  Result<TaskPage> page = store_->list({});
  ASSERT_TRUE(page.isOk()) << page.status().message();
  EXPECT_EQ(idsOf(page->tasks), (std::vector<std::int64_t>{c.id, b.id, a.id}));
  EXPECT_FALSE(page->has_more);
  EXPECT_EQ(page->tasks[0].title, "c");
  EXPECT_EQ(page->tasks[0].content, "content of c");
}

TEST_P(TaskStoreConformance, ListFiltersByDone) {
  Task a = mustCreate("a", kT0);
  Task b = mustCreate("b", kT0);
  Task c = mustCreate("c", kT0);
  TaskPatch done = patchAt(kT0 + kSecond);
  done.done = true;
  ASSERT_TRUE(store_->update(b.id, done).isOk());

  TaskQuery only_done;
  only_done.done = true;
  EXPECT_EQ(idsOf(listAll(only_done)), (std::vector<std::int64_t>{b.id}));
  TaskQuery only_open;
  only_open.done = false;
  EXPECT_EQ(idsOf(listAll(only_open)), (std::vector<std::int64_t>{c.id, a.id}));
  EXPECT_EQ(idsOf(listAll()), (std::vector<std::int64_t>{c.id, b.id, a.id}));
}

TEST_P(TaskStoreConformance, ListFiltersByDueDateStrictly) {
  Task d1 = mustCreate("d1", kT0, "2030-01-01");
  Task d2 = mustCreate("d2", kT0, "2030-01-02");
  Task d3 = mustCreate("d3", kT0, "2030-01-03");

  TaskQuery before;
  before.due_before = "2030-01-02";
  EXPECT_EQ(idsOf(listAll(before)), (std::vector<std::int64_t>{d1.id}));
  TaskQuery after;
  after.due_after = "2030-01-02";
  EXPECT_EQ(idsOf(listAll(after)), (std::vector<std::int64_t>{d3.id}));
  TaskQuery between;
  between.due_after = "2030-01-01";
  between.due_before = "2030-01-03";
  EXPECT_EQ(idsOf(listAll(between)), (std::vector<std::int64_t>{d2.id}));
  TaskQuery across_years;
  across_years.due_before = "2031-01-01";
  across_years.due_after = "2029-12-31";
  EXPECT_EQ(idsOf(listAll(across_years)), (std::vector<std::int64_t>{d3.id, d2.id, d1.id}));
}

TEST_P(TaskStoreConformance, ListCombinesDoneAndDueFilters) {
  Task early_done = mustCreate("early done", kT0, "2030-01-01");
  mustCreate("early open", kT0, "2030-01-01");
  Task late_done = mustCreate("late done", kT0, "2030-06-01");
  TaskPatch done = patchAt(kT0 + kSecond);
  done.done = true;
  ASSERT_TRUE(store_->update(early_done.id, done).isOk());
  ASSERT_TRUE(store_->update(late_done.id, done).isOk());

  TaskQuery query;
  query.done = true;
  query.due_before = "2030-03-01";
  EXPECT_EQ(idsOf(listAll(query)), (std::vector<std::int64_t>{early_done.id}));
}

TEST_P(TaskStoreConformance, ListPaginatesWithKeysetCursor) {
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(mustCreate("t" + std::to_string(i), kT0).id);

  TaskQuery query;
  query.limit = 2;
  Result<TaskPage> first = store_->list(query);
  ASSERT_TRUE(first.isOk()) << first.status().message();
  EXPECT_EQ(idsOf(first->tasks), (std::vector<std::int64_t>{ids[4], ids[3]}));
  EXPECT_TRUE(first->has_more);

  query.before_id = first->tasks.back().id;
  Result<TaskPage> second = store_->list(query);
  ASSERT_TRUE(second.isOk()) << second.status().message();
  EXPECT_EQ(idsOf(second->tasks), (std::vector<std::int64_t>{ids[2], ids[1]}));
  EXPECT_TRUE(second->has_more);

  query.before_id = second->tasks.back().id;
  Result<TaskPage> last = store_->list(query);
  ASSERT_TRUE(last.isOk()) << last.status().message();
  EXPECT_EQ(idsOf(last->tasks), (std::vector<std::int64_t>{ids[0]}));
  EXPECT_FALSE(last->has_more);
}

TEST_P(TaskStoreConformance, ListHasNoMoreWhenLimitEqualsWhatIsLeft) {
  Task a = mustCreate("a", kT0);
  Task b = mustCreate("b", kT0);
  TaskQuery query;
  query.limit = 2;
  Result<TaskPage> page = store_->list(query);
  ASSERT_TRUE(page.isOk()) << page.status().message();
  EXPECT_EQ(idsOf(page->tasks), (std::vector<std::int64_t>{b.id, a.id}));
  EXPECT_FALSE(page->has_more);
}

TEST_P(TaskStoreConformance, ListPagesOfFilteredTasksSkipTombstones) {
  std::vector<std::int64_t> done_ids;
  for (int i = 0; i < 7; ++i) {
    Task task = mustCreate("t" + std::to_string(i), kT0);
    if (i % 2 == 0) {
      TaskPatch done = patchAt(kT0 + kSecond);
      done.done = true;
      ASSERT_TRUE(store_->update(task.id, done).isOk());
      done_ids.insert(done_ids.begin(), task.id);  // newest first
    }
  }
  // Delete one done task in the middle: pages must skip it.
  ASSERT_TRUE(store_->remove(done_ids[1], kT0 + 2 * kSecond).isOk());
  done_ids.erase(done_ids.begin() + 1);

  TaskQuery query;
  query.done = true;
  EXPECT_EQ(idsOf(listAll(query, 1)), done_ids);
  EXPECT_EQ(idsOf(listAll(query, 2)), done_ids);
  EXPECT_EQ(listAll({}, 3).size(), 6u);
}

// ---- update ---------------------------------------------------------------------------------

TEST_P(TaskStoreConformance, UpdateChangesOnlyTheGivenFields) {
  Task task = mustCreate("title", kT0, "2030-01-01");

  TaskPatch content = patchAt(kT0 + kSecond);
  content.content = "new content";
  Result<Task> updated = store_->update(task.id, content);
  ASSERT_TRUE(updated.isOk()) << updated.status().message();
  EXPECT_EQ(updated->id, task.id);
  EXPECT_EQ(updated->title, "title");
  EXPECT_EQ(updated->content, "new content");
  EXPECT_EQ(updated->due_date, "2030-01-01");
  EXPECT_FALSE(updated->done);
  EXPECT_EQ(updated->created_at, task.created_at);
  EXPECT_GE(updated->updated_at, task.updated_at);
  EXPECT_EQ(updated->last_request_at, kT0 + kSecond);

  TaskPatch rest = patchAt(kT0 + 2 * kSecond);
  rest.title = "new title";
  rest.due_date = "2031-02-03";
  rest.done = true;
  updated = store_->update(task.id, rest);
  ASSERT_TRUE(updated.isOk()) << updated.status().message();
  EXPECT_EQ(updated->title, "new title");
  EXPECT_EQ(updated->content, "new content");
  EXPECT_EQ(updated->due_date, "2031-02-03");
  EXPECT_TRUE(updated->done);

  Result<Task> got = store_->get(task.id);
  ASSERT_TRUE(got.isOk()) << got.status().message();
  EXPECT_EQ(got->title, "new title");
  EXPECT_EQ(got->content, "new content");
  EXPECT_EQ(got->due_date, "2031-02-03");
  EXPECT_TRUE(got->done);
  EXPECT_EQ(got->last_request_at, kT0 + 2 * kSecond);

  TaskPatch undo = patchAt(kT0 + 3 * kSecond);
  undo.done = false;
  updated = store_->update(task.id, undo);
  ASSERT_TRUE(updated.isOk()) << updated.status().message();
  EXPECT_FALSE(updated->done);
}

TEST_P(TaskStoreConformance, UpdateWithNoFieldsStillAdvancesTheRequestTimestamp) {
  Task task = mustCreate("title", kT0);
  Result<Task> touched = store_->update(task.id, patchAt(kT0 + kSecond));
  ASSERT_TRUE(touched.isOk()) << touched.status().message();
  EXPECT_EQ(touched->last_request_at, kT0 + kSecond);
  EXPECT_EQ(touched->content, task.content);
  EXPECT_TRUE(
      hasCode(store_->update(task.id, patchAt(kT0 + kSecond)).status(), StatusCode::kConflict));
}

TEST_P(TaskStoreConformance, StaleUpdateIsConflictAndChangesNothing) {
  Task task = mustCreate("title", kT0 + 10 * kSecond);
  for (Timestamp stale : {kT0 + 10 * kSecond, kT0 + 9 * kSecond, kT0}) {
    TaskPatch patch = patchAt(stale);
    patch.title = "stale title";
    patch.content = "stale content";
    patch.done = true;
    EXPECT_TRUE(hasCode(store_->update(task.id, patch).status(), StatusCode::kConflict))
        << "request_at offset " << (stale - kT0);
  }
  Result<Task> got = store_->get(task.id);
  ASSERT_TRUE(got.isOk()) << got.status().message();
  EXPECT_EQ(got->title, "title");
  EXPECT_EQ(got->content, task.content);
  EXPECT_FALSE(got->done);
  EXPECT_EQ(got->updated_at, task.updated_at);
  EXPECT_EQ(got->last_request_at, kT0 + 10 * kSecond);
}

TEST_P(TaskStoreConformance, UpdateIsComparedWithTheLastAcceptedRequest) {
  Task task = mustCreate("title", kT0);
  ASSERT_TRUE(store_->update(task.id, patchAt(kT0 + 5 * kSecond)).isOk());
  // Newer than the create, but not than the last accepted update.
  EXPECT_TRUE(
      hasCode(store_->update(task.id, patchAt(kT0 + 3 * kSecond)).status(), StatusCode::kConflict));
  EXPECT_TRUE(store_->update(task.id, patchAt(kT0 + 5 * kSecond + 1)).isOk());
}

TEST_P(TaskStoreConformance, UpdateOfUnknownIdIsNotFound) {
  mustCreate("exists", kT0);
  TaskPatch patch = patchAt(kT0 + kSecond);
  patch.done = true;
  EXPECT_TRUE(hasCode(store_->update(999'999, patch).status(), StatusCode::kNotFound));
}

// ---- delete ---------------------------------------------------------------------------------

TEST_P(TaskStoreConformance, DeleteLeavesATombstone) {
  Task keep = mustCreate("keep", kT0);
  Task gone = mustCreate("gone", kT0);
  ASSERT_TRUE(store_->remove(gone.id, kT0 + kSecond).isOk());
  EXPECT_TRUE(hasCode(store_->get(gone.id).status(), StatusCode::kNotFound));
  EXPECT_EQ(idsOf(listAll()), (std::vector<std::int64_t>{keep.id}));
  // The tombstone keeps its id: a new task never reuses it.
  Task next = mustCreate("next", kT0);
  EXPECT_GT(next.id, gone.id);
}

TEST_P(TaskStoreConformance, StaleDeleteIsConflictAndKeepsTheTask) {
  Task task = mustCreate("title", kT0 + 10 * kSecond);
  EXPECT_TRUE(hasCode(store_->remove(task.id, kT0 + 10 * kSecond), StatusCode::kConflict));
  EXPECT_TRUE(hasCode(store_->remove(task.id, kT0 + 9 * kSecond), StatusCode::kConflict));
  Result<Task> got = store_->get(task.id);
  ASSERT_TRUE(got.isOk()) << got.status().message();
  EXPECT_EQ(got->last_request_at, kT0 + 10 * kSecond);
}

TEST_P(TaskStoreConformance, UpdateAfterDeleteIsNotFoundWhenNewerAndConflictWhenStale) {
  Task task = mustCreate("title", kT0);
  ASSERT_TRUE(store_->remove(task.id, kT0 + 10 * kSecond).isOk());

  TaskPatch newer = patchAt(kT0 + 20 * kSecond);
  newer.title = "resurrected";
  EXPECT_TRUE(hasCode(store_->update(task.id, newer).status(), StatusCode::kNotFound));
  TaskPatch equal = patchAt(kT0 + 10 * kSecond);
  equal.title = "resurrected";
  EXPECT_TRUE(hasCode(store_->update(task.id, equal).status(), StatusCode::kConflict));
  TaskPatch older = patchAt(kT0 + 5 * kSecond);
  older.title = "resurrected";
  EXPECT_TRUE(hasCode(store_->update(task.id, older).status(), StatusCode::kConflict));

  EXPECT_TRUE(hasCode(store_->get(task.id).status(), StatusCode::kNotFound));
  EXPECT_TRUE(listAll().empty());
  // The rejected newer update did not move the tombstone's timestamp.
  EXPECT_TRUE(hasCode(store_->remove(task.id, kT0 + 15 * kSecond), StatusCode::kNotFound));
}

TEST_P(TaskStoreConformance, DeleteAfterDeleteIsNotFoundWhenNewerAndConflictWhenStale) {
  Task task = mustCreate("title", kT0);
  ASSERT_TRUE(store_->remove(task.id, kT0 + 10 * kSecond).isOk());
  EXPECT_TRUE(hasCode(store_->remove(task.id, kT0 + 11 * kSecond), StatusCode::kNotFound));
  EXPECT_TRUE(hasCode(store_->remove(task.id, kT0 + 10 * kSecond), StatusCode::kConflict));
  EXPECT_TRUE(hasCode(store_->remove(task.id, kT0 + 1 * kSecond), StatusCode::kConflict));
}

TEST_P(TaskStoreConformance, DeleteOfUnknownIdIsNotFound) {
  mustCreate("exists", kT0);
  EXPECT_TRUE(hasCode(store_->remove(999'999, kT0 + kSecond), StatusCode::kNotFound));
}

// ---- create replay --------------------------------------------------------------------------

TEST_P(TaskStoreConformance, ReplayedCreateIsConflictAndCreatesNothing) {
  Task first = mustCreate("same title", kT0 + 10 * kSecond);
  EXPECT_TRUE(hasCode(store_->create(newTask("same title", kT0 + 10 * kSecond)).status(),
                      StatusCode::kConflict));
  EXPECT_TRUE(hasCode(store_->create(newTask("same title", kT0 + 9 * kSecond)).status(),
                      StatusCode::kConflict));
  EXPECT_EQ(idsOf(listAll()), (std::vector<std::int64_t>{first.id}));
}

TEST_P(TaskStoreConformance, ReplayAgainstATombstoneIsConflict) {
  Task task = mustCreate("deleted title", kT0);
  ASSERT_TRUE(store_->remove(task.id, kT0 + 10 * kSecond).isOk());
  // Not newer than the tombstone's last accepted request (the delete).
  EXPECT_TRUE(hasCode(store_->create(newTask("deleted title", kT0 + 10 * kSecond)).status(),
                      StatusCode::kConflict));
  EXPECT_TRUE(hasCode(store_->create(newTask("deleted title", kT0 + 5 * kSecond)).status(),
                      StatusCode::kConflict));
  EXPECT_TRUE(listAll().empty());
  Result<Task> newer = store_->create(newTask("deleted title", kT0 + 11 * kSecond));
  ASSERT_TRUE(newer.isOk()) << newer.status().message();
  EXPECT_NE(newer->id, task.id);
}

TEST_P(TaskStoreConformance, NewerCreateWithTheSameTitleMakesANewTask) {
  Task first = mustCreate("same title", kT0);
  Result<Task> second = store_->create(newTask("same title", kT0 + 1));
  ASSERT_TRUE(second.isOk()) << second.status().message();
  EXPECT_NE(second->id, first.id);
  EXPECT_EQ(idsOf(listAll()), (std::vector<std::int64_t>{second->id, first.id}));
  // Now the replay rule holds against the newest of them.
  EXPECT_TRUE(
      hasCode(store_->create(newTask("same title", kT0 + 1)).status(), StatusCode::kConflict));
}

TEST_P(TaskStoreConformance, ReplayRuleUsesTheLastAcceptedRequestOfTheTask) {
  Task task = mustCreate("title", kT0);
  ASSERT_TRUE(store_->update(task.id, patchAt(kT0 + 20 * kSecond)).isOk());
  EXPECT_TRUE(hasCode(store_->create(newTask("title", kT0 + 15 * kSecond)).status(),
                      StatusCode::kConflict));
  EXPECT_TRUE(store_->create(newTask("title", kT0 + 21 * kSecond)).isOk());
}

TEST_P(TaskStoreConformance, ReplayRuleFollowsTheCurrentTitle) {
  Task task = mustCreate("old name", kT0);
  TaskPatch rename = patchAt(kT0 + 20 * kSecond);
  rename.title = "new name";
  ASSERT_TRUE(store_->update(task.id, rename).isOk());
  EXPECT_TRUE(hasCode(store_->create(newTask("new name", kT0 + 15 * kSecond)).status(),
                      StatusCode::kConflict));
  EXPECT_TRUE(store_->create(newTask("old name", kT0 + 15 * kSecond)).isOk());
}

// ---- counts and ping ------------------------------------------------------------------------

TEST_P(TaskStoreConformance, CountsFollowCreatesUpdatesAndDeletes) {
  auto expectCounts = [this](std::int64_t done, std::int64_t open, const char* when) {
    Result<TaskCounts> counts = store_->counts();
    ASSERT_TRUE(counts.isOk()) << counts.status().message();
    EXPECT_EQ(counts->done, done) << when;
    EXPECT_EQ(counts->open, open) << when;
  };
  expectCounts(0, 0, "empty");
  Task a = mustCreate("a", kT0);
  Task b = mustCreate("b", kT0);
  Task c = mustCreate("c", kT0);
  expectCounts(0, 3, "after 3 creates");

  TaskPatch done = patchAt(kT0 + kSecond);
  done.done = true;
  ASSERT_TRUE(store_->update(a.id, done).isOk());
  ASSERT_TRUE(store_->update(b.id, done).isOk());
  expectCounts(2, 1, "after 2 marked done");

  done.request_at = kT0 + 2 * kSecond;
  ASSERT_TRUE(store_->update(a.id, done).isOk());  // already done: no change
  TaskPatch content = patchAt(kT0 + 2 * kSecond);
  content.content = "x";
  ASSERT_TRUE(store_->update(c.id, content).isOk());  // done untouched
  expectCounts(2, 1, "after updates that keep done");

  TaskPatch stale = patchAt(kT0);
  stale.done = false;
  EXPECT_FALSE(store_->update(a.id, stale).isOk());
  expectCounts(2, 1, "after a stale update");

  ASSERT_TRUE(store_->remove(a.id, kT0 + 3 * kSecond).isOk());
  expectCounts(1, 1, "after deleting a done task");
  ASSERT_TRUE(store_->remove(c.id, kT0 + 3 * kSecond).isOk());
  expectCounts(1, 0, "after deleting an open task");
  EXPECT_FALSE(store_->remove(c.id, kT0 + 4 * kSecond).isOk());
  EXPECT_FALSE(store_->update(a.id, stale).isOk());
  expectCounts(1, 0, "after rejected writes on tombstones");

  TaskPatch reopen = patchAt(kT0 + 5 * kSecond);
  reopen.done = false;
  ASSERT_TRUE(store_->update(b.id, reopen).isOk());
  expectCounts(0, 1, "after reopening");
}

TEST_P(TaskStoreConformance, PingSucceeds) { EXPECT_TRUE(store_->ping().isOk()); }

// ---- listRows -------------------------------------------------------------------------------

namespace {

// Copies every lent row at once: the views are only valid during onRow.
class CopyingSink final : public TaskRowSink {
 public:
  void onRow(const TaskView& row) override { tasks.push_back(taskOf(row)); }
  std::vector<Task> tasks;
};

void expectSameTasks(const std::vector<Task>& got, const std::vector<Task>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].id, want[i].id);
    EXPECT_EQ(got[i].title, want[i].title);
    EXPECT_EQ(got[i].content, want[i].content);
    EXPECT_EQ(got[i].due_date, want[i].due_date);
    EXPECT_EQ(got[i].done, want[i].done);
    EXPECT_EQ(got[i].created_at, want[i].created_at);
    EXPECT_EQ(got[i].updated_at, want[i].updated_at);
    EXPECT_EQ(got[i].last_request_at, want[i].last_request_at);
  }
}

}  // namespace

TEST_P(TaskStoreConformance, ListRowsLendsThePageListReturns) {
  for (int i = 0; i < 9; ++i) {
    NewTask task = newTask("row " + std::to_string(i) + (i % 3 == 0 ? " \xc3\xa9\"\\" : ""),
                           kT0 + i, "2030-01-0" + std::to_string(i + 1));
    if (i == 4) task.content.clear();
    Result<Task> created = store_->create(task);
    ASSERT_TRUE(created.isOk()) << created.status().message();
    if (i % 2 == 0) {
      TaskPatch done = patchAt(kT0 + 100 + i);
      done.done = true;
      ASSERT_TRUE(store_->update(created->id, done).isOk());
    }
    if (i == 6) {
      ASSERT_TRUE(store_->remove(created->id, kT0 + 200).isOk());
    }
  }
  std::vector<TaskQuery> queries(5);
  queries[1].limit = 3;
  queries[2].done = true;
  queries[3].due_before = "2030-01-07";
  queries[3].due_after = "2030-01-02";
  queries[4].done = false;
  queries[4].limit = 2;
  for (TaskQuery query : queries) {
    for (int page = 0; page < 10; ++page) {
      Result<TaskPage> listed = store_->list(query);
      ASSERT_TRUE(listed.isOk()) << listed.status().message();
      CopyingSink sink;
      Result<bool> has_more = store_->listRows(query, sink);
      ASSERT_TRUE(has_more.isOk()) << has_more.status().message();
      expectSameTasks(sink.tasks, listed->tasks);
      EXPECT_EQ(*has_more, listed->has_more);
      if (!listed->has_more || listed->tasks.empty()) break;
      query.before_id = listed->tasks.back().id;
    }
  }
}

// Stores may answer concurrent identical lists from one read (storage_postgres does); each
// list must still see every write acknowledged before it started.
TEST_P(TaskStoreConformance, ConcurrentListsSeeEveryWriteAcknowledgedBeforeThem) {
  constexpr int kListers = 8;
  constexpr int kRounds = 15;
  std::latch start(kListers);
  ProblemLog log;
  std::vector<std::thread> threads;
  for (int t = 0; t < kListers; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int round = 0; round < kRounds; ++round) {
        const std::string title = "lister " + std::to_string(t) + " round " + std::to_string(round);
        Result<Task> created = store_->create(newTask(title, kT0 + round));
        if (!created.isOk()) return log.problem("create: " + created.status().message());
        TaskQuery first_page;
        first_page.limit = 1000;  // more than every task these threads create
        CopyingSink sink;
        Result<bool> has_more = store_->listRows(first_page, sink);
        if (!has_more.isOk()) return log.problem("listRows: " + has_more.status().message());
        const bool seen = std::any_of(sink.tasks.begin(), sink.tasks.end(),
                                      [&](const Task& task) { return task.id == created->id; });
        if (!seen) log.problem(title + " (acknowledged) is missing from a later list");
        if (!std::is_sorted(sink.tasks.begin(), sink.tasks.end(),
                            [](const Task& a, const Task& b) { return a.id > b.id; })) {
          log.problem("a list page is not newest first");
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_TRUE(log.problems.empty()) << log.problems.front();
  EXPECT_EQ(listAll({}, 1000).size(), static_cast<std::size_t>(kListers * kRounds));
}

// ---- concurrency ----------------------------------------------------------------------------

namespace {

constexpr int kThreads = 8;
constexpr int kPerThread = 40;

// Distinct request timestamps in a fixed random order, split into one run per thread.
std::vector<Timestamp> shuffledStamps(int count, std::uint32_t seed) {
  std::vector<Timestamp> stamps(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) stamps[static_cast<std::size_t>(i)] = kT0 + (i + 1) * 1000;
  std::mt19937 random(seed);
  std::shuffle(stamps.begin(), stamps.end(), random);
  return stamps;
}

std::string contentFor(Timestamp ts) { return "v" + std::to_string(ts); }
bool doneFor(Timestamp ts) { return (ts / 1000) % 2 == 0; }

enum class Outcome : char { kNone, kOk, kConflict, kNotFound, kOther };

Outcome outcomeOf(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk:
      return Outcome::kOk;
    case StatusCode::kConflict:
      return Outcome::kConflict;
    case StatusCode::kNotFound:
      return Outcome::kNotFound;
    default:
      return Outcome::kOther;
  }
}

struct RaceLog : ProblemLog {
  std::vector<Outcome> outcomes;  // by stamp index; each thread writes its own slots
};

// Thread `t` sends updates for stamps[t*kPerThread, (t+1)*kPerThread) in order. Besides
// recording outcomes it checks what one thread can see on its own: an accepted update returns
// its own values, and once it has seen timestamp `a` accepted, none of its later requests at or
// below `a` may be accepted.
void raceUpdates(TaskStore& store, std::int64_t id, const std::vector<Timestamp>& stamps, int t,
                 std::latch& start, RaceLog& log) {
  start.arrive_and_wait();
  Timestamp highest_accepted = 0;
  for (int i = t * kPerThread; i < (t + 1) * kPerThread; ++i) {
    const Timestamp ts = stamps[static_cast<std::size_t>(i)];
    TaskPatch patch;
    patch.content = contentFor(ts);
    patch.done = doneFor(ts);
    patch.request_at = ts;
    Result<Task> result = store.update(id, patch);
    Outcome outcome = outcomeOf(result.status());
    log.outcomes[static_cast<std::size_t>(i)] = outcome;
    if (outcome == Outcome::kOther) log.problem(result.status().message());
    if (outcome != Outcome::kOk) continue;
    if (ts <= highest_accepted)
      log.problem("accepted " + std::to_string(ts) + " after " + std::to_string(highest_accepted));
    highest_accepted = ts;
    if (result->last_request_at != ts || result->content != patch.content ||
        result->done != *patch.done) {
      log.problem("accepted update " + std::to_string(ts) + " returned another state");
    }
  }
}

}  // namespace

TEST_P(TaskStoreConformance, RacingUpdatesEndInTheStateOfTheHighestTimestamp) {
  // Several rounds, each on a new task with its own timestamp order, to give a store that
  // reads then writes many chances to let a stale request overwrite a newer one.
  constexpr int kRounds = 5;
  const int total = kThreads * kPerThread;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    Task task = mustCreate("raced " + std::to_string(round), kT0);
    std::vector<Timestamp> stamps = shuffledStamps(total, 20240501u + static_cast<unsigned>(round));
    RaceLog log;
    log.outcomes.assign(static_cast<std::size_t>(total), Outcome::kNone);
    std::latch start(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back(raceUpdates, std::ref(*store_), task.id, std::cref(stamps), t,
                           std::ref(start), std::ref(log));
    }
    for (std::thread& thread : threads) thread.join();

    EXPECT_TRUE(log.problems.empty()) << ::testing::PrintToString(log.problems);
    const auto highest = std::max_element(stamps.begin(), stamps.end());
    const auto highest_index = static_cast<std::size_t>(highest - stamps.begin());
    int accepted = 0;
    int conflicts = 0;
    for (Outcome outcome : log.outcomes) {
      accepted += outcome == Outcome::kOk;
      conflicts += outcome == Outcome::kConflict;
    }
    EXPECT_EQ(accepted + conflicts, total) << "every racing update is either accepted or stale";
    EXPECT_TRUE(log.outcomes[highest_index] == Outcome::kOk)
        << "the update with the highest timestamp can never be stale";

    Result<Task> final_state = store_->get(task.id);
    ASSERT_TRUE(final_state.isOk()) << final_state.status().message();
    EXPECT_EQ(final_state->last_request_at, *highest);
    EXPECT_EQ(final_state->content, contentFor(*highest));
    EXPECT_EQ(final_state->done, doneFor(*highest));
    EXPECT_EQ(final_state->title, "raced " + std::to_string(round));
    EXPECT_TRUE(
        hasCode(store_->update(task.id, patchAt(*highest)).status(), StatusCode::kConflict));
  }
  Result<TaskCounts> counts = store_->counts();
  ASSERT_TRUE(counts.isOk()) << counts.status().message();
  EXPECT_EQ(counts->done + counts->open, kRounds);
}

TEST_P(TaskStoreConformance, RacingUpdatesAndADeleteNeverResurrectTheTask) {
  Task task = mustCreate("raced with a delete", kT0);
  const int total = kThreads * kPerThread;
  std::vector<Timestamp> stamps = shuffledStamps(total, 7);
  // The delete sits in the middle of the update timestamps (which are multiples of 1000).
  const Timestamp delete_at = kT0 + (total / 2) * 1000 + 500;
  RaceLog log;
  log.outcomes.assign(static_cast<std::size_t>(total), Outcome::kNone);
  std::latch start(kThreads + 1);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back(raceUpdates, std::ref(*store_), task.id, std::cref(stamps), t,
                         std::ref(start), std::ref(log));
  }
  Status deleted;
  threads.emplace_back([&] {
    start.arrive_and_wait();
    std::this_thread::yield();
    deleted = store_->remove(task.id, delete_at);
  });
  for (std::thread& thread : threads) thread.join();

  EXPECT_TRUE(log.problems.empty()) << ::testing::PrintToString(log.problems);
  ASSERT_TRUE(deleted.isOk() || deleted.code() == StatusCode::kConflict) << deleted.message();
  const Timestamp highest = *std::max_element(stamps.begin(), stamps.end());
  for (std::size_t i = 0; i < stamps.size(); ++i) {
    const Outcome outcome = log.outcomes[i];
    EXPECT_TRUE(outcome == Outcome::kOk || outcome == Outcome::kConflict ||
                (outcome == Outcome::kNotFound && deleted.isOk() && stamps[i] > delete_at))
        << "update at +" << (stamps[i] - kT0) << " got outcome " << static_cast<int>(outcome);
  }
  Result<Task> final_state = store_->get(task.id);
  Result<TaskCounts> counts = store_->counts();
  ASSERT_TRUE(counts.isOk()) << counts.status().message();
  if (deleted.isOk()) {
    EXPECT_TRUE(hasCode(final_state.status(), StatusCode::kNotFound));
    EXPECT_TRUE(
        hasCode(store_->update(task.id, patchAt(delete_at)).status(), StatusCode::kConflict));
    EXPECT_TRUE(
        hasCode(store_->update(task.id, patchAt(highest + 1)).status(), StatusCode::kNotFound));
    EXPECT_EQ(counts->done + counts->open, 0);
  } else {
    // A newer update was accepted before the delete ran, so the task lives on with the
    // highest update.
    ASSERT_TRUE(final_state.isOk()) << final_state.status().message();
    EXPECT_EQ(final_state->last_request_at, highest);
    EXPECT_EQ(final_state->content, contentFor(highest));
    EXPECT_EQ(counts->done + counts->open, 1);
  }
}

TEST_P(TaskStoreConformance, RacingReplayedCreatesAcceptExactlyOne) {
  constexpr int kRounds = 10;
  for (int round = 0; round < kRounds; ++round) {
    const std::string title = "replayed " + std::to_string(round);
    std::atomic<int> accepted{0};
    std::atomic<int> conflicts{0};
    std::latch start(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        start.arrive_and_wait();
        Status status = store_->create(newTask(title, kT0 + round)).status();
        if (status.isOk()) ++accepted;
        if (status.code() == StatusCode::kConflict) ++conflicts;
      });
    }
    for (std::thread& thread : threads) thread.join();
    EXPECT_EQ(accepted.load(), 1) << title;
    EXPECT_EQ(conflicts.load(), kThreads - 1) << title;
  }
  std::vector<Task> all = listAll();
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kRounds));
  std::set<std::string> titles;
  for (const Task& task : all) titles.insert(task.title);
  EXPECT_EQ(titles.size(), static_cast<std::size_t>(kRounds));
}

TEST_P(TaskStoreConformance, RacingDistinctCreatesAllSucceedWithUniqueIds) {
  constexpr int kEach = 25;
  std::mutex mutex;
  std::set<std::int64_t> ids;
  std::atomic<int> failures{0};
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < kEach; ++i) {
        Result<Task> created =
            store_->create(newTask("t" + std::to_string(t) + "-" + std::to_string(i), kT0));
        if (!created.isOk()) {
          ++failures;
          continue;
        }
        std::lock_guard lock(mutex);
        ids.insert(created->id);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kThreads * kEach));
  EXPECT_EQ(listAll({}, 7).size(), static_cast<std::size_t>(kThreads * kEach));
  Result<TaskCounts> counts = store_->counts();
  ASSERT_TRUE(counts.isOk()) << counts.status().message();
  EXPECT_EQ(counts->open, kThreads * kEach);
  EXPECT_EQ(counts->done, 0);
}

// ---- the retention window (stores that have one) --------------------------------------------

// Stores without a retention window (the in-memory reference) do not instantiate it.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(TaskStoreRetentionConformance);

std::string retentionFactoryName(const ::testing::TestParamInfo<RetentionStoreFactory>& info) {
  return info.param.name;
}

void PrintTo(const RetentionStoreFactory& factory, std::ostream* out) { *out << factory.name; }

void TaskStoreRetentionConformance::makeStore(std::chrono::milliseconds retention) {
  ASSERT_TRUE(GetParam().make) << "RetentionStoreFactory '" << GetParam().name << "' has no make()";
  target_ = GetParam().make(retention);
  ASSERT_NE(target_.store, nullptr)
      << "RetentionStoreFactory '" << GetParam().name << "' returned no store";
  ASSERT_TRUE(target_.now && target_.advance) << "the factory must set now and advance";
}

void TaskStoreRetentionConformance::TearDown() { target_ = {}; }

namespace {

constexpr Timestamp kMinute = 60 * kSecond;
constexpr Timestamp kHour = 60 * kMinute;

::testing::AssertionResult isRetentionRefusal(const Status& status) {
  if (status.code() == StatusCode::kConflict &&
      status.message().starts_with(kRetentionConflictPrefix)) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "expected kConflict starting with '" << kRetentionConflictPrefix << "', got "
         << statusCodeName(status.code()) << ": " << status.message();
}

::testing::AssertionResult isOrdinaryConflict(const Status& status) {
  if (status.code() == StatusCode::kConflict &&
      !status.message().starts_with(kRetentionConflictPrefix)) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "expected a stale/replay kConflict, got "
                                       << statusCodeName(status.code()) << ": " << status.message();
}

}  // namespace

TEST_P(TaskStoreRetentionConformance, WritesOlderThanTheWindowAreRefusedWhateverTheTaskState) {
  makeStore(std::chrono::hours(1));
  TaskStore& store = *target_.store;
  const Timestamp now = target_.now();

  EXPECT_TRUE(isRetentionRefusal(store.create(newTask("too old", now - 2 * kHour)).status()));
  TaskQuery everything;
  Result<TaskPage> page = store.list(everything);
  ASSERT_TRUE(page.isOk()) << page.status().message();
  EXPECT_TRUE(page->tasks.empty()) << "a refused create stored a task";

  Result<Task> task = store.create(newTask("fresh", now - 30 * kMinute));
  ASSERT_TRUE(task.isOk()) << task.status().message();
  TaskPatch late = patchAt(now - 90 * kMinute);
  late.title = "changed";
  EXPECT_TRUE(isRetentionRefusal(store.update(task->id, late).status()));
  EXPECT_TRUE(isRetentionRefusal(store.remove(task->id, now - 90 * kMinute)));
  Result<Task> got = store.get(task->id);
  ASSERT_TRUE(got.isOk()) << got.status().message();
  EXPECT_EQ(got->title, "fresh");

  // An unknown id may be a purged tombstone: too old is a conflict there too, never a 404.
  EXPECT_TRUE(isRetentionRefusal(store.update(999'999, patchAt(now - 2 * kHour)).status()));
  EXPECT_TRUE(isRetentionRefusal(store.remove(999'999, now - 2 * kHour)));
  EXPECT_TRUE(hasCode(store.update(999'999, patchAt(now)).status(), StatusCode::kNotFound));
}

TEST_P(TaskStoreRetentionConformance, AWriteNewerThanTheTaskButOutsideTheWindowIsRefused) {
  makeStore(std::chrono::seconds(2));
  TaskStore& store = *target_.store;
  const Timestamp t0 = target_.now();
  Result<Task> task = store.create(newTask("aging", t0));
  ASSERT_TRUE(task.isOk()) << task.status().message();
  target_.advance(std::chrono::seconds(3));

  TaskPatch newer = patchAt(t0 + 1000);
  newer.title = "late";
  EXPECT_TRUE(isRetentionRefusal(store.update(task->id, newer).status()));
  EXPECT_TRUE(isRetentionRefusal(store.remove(task->id, t0 + 2000)));
  EXPECT_TRUE(isRetentionRefusal(store.create(newTask("aging", t0 + 3000)).status()));
  Result<Task> got = store.get(task->id);
  ASSERT_TRUE(got.isOk()) << got.status().message();
  EXPECT_EQ(got->title, "aging");
  EXPECT_EQ(got->last_request_at, t0);
  Result<TaskPage> all = store.list(TaskQuery{});
  ASSERT_TRUE(all.isOk()) << all.status().message();
  EXPECT_EQ(all->tasks.size(), 1u) << "a refused create stored a task";

  TaskPatch current = patchAt(target_.now());
  current.title = "current";
  Result<Task> updated = store.update(task->id, current);
  ASSERT_TRUE(updated.isOk()) << updated.status().message();
  EXPECT_EQ(updated->title, "current");
}

TEST_P(TaskStoreRetentionConformance, InsideTheWindowTheUsualRulesApply) {
  makeStore(std::chrono::hours(1));
  TaskStore& store = *target_.store;
  const Timestamp now = target_.now();
  Result<Task> task = store.create(newTask("inside", now - 59 * kMinute));
  ASSERT_TRUE(task.isOk()) << task.status().message();
  EXPECT_TRUE(isOrdinaryConflict(store.create(newTask("inside", now - 59 * kMinute)).status()));
  EXPECT_TRUE(isOrdinaryConflict(store.update(task->id, patchAt(now - 59 * kMinute)).status()));
  ASSERT_TRUE(store.update(task->id, patchAt(now - 58 * kMinute)).isOk());
  ASSERT_TRUE(store.remove(task->id, now - 57 * kMinute).isOk());
  EXPECT_TRUE(isOrdinaryConflict(store.update(task->id, patchAt(now - 58 * kMinute)).status()));
  EXPECT_TRUE(isOrdinaryConflict(store.remove(task->id, now - 57 * kMinute)));
  EXPECT_TRUE(hasCode(store.update(task->id, patchAt(now)).status(), StatusCode::kNotFound));
  EXPECT_TRUE(hasCode(store.get(task->id).status(), StatusCode::kNotFound));
}

TEST_P(TaskStoreRetentionConformance, ZeroRetentionAcceptsAnyTimestamp) {
  makeStore(std::chrono::milliseconds(0));
  TaskStore& store = *target_.store;
  constexpr Timestamp kYear2000 = 946'684'800'000'000;
  Result<Task> task = store.create(newTask("ancient", kYear2000));
  ASSERT_TRUE(task.isOk()) << task.status().message();
  ASSERT_TRUE(store.update(task->id, patchAt(kYear2000 + 1)).isOk());
  ASSERT_TRUE(store.remove(task->id, kYear2000 + 2).isOk());
  EXPECT_TRUE(isOrdinaryConflict(store.remove(task->id, kYear2000 + 1)));
}

}  // namespace appliance::testing
