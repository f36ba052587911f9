// BatchQueue's two ways in: submit() blocks its caller; submitAsync() returns at once and the
// op's `then` runs when the op is done, on the batch thread, or at once when stopping.
#include "batch_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

namespace appliance::plugins::storage_postgres {
namespace {

struct TestOp {
  int input = 0;
  int output = 0;
  std::thread::id ran_on;
  Status status;
  Completion completion;
};

void doubleEach(std::vector<TestOp*>& batch) {
  for (TestOp* op : batch) {
    op->output = op->input * 2;
    op->ran_on = std::this_thread::get_id();
    op->status = Status::ok();
  }
}

TEST(BatchQueue, AsyncOpsCompleteOnTheBatchThreadWithTheirOutcome) {
  BatchQueue<TestOp> queue("test-batch", 1, 8, doubleEach);
  constexpr int kOps = 100;
  std::vector<TestOp> ops(kOps);
  std::vector<std::promise<std::thread::id>> finished(kOps);
  for (int i = 0; i < kOps; ++i) {
    ops[i].input = i;
    ops[i].completion.then = [&, i] { finished[i].set_value(std::this_thread::get_id()); };
    queue.submitAsync(ops[i]);
  }
  for (int i = 0; i < kOps; ++i) {
    const std::thread::id then_thread = finished[i].get_future().get();
    EXPECT_TRUE(ops[i].status.isOk());
    EXPECT_EQ(ops[i].output, 2 * i);
    EXPECT_EQ(then_thread, ops[i].ran_on) << "`then` runs on the thread that ran the batch";
    EXPECT_NE(then_thread, std::this_thread::get_id());
  }
}

TEST(BatchQueue, AsyncOpsQueuedOrSubmittedAtStopAreUnavailable) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> first_running{false};
  BatchQueue<TestOp> queue("test-batch", 1, 1, [&](std::vector<TestOp*>& batch) {
    first_running = true;
    released.wait();  // holds the one batch thread so the next op stays queued
    doubleEach(batch);
  });
  TestOp running, queued, late;
  std::atomic<int> running_calls{0}, queued_calls{0}, late_calls{0};
  running.input = 1;
  running.completion.then = [&] { ++running_calls; };
  queued.completion.then = [&] { ++queued_calls; };
  late.completion.then = [&] { ++late_calls; };
  queue.submitAsync(running);
  while (!first_running) std::this_thread::yield();
  queue.submitAsync(queued);
  std::thread stopper([&] { queue.stop(); });
  while (queued_calls == 0) std::this_thread::yield();  // stop() fails what is still queued
  EXPECT_EQ(queued.status.code(), StatusCode::kUnavailable);
  release.set_value();
  stopper.join();
  EXPECT_EQ(running_calls, 1) << "a running batch finishes";
  EXPECT_TRUE(running.status.isOk());
  EXPECT_EQ(running.output, 2);
  queue.submitAsync(late);
  EXPECT_EQ(late_calls, 1) << "after stop, `then` runs at once on the caller's thread";
  EXPECT_EQ(late.status.code(), StatusCode::kUnavailable);
  EXPECT_EQ(queued_calls, 1);
}

TEST(BatchQueue, BlockingSubmitStillWaitsForItsOutcome) {
  BatchQueue<TestOp> queue("test-batch", 2, 4, doubleEach);
  TestOp op;
  op.input = 21;
  queue.submit(op);
  EXPECT_TRUE(op.status.isOk());
  EXPECT_EQ(op.output, 42);
}

}  // namespace
}  // namespace appliance::plugins::storage_postgres
