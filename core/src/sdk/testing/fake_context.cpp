#include "appliance/testing/fake_context.h"

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "sdk/route_table.h"

namespace appliance::testing {

// --- ManualClock --------------------------------------------------------------------------

std::chrono::system_clock::time_point ManualClock::now() const {
  std::lock_guard lock(mutex_);
  return now_;
}
std::chrono::steady_clock::time_point ManualClock::steadyNow() const {
  std::lock_guard lock(mutex_);
  return steady_;
}
void ManualClock::advance(std::chrono::microseconds by) {
  std::lock_guard lock(mutex_);
  now_ += by;
  steady_ += by;
}
void ManualClock::set(std::chrono::system_clock::time_point to) {
  std::lock_guard lock(mutex_);
  now_ = to;
}

// --- CapturingLogger ----------------------------------------------------------------------

void CapturingLogger::log(LogLevel level, std::string_view message,
                          std::span<const LogField> fields) const {
  CapturedLog line{level, std::string(message), {}};
  for (const auto& f : fields) line.fields[std::string(f.key)] = f.value;
  std::lock_guard lock(mutex_);
  lines_.push_back(std::move(line));
}

std::vector<CapturedLog> CapturingLogger::lines() const {
  std::lock_guard lock(mutex_);
  return lines_;
}

bool CapturingLogger::contains(std::string_view text) const {
  std::lock_guard lock(mutex_);
  for (const auto& line : lines_) {
    if (line.message.find(text) != std::string::npos) return true;
    for (const auto& [k, v] : line.fields) {
      if (v.find(text) != std::string::npos) return true;
    }
  }
  return false;
}

// --- FakeRouter ---------------------------------------------------------------------------

struct FakeRouter::Impl {
  std::mutex mutex;
  RouteTable table;
  std::map<std::string, ListenerOptions> listeners;
  std::uint64_t requests = 0;
};

FakeRouter::FakeRouter() : impl_(std::make_unique<Impl>()) {}
FakeRouter::~FakeRouter() = default;

Status FakeRouter::addRoute(Route route) {
  std::lock_guard lock(impl_->mutex);
  if (route.listener != "main" && !impl_->listeners.count(route.listener)) {
    return Status::invalid("route " + route.path + " names unknown listener '" + route.listener +
                           "'; call addListener first");
  }
  return impl_->table.add(std::move(route));
}

Status FakeRouter::addListener(std::string name, ListenerOptions options) {
  std::lock_guard lock(impl_->mutex);
  if (name == "main" || impl_->listeners.count(name)) {
    return Status::invalid("listener '" + name + "' already exists");
  }
  impl_->listeners.emplace(std::move(name), std::move(options));
  return Status::ok();
}

std::string FakeRouter::boundAddress(std::string_view listener) const {
  std::lock_guard lock(impl_->mutex);
  if (listener == "main") return "127.0.0.1:8080";
  auto it = impl_->listeners.find(std::string(listener));
  return it == impl_->listeners.end() ? std::string() : it->second.address;
}

HttpResponse FakeRouter::call(std::string method, std::string target, std::string body,
                              std::vector<HttpHeader> headers, std::string listener) {
  HttpRequest request;
  const std::size_t q = target.find('?');
  request.method = std::move(method);
  request.path = target.substr(0, q);
  if (q != std::string::npos) request.query = target.substr(q + 1);
  request.body = std::move(body);
  request.headers = std::move(headers);
  request.remote_address = "127.0.0.1:50000";
  request.correlation_id = std::string(
      request.header("correlation-id").value_or(request.header("X-Request-ID").value_or("")));
  std::uint64_t n;
  {
    std::lock_guard lock(impl_->mutex);
    n = ++impl_->requests;
  }
  if (request.correlation_id.empty()) request.correlation_id = "fake-" + std::to_string(n);

  HttpResponse response;
  auto match = impl_->table.match(request.method, request.path, request.path_params, listener);
  if (match.kind == RouteTable::MatchKind::kNotFound) {
    response.error(404, "Not Found");
    return response;
  }
  if (match.kind == RouteTable::MatchKind::kMethodNotAllowed) {
    response.error(405, "Method Not Allowed");
    response.setHeader("Allow", match.allowed_methods);
    return response;
  }
  const std::size_t limit =
      match.entry->route.max_body_bytes ? match.entry->route.max_body_bytes : 1024 * 1024;
  if (request.body.size() > limit) {
    response.error(413, "Request body too large: limit is " + std::to_string(limit) + " bytes");
    return response;
  }
  request.route = match.entry->route.path;
  match.entry->route.handler(request, response);
  return response;
}

std::vector<std::string> FakeRouter::routes() const {
  std::lock_guard lock(impl_->mutex);
  std::vector<std::string> out;
  for (const auto& e : impl_->table.entries()) out.push_back(e->route.method + " " + e->route.path);
  return out;
}

std::map<std::string, ListenerOptions> FakeRouter::listeners() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->listeners;
}

