#pragma once
// A TaskStore whose create/get/update/remove go through a store's AsyncTaskStore calls (and
// list/listRows through its AsyncTaskLister, when given) and wait for their `done`, so the
// TaskStore conformance suite checks the asynchronous path of a store that offers both. It
// also checks the contract: `done` runs exactly once per call.

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <memory>
#include <utility>

#include "appliance/task_store.h"

namespace appliance::testing {

class AsyncAsBlockingTaskStore final : public TaskStore {
 public:
  AsyncAsBlockingTaskStore(std::shared_ptr<TaskStore> store, AsyncTaskStore& async,
                           AsyncTaskLister* lister = nullptr)
      : store_(std::move(store)), async_(async), lister_(lister) {}

  Result<Task> create(const NewTask& task) override {
    return wait<Result<Task>>([&](auto done) { async_.createAsync(task, std::move(done)); });
  }
  Result<Task> get(std::int64_t id) override {
    return wait<Result<Task>>([&](auto done) { async_.getAsync(id, std::move(done)); });
  }
  Result<Task> update(std::int64_t id, const TaskPatch& patch) override {
    return wait<Result<Task>>([&](auto done) { async_.updateAsync(id, patch, std::move(done)); });
  }
  Status remove(std::int64_t id, Timestamp request_at) override {
    return wait<Status>([&](auto done) { async_.removeAsync(id, request_at, std::move(done)); });
  }
  Result<TaskPage> list(const TaskQuery& query) override {
    if (!lister_) return store_->list(query);
    TaskPageCollector collector;
    Result<bool> has_more = listRows(query, collector);
    if (!has_more.isOk()) return has_more.status();
    collector.page.has_more = *has_more;
    return std::move(collector.page);
  }
  Result<bool> listRows(const TaskQuery& query, TaskRowSink& sink) override {
    if (!lister_) return store_->listRows(query, sink);
    return wait<Result<bool>>(
        [&](auto done) { lister_->listRowsAsync(query, sink, std::move(done)); });
  }
  Result<TaskCounts> counts() override { return store_->counts(); }
  Status ping() override { return store_->ping(); }

 private:
  template <typename Outcome, typename Call>
  static Outcome wait(Call call) {
    auto promise = std::make_shared<std::promise<Outcome>>();
    auto calls = std::make_shared<std::atomic<int>>(0);
    std::future<Outcome> outcome = promise->get_future();
    call([promise, calls](Outcome value) {
      if (calls->fetch_add(1) == 0) {
        promise->set_value(std::move(value));
      } else {
        ADD_FAILURE() << "an AsyncTaskStore call ran its done more than once";
      }
    });
    return outcome.get();
  }

  std::shared_ptr<TaskStore> store_;
  AsyncTaskStore& async_;
  AsyncTaskLister* lister_;
};

}  // namespace appliance::testing
