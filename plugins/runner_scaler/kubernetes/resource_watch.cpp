#include "resource_watch.h"

namespace appliance::plugins::runner_scaler::kube {

ResourceWatch::ResourceWatch(std::shared_ptr<KubeClient> client, ResourceWatchOptions options,
                             ResourceWatchHandlers handlers, const Logger& logger)
    : client_(std::move(client)),
      options_(std::move(options)),
      handlers_(std::move(handlers)),
      logger_(logger),
      delay_(options_.retry_delay) {}

ResourceWatch::~ResourceWatch() { stop(); }

void ResourceWatch::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { run(); });
}

void ResourceWatch::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  canceller_->cancel();
  if (thread_.joinable()) thread_.join();
}

ResourceWatchStats ResourceWatch::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

bool ResourceWatch::pause(std::chrono::milliseconds delay) {
  std::unique_lock lock(mutex_);
  return !wake_.wait_for(lock, delay, [this] { return stopping_; });
}

void ResourceWatch::noteFailure(const Status& status) {
  bool log_it = false;
  {
    std::lock_guard lock(mutex_);
    ++stats_.failures;
    log_it = !failing_;
    failing_ = true;
  }
  if (log_it) {
    logger_.warn("kubernetes watch failing; retrying with backoff",
                 {{"resource", options_.type.plural},
                  {"namespace", options_.ns},
                  {"error", status.message()}});
  }
}

void ResourceWatch::noteRecovered() {
  bool log_it = false;
  {
    std::lock_guard lock(mutex_);
    log_it = failing_;
    failing_ = false;
  }
  delay_ = options_.retry_delay;
  if (log_it) {
    logger_.info("kubernetes watch recovered",
                 {{"resource", options_.type.plural}, {"namespace", options_.ns}});
  }
}

bool ResourceWatch::relist() {
  ListOptions list;
  list.label_selector = options_.label_selector;
  list.field_selector = options_.field_selector;
  auto state = client_->list(options_.type, options_.ns, list);
  if (!state) {
    if (client_->isShutDown() || canceller_->cancelled()) return false;
    noteFailure(state.status());
    pause(delay_);
    delay_ = std::min(delay_ * 2, options_.max_retry_delay);
    return false;
  }
  {
    std::lock_guard lock(mutex_);
    ++stats_.lists;
    stats_.resource_version = state->resource_version;
  }
  if (handlers_.on_sync) handlers_.on_sync(state.value());
  return true;
}

void ResourceWatch::run() {
  bool listed = false;
  while (!canceller_->cancelled() && !client_->isShutDown()) {
    if (!listed) {
      listed = relist();
      continue;
    }
    WatchOptions watch;
    watch.label_selector = options_.label_selector;
    watch.field_selector = options_.field_selector;
    watch.timeout_seconds = options_.timeout_seconds;
    watch.canceller = canceller_;
    {
      std::lock_guard lock(mutex_);
      watch.resource_version = stats_.resource_version;
    }
    WatchEnd end = client_->watch(options_.type, options_.ns, watch, [this](const WatchEvent& e) {
      {
        std::lock_guard lock(mutex_);
        const std::string rv = resourceVersionOf(e.object);
        if (!rv.empty()) stats_.resource_version = rv;
        if (e.type != WatchEventType::kBookmark) ++stats_.events;
      }
      if (e.type != WatchEventType::kBookmark && handlers_.on_event) handlers_.on_event(e);
      return true;
    });
    switch (end.reason) {
      case WatchEnd::kStopped:
        return;
      case WatchEnd::kGone: {
        std::lock_guard lock(mutex_);
        ++stats_.gone;
        listed = false;
        break;
      }
      case WatchEnd::kClosed: {
        std::lock_guard lock(mutex_);
        ++stats_.resumes;
        break;
      }
      case WatchEnd::kFailed:
        break;
    }
    // A quiet watch that hit the idle timeout is normal (a server that sends no bookmarks).
    const bool idle = end.error.code() == StatusCode::kTimeout;
    if (end.reason == WatchEnd::kFailed ||
        (end.reason == WatchEnd::kClosed && !end.error.isOk() && !idle && end.events == 0)) {
      // Refused, or dropped before anything arrived: do not hammer the server.
      noteFailure(end.error.isOk() ? Status::unavailable("watch refused") : end.error);
      if (!pause(delay_)) return;
      delay_ = std::min(delay_ * 2, options_.max_retry_delay);
    } else {
      noteRecovered();
    }
  }
}

}  // namespace appliance::plugins::runner_scaler::kube
