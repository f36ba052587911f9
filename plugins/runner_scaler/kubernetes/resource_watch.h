#pragma once
// ResourceWatch: the list-then-watch loop that keeps a view of one kind of object current
// without polling (what client-go's reflector does). It lists, hands the full state to
// on_sync, then watches from the list's resourceVersion and hands each change to on_event.
// A dropped or timed-out watch resumes from the last version seen (events and bookmarks), so
// nothing is missed or repeated; a 410 Gone (the version left the server's history) lists
// again and calls on_sync with the fresh state. Failures back off (doubling up to
// max_retry_delay) and are logged once until the watch recovers.
//
// Callbacks run on the watch's own thread, one at a time. stop() returns after the thread
// ended; call it before destroying what the callbacks use.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "kube_client.h"

namespace appliance::plugins::runner_scaler::kube {

struct ResourceWatchOptions {
  ResourceType type;
  std::string ns;
  std::string label_selector;
  std::string field_selector;
  int timeout_seconds = 300;  // each watch request's server-side timeout
  std::chrono::milliseconds retry_delay{500};
  std::chrono::milliseconds max_retry_delay{30000};
};

struct ResourceWatchHandlers {
  std::function<void(const ObjectList& state)> on_sync;   // after each (re)list
  std::function<void(const WatchEvent& event)> on_event;  // ADDED, MODIFIED, DELETED
};

struct ResourceWatchStats {
  std::uint64_t lists = 0;    // successful lists (1 + relists)
  std::uint64_t resumes = 0;  // watches re-opened from the last version
  std::uint64_t gone = 0;     // 410s that forced a relist
  std::uint64_t failures = 0;
  std::uint64_t events = 0;
  std::string resource_version;
};

class ResourceWatch {
 public:
  ResourceWatch(std::shared_ptr<KubeClient> client, ResourceWatchOptions options,
                ResourceWatchHandlers handlers, const Logger& logger);
  ~ResourceWatch();
  ResourceWatch(const ResourceWatch&) = delete;
  ResourceWatch& operator=(const ResourceWatch&) = delete;

  void start();
  void stop();
  ResourceWatchStats stats() const;

 private:
  void run();
  bool relist();
  bool pause(std::chrono::milliseconds delay);  // false when stopping
  void noteFailure(const Status& status);
  void noteRecovered();

  std::shared_ptr<KubeClient> client_;
  ResourceWatchOptions options_;
  ResourceWatchHandlers handlers_;
  const Logger& logger_;
  std::thread thread_;
  std::shared_ptr<WatchCanceller> canceller_ = std::make_shared<WatchCanceller>();
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool failing_ = false;
  std::chrono::milliseconds delay_{0};
  ResourceWatchStats stats_;
};

}  // namespace appliance::plugins::runner_scaler::kube