// --- FakeServices, FakeScheduler, FakeHealth ----------------------------------------------

Status FakeServices::provideService(std::string_view name, std::shared_ptr<void> service) {
  std::lock_guard lock(mutex_);
  if (services_.count(name))
    return Status::invalid("service '" + std::string(name) + "' already provided");
  services_.emplace(std::string(name), std::move(service));
  return Status::ok();
}

std::shared_ptr<void> FakeServices::findService(std::string_view name) const {
  std::lock_guard lock(mutex_);
  auto it = services_.find(name);
  return it == services_.end() ? nullptr : it->second;
}

TimerId FakeScheduler::every(std::string name, std::chrono::milliseconds period,
                             std::function<void()> callback) {
  std::lock_guard lock(mutex_);
  timers_[next_] = {std::move(name), period, true, std::move(callback)};
  return next_++;
}

TimerId FakeScheduler::after(std::string name, std::chrono::milliseconds delay,
                             std::function<void()> callback) {
  std::lock_guard lock(mutex_);
  timers_[next_] = {std::move(name), delay, false, std::move(callback)};
  return next_++;
}

void FakeScheduler::cancel(TimerId id) {
  std::lock_guard lock(mutex_);
  timers_.erase(id);
}

bool FakeScheduler::fire(std::string_view name) {
  std::function<void()> callback;
  {
    std::lock_guard lock(mutex_);
    for (auto it = timers_.begin(); it != timers_.end(); ++it) {
      if (it->second.name != name) continue;
      callback = it->second.callback;
      if (!it->second.repeating) timers_.erase(it);
      break;
    }
  }
  if (!callback) return false;
  callback();
  return true;
}

void FakeScheduler::fireAll() {
  for (const auto& name : names()) fire(name);
}

std::vector<std::string> FakeScheduler::names() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [id, t] : timers_) out.push_back(t.name);
  return out;
}

void FakeHealth::addCheck(std::string name, std::function<HealthResult()> check) {
  std::lock_guard lock(mutex_);
  checks_[std::move(name)] = std::move(check);
}

std::map<std::string, HealthResult> FakeHealth::run() const {
  std::map<std::string, std::function<HealthResult()>> checks;
  {
    std::lock_guard lock(mutex_);
    checks = checks_;
  }
  std::map<std::string, HealthResult> out;
  for (const auto& [name, check] : checks) out[name] = check();
  return out;
}

// --- FakeContext --------------------------------------------------------------------------

FakeContext::FakeContext(std::string plugin_name)
    : registry(std::make_shared<prometheus::Registry>()), name_(std::move(plugin_name)) {
  runtime_info.roles = {"all"};
  runtime_info.env = "test";
  runtime_info.instance_id = "test-instance";
  runtime_info.version = "0.0.0-test";
  runtime_info.revision = "test";
  runtime_info.data_dir = "./data";
  runtime_info.share_dir = ".";
}

FakeContext::~FakeContext() = default;

std::optional<double> FakeContext::metricValue(
    std::string_view name, const std::map<std::string, std::string>& labels) const {
  for (const auto& family : registry->Collect()) {
    for (const auto& metric : family.metric) {
      bool match = true;
      for (const auto& [k, v] : labels) {
        bool found = false;
        for (const auto& l : metric.label) found = found || (l.name == k && l.value == v);
        match = match && found;
      }
      if (!match) continue;
      if (family.name == name) {
        switch (family.type) {
          case prometheus::MetricType::Counter:
            return metric.counter.value;
          case prometheus::MetricType::Gauge:
            return metric.gauge.value;
          case prometheus::MetricType::Untyped:
            return metric.untyped.value;
          case prometheus::MetricType::Histogram:
            return static_cast<double>(metric.histogram.sample_count);
          case prometheus::MetricType::Summary:
            return static_cast<double>(metric.summary.sample_count);
          default:
            return std::nullopt;
        }
      }
    }
  }
  return std::nullopt;
}

void FakeContext::onReload(std::function<void()> callback) {
  std::lock_guard lock(reload_mutex_);
  reload_callbacks_.push_back(std::move(callback));
}

Result<std::shared_ptr<HttpClient>> FakeContext::httpClient(const HttpClientOptions& options) {
  if (options.name.empty()) {
    return Status::invalid("httpClient: options.name is required (it labels the client's metrics)");
  }
  std::lock_guard lock(reload_mutex_);
  http_client_options.push_back(options);
  return std::static_pointer_cast<HttpClient>(http_client);
}

void FakeContext::reload() {
  std::vector<std::function<void()>> callbacks;
  {
    std::lock_guard lock(reload_mutex_);
    callbacks = reload_callbacks_;
  }
  for (const auto& callback : callbacks) callback();
}

std::string FakeContext::metricsText() const {
  return prometheus::TextSerializer().Serialize(registry->Collect());
}

}  // namespace appliance::testing
