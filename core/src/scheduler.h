#pragma once
// HostScheduler: the Scheduler service. One thread per timer (plugins have a handful), which
// keeps runs of one timer from overlapping and lets a callback block without starving others.
// Timers wait for activate() (all plugins started) before their first run.

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "appliance/context.h"

namespace appliance::host {

class HostScheduler {
 public:
  HostScheduler();
  ~HostScheduler();

  TimerId add(std::string owner, std::string name, std::chrono::milliseconds period, bool repeating,
              std::function<void()> callback);
  void cancel(TimerId id);
  void cancelOwnedBy(const std::string& owner);
  void activate();

 private:
  struct Timer;
  void run(Timer& timer);

  std::mutex mutex_;
  std::condition_variable changed_;
  bool active_ = false;
  TimerId next_ = 1;
  std::map<TimerId, std::shared_ptr<Timer>> timers_;
};

// The per-plugin facade handed out through PluginContext::scheduler().
class PluginScheduler : public Scheduler {
 public:
  PluginScheduler(HostScheduler& host, std::string owner) : host_(host), owner_(std::move(owner)) {}
  TimerId every(std::string name, std::chrono::milliseconds period,
                std::function<void()> callback) override {
    return host_.add(owner_, std::move(name), period, true, std::move(callback));
  }
  TimerId after(std::string name, std::chrono::milliseconds delay,
                std::function<void()> callback) override {
    return host_.add(owner_, std::move(name), delay, false, std::move(callback));
  }
  void cancel(TimerId id) override { host_.cancel(id); }

 private:
  HostScheduler& host_;
  std::string owner_;
};

}  // namespace appliance::host
