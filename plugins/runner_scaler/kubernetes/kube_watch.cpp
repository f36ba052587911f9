// KubeClient::watch: one watch connection, newline-delimited JSON events read as they arrive.
#include <Poco/URI.h>

#include "kube_client.h"

namespace appliance::plugins::runner_scaler::kube {
namespace {

std::optional<WatchEventType> eventType(const std::string& name) {
  if (name == "ADDED") return WatchEventType::kAdded;
  if (name == "MODIFIED") return WatchEventType::kModified;
  if (name == "DELETED") return WatchEventType::kDeleted;
  if (name == "BOOKMARK") return WatchEventType::kBookmark;
  if (name == "ERROR") return WatchEventType::kError;
  return std::nullopt;
}

constexpr std::size_t kMaxErrorBody = 64 * 1024;
constexpr std::size_t kMaxEventBytes = 16u << 20;

}  // namespace

void WatchCanceller::cancel() {
  std::shared_ptr<HttpClient> channel;
  {
    std::lock_guard lock(mutex_);
    cancelled_ = true;
    channel = channel_;
  }
  if (channel) channel->shutdown();
}

bool WatchCanceller::cancelled() const {
  std::lock_guard lock(mutex_);
  return cancelled_;
}

bool WatchCanceller::attach(std::shared_ptr<HttpClient> channel) {
  std::lock_guard lock(mutex_);
  if (cancelled_) return false;
  channel_ = std::move(channel);
  return true;
}

void WatchCanceller::detach() {
  std::lock_guard lock(mutex_);
  channel_.reset();
}

WatchEnd KubeClient::watch(const ResourceType& type, const std::string& ns,
                           const WatchOptions& options,
                           const std::function<bool(const WatchEvent&)>& on_event) {
  WatchEnd end;
  end.resource_version = options.resource_version;
  const std::string where = "GET " + path(type, ns) + " (watch)";
  auto channel = watchChannel();
  if (!channel) {
    end.reason = isShutDown() ? WatchEnd::kStopped : WatchEnd::kFailed;
    end.error = channel.status();
    return end;
  }
  if (options.canceller && !options.canceller->attach(channel.value())) {
    releaseWatchChannel(channel.value());
    end.reason = WatchEnd::kStopped;
    return end;
  }
  std::string query = "watch=1";
  auto add = [&query](const char* key, const std::string& value) {
    if (value.empty()) return;
    std::string encoded;
    Poco::URI::encode(value, "!#$&'()*+,/:;=?@[] ", encoded);
    query += std::string("&") + key + "=" + encoded;
  };
  add("resourceVersion", options.resource_version);
  add("labelSelector", options.label_selector);
  add("fieldSelector", options.field_selector);
  if (options.timeout_seconds > 0) add("timeoutSeconds", std::to_string(options.timeout_seconds));
  if (options.bookmarks) add("allowWatchBookmarks", "true");

  HttpClientRequest request;
  request.url = access_.server + path(type, ns) + "?" + query;
  request.endpoint = endpointOf(type, ns, false, "") + " watch";
  request.headers.push_back({"Accept", "application/json"});
  addAuthorization(request);

  int status = 0;
  bool decided = false;  // the stream itself said how it ends (ERROR, bad event, stop)
  std::string error_body;
  std::string buffer;
  auto handleLine = [&](std::string_view line) -> bool {
    auto parsed = parseObject(line, "kubernetes " + where + ": event");
    if (!parsed) {
      end.reason = WatchEnd::kFailed;
      end.error = parsed.status();
      return false;
    }
    const auto kind = eventType(stringAt(parsed.value(), {"type"}));
    Object object = objectAt(parsed.value(), {"object"});
    if (!kind || object.isNull()) {
      end.reason = WatchEnd::kFailed;
      end.error = Status::internal("kubernetes " + where + ": an event without type or object");
      return false;
    }
    if (*kind == WatchEventType::kError) {
      const auto code = intAt(object, {"code"}).value_or(0);
      end.reason = code == 410 ? WatchEnd::kGone : WatchEnd::kFailed;
      end.error = apiError(where, static_cast<int>(code), toJson(object), false);
      return false;
    }
    const std::string rv = resourceVersionOf(object);
    if (!rv.empty()) end.resource_version = rv;
    if (*kind != WatchEventType::kBookmark) ++end.events;
    if (!on_event(WatchEvent{*kind, object})) {
      end.reason = WatchEnd::kStopped;
      return false;
    }
    return true;
  };
  HttpStreamHandler handler;
  handler.on_head = [&status](const HttpClientResponse& head) {
    status = head.status;
    return true;
  };
  // cancel() aborts the connection; should the abort miss it (a connection still being set up
  // then), the next bytes, at the latest the next bookmark, end it here.
  auto cancelled = [&options] { return options.canceller && options.canceller->cancelled(); };
  handler.on_chunk = [&](std::string_view chunk) {
    if (cancelled() || isShutDown()) return false;
    if (status != 200) {
      if (error_body.size() < kMaxErrorBody) error_body.append(chunk);
      return true;
    }
    buffer.append(chunk);
    std::size_t start = 0;
    for (std::size_t nl; (nl = buffer.find('\n', start)) != std::string::npos; start = nl + 1) {
      std::string_view line(buffer.data() + start, nl - start);
      if (line.find_first_not_of(" \r\t") == std::string_view::npos) continue;
      if (!handleLine(line)) {
        decided = true;
        return false;
      }
    }
    buffer.erase(0, start);
    if (buffer.size() > kMaxEventBytes) {
      decided = true;
      end.reason = WatchEnd::kFailed;
      end.error = Status::unavailable("kubernetes " + where + ": an event over 16 MiB");
      return false;
    }
    return true;
  };
  auto result = channel.value()->stream(request, handler);
  if (options.canceller) options.canceller->detach();
  releaseWatchChannel(channel.value());
  if (decided) return end;
  if (cancelled() || isShutDown()) {
    end.reason = WatchEnd::kStopped;
  } else if (!result) {
    end.reason = WatchEnd::kClosed;  // dropped or idle: resume from the last version
    end.error = result.status();
  } else if (status == 410) {
    end.reason = WatchEnd::kGone;
    end.error = apiError(where, status, error_body, false);
  } else if (status != 200) {
    if (status == 401) reloadToken();
    end.reason = WatchEnd::kFailed;
    end.error = apiError(where, status, error_body, false);
  } else {
    end.reason = WatchEnd::kClosed;
  }
  return end;
}

}  // namespace appliance::plugins::runner_scaler::kube
