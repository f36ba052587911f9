#include "scheduler.h"

#include <vector>

#include "logging.h"

namespace appliance::host {

struct HostScheduler::Timer {
  TimerId id;
  std::string owner;
  std::string name;
  std::chrono::milliseconds period;
  bool repeating;
  std::function<void()> callback;
  bool cancelled = false;
  std::thread thread;
};

HostScheduler::HostScheduler() = default;

HostScheduler::~HostScheduler() {
  std::vector<TimerId> ids;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, t] : timers_) ids.push_back(id);
  }
  for (TimerId id : ids) cancel(id);
}

TimerId HostScheduler::add(std::string owner, std::string name, std::chrono::milliseconds period,
                           bool repeating, std::function<void()> callback) {
  auto timer = std::make_shared<Timer>();
  std::lock_guard lock(mutex_);
  timer->id = next_++;
  timer->owner = std::move(owner);
  timer->name = std::move(name);
  timer->period = std::max(period, std::chrono::milliseconds(1));
  timer->repeating = repeating;
  timer->callback = std::move(callback);
  timers_[timer->id] = timer;
  // The thread shares ownership, so a timer cancelled from its own callback stays valid
  // until that callback returns.
  timer->thread = std::thread([this, timer] { run(*timer); });
  return timer->id;
}

void HostScheduler::run(Timer& timer) {
  HostLogger log(timer.owner);
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return active_ || timer.cancelled; });
  auto next = std::chrono::steady_clock::now() +
              (timer.repeating ? std::chrono::milliseconds(0) : timer.period);
  while (!timer.cancelled) {
    if (!changed_.wait_until(lock, next, [&] { return timer.cancelled; })) {
      lock.unlock();
      try {
        timer.callback();
      } catch (const std::exception& e) {
        log.error("timer callback threw", {{"timer", timer.name}, {"error", e.what()}});
      } catch (...) {
        log.error("timer callback threw", {{"timer", timer.name}});
      }
      lock.lock();
      if (!timer.repeating) break;
      next = std::max(next + timer.period, std::chrono::steady_clock::now());
    }
  }
}

void HostScheduler::cancel(TimerId id) {
  std::shared_ptr<Timer> timer;
  {
    std::lock_guard lock(mutex_);
    auto it = timers_.find(id);
    if (it == timers_.end()) return;
    timer = it->second;
    timers_.erase(it);
    timer->cancelled = true;
  }
  changed_.notify_all();
  if (timer->thread.get_id() == std::this_thread::get_id()) {
    timer->thread.detach();  // cancelled from its own callback: it ends when that returns
  } else if (timer->thread.joinable()) {
    timer->thread.join();
  }
}

void HostScheduler::cancelOwnedBy(const std::string& owner) {
  std::vector<TimerId> ids;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, t] : timers_) {
      if (t->owner == owner) ids.push_back(id);
    }
  }
  for (TimerId id : ids) cancel(id);
}

void HostScheduler::activate() {
  {
    std::lock_guard lock(mutex_);
    active_ = true;
  }
  changed_.notify_all();
}

}  // namespace appliance::host
