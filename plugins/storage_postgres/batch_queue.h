#pragma once
// BatchQueue: the thread scaffolding the read and write batchers share. Callers block in
// submit(); `threads` batch threads each take up to `max_batch` queued ops (FIFO) and hand
// them to `run`, which fills each op's outcome; then every op's caller is woken.
//
// Dedicated threads keep a busy batcher from ever waiting to be scheduled between batches (a
// leader/follower hand-off did, and collapsed under CPU contention). Each op is woken through
// its own Completion, so the callers of one batch do not queue on a shared lock to return.
//
// Op needs two public members: `Status status` and `Completion completion`.
//
// submitAsync() queues an op without waiting: the batch thread then runs the op's
// `completion.then` instead of waking anybody (the task API's deferred responses). Such an op
// owns itself; `then` frees it.

#include <pthread.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "appliance/status.h"

namespace appliance::plugins::storage_postgres {

// One op's hand-over from a batch thread to the caller waiting for it, or to `then`.
class Completion {
 public:
  // Set before submitAsync(); runs once, on the thread that completes the op, and must not
  // throw (a batch thread has nobody to report to).
  std::function<void()> then;

  void wait() {
    std::unique_lock lock(mutex_);
    wake_.wait(lock, [this] { return done_; });
  }
  // Notified under the lock: the waiter may destroy the op as soon as it sees done_.
  void signal() {
    if (then) {
      std::function<void()> run = std::move(then);
      run();  // may free the op
      return;
    }
    std::lock_guard lock(mutex_);
    done_ = true;
    wake_.notify_one();
  }

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false;
};

template <typename Op>
class BatchQueue {
 public:
  using RunBatch = std::function<void(std::vector<Op*>& batch)>;

  // `thread_name` is at most 15 characters (pthread_setname_np).
  BatchQueue(const char* thread_name, int threads, std::size_t max_batch, RunBatch run)
      : max_batch_(max_batch), run_(std::move(run)) {
    for (int i = 0; i < threads; ++i) {
      threads_.emplace_back([this, thread_name] {
        pthread_setname_np(pthread_self(), thread_name);
        loop();
      });
    }
  }
  ~BatchQueue() { stop(); }
  BatchQueue(const BatchQueue&) = delete;
  BatchQueue& operator=(const BatchQueue&) = delete;

  // Blocks until a batch thread has filled in op's outcome (or the queue is stopping).
  void submit(Op& op) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) {
        op.status = stoppingError();
        return;
      }
      queue_.push_back(&op);
    }
    work_.notify_one();
    op.completion.wait();
  }

  // Queues op and returns; op.completion.then (set) runs when a batch thread has filled in its
  // outcome, or at once, on this thread, when the queue is stopping.
  void submitAsync(Op& op) {
    bool queued = false;
    {
      std::lock_guard lock(mutex_);
      if (!stopping_) {
        queue_.push_back(&op);
        queued = true;
      }
    }
    if (queued) {
      work_.notify_one();
      return;
    }
    op.status = stoppingError();
    op.completion.signal();
  }

  // Fails queued ops with kUnavailable, lets running batches finish, joins the threads.
  void stop() {
    std::deque<Op*> orphans;
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      orphans.swap(queue_);
    }
    work_.notify_all();
    for (Op* op : orphans) {
      op->status = stoppingError();
      op->completion.signal();
    }
    for (auto& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }

  // Ops waiting for a batch thread (not those in a running batch).
  std::size_t queued() const {
    std::lock_guard lock(mutex_);
    return queue_.size();
  }

 private:
  static Status stoppingError() { return Status::unavailable("the PostgreSQL store is stopping"); }

  void loop() {
    std::vector<Op*> batch;
    batch.reserve(max_batch_);
    std::unique_lock lock(mutex_);
    for (;;) {
      work_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      const auto n = static_cast<std::ptrdiff_t>(std::min(queue_.size(), max_batch_));
      batch.assign(queue_.begin(), queue_.begin() + n);
      queue_.erase(queue_.begin(), queue_.begin() + n);
      lock.unlock();
      run_(batch);
      for (Op* op : batch) op->completion.signal();
      lock.lock();
    }
  }

  const std::size_t max_batch_;
  const RunBatch run_;
  mutable std::mutex mutex_;
  std::condition_variable work_;
  std::deque<Op*> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;  // last: started once everything above exists
};

}  // namespace appliance::plugins::storage_postgres
