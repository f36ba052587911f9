#include "notifier.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <ctime>

#include "appliance/http.h"

namespace appliance::plugins::alert_evaluator {

std::string rfc3339(std::int64_t ms) {
  std::int64_t secs = ms / 1000;
  std::int64_t frac = ms % 1000;
  if (frac < 0) {
    frac += 1000;
    --secs;
  }
  const std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(frac));
  return buf;
}

namespace {

void appendLabels(std::string& out, const promql::Labels& labels) {
  out += '{';
  bool first = true;
  for (const auto& l : labels.items()) {
    if (!first) out += ',';
    first = false;
    out += '"';
    appendJsonEscaped(out, l.name);
    out += "\":\"";
    appendJsonEscaped(out, l.value);
    out += '"';
  }
  out += '}';
}

}  // namespace

std::string alertsJson(const std::vector<NotifyAlert>& alerts) {
  std::string out = "[";
  for (std::size_t i = 0; i < alerts.size(); ++i) {
    const auto& a = alerts[i];
    if (i > 0) out += ',';
    out += "{\"labels\":";
    appendLabels(out, a.labels);
    out += ",\"annotations\":";
    appendLabels(out, a.annotations);
    out += ",\"startsAt\":\"" + rfc3339(a.starts_at_ms) + "\"";
    out += ",\"endsAt\":\"" + rfc3339(a.ends_at_ms) + "\"";
    out += ",\"generatorURL\":\"";
    appendJsonEscaped(out, a.generator_url);
    out += "\"}";
  }
  out += ']';
  return out;
}

struct Notifier::Receiver {
  std::string name;  // the configured URL (metrics label)
  std::string post_url;
  std::deque<NotifyAlert> queue;
  std::vector<NotifyAlert> in_flight;  // a failed batch awaiting its retry
  int attempts = 0;
  std::chrono::steady_clock::time_point next_attempt{};
  std::chrono::milliseconds backoff{0};
  prometheus::Counter* sent = nullptr;
  prometheus::Counter* errors = nullptr;
  prometheus::Counter* dropped = nullptr;
  prometheus::Gauge* queue_length = nullptr;
};

Notifier::Notifier(std::shared_ptr<HttpClient> client, const Logger& logger,
                   prometheus::Registry& registry,
                   const std::vector<std::string>& alertmanager_urls,
                   const std::vector<std::string>& webhook_urls, std::size_t queue_capacity,
                   std::size_t max_batch, std::chrono::milliseconds timeout)
    : client_(std::move(client)),
      logger_(logger),
      capacity_(queue_capacity),
      max_batch_(max_batch),
      timeout_(timeout) {
  auto& sent = prometheus::BuildCounter()
                   .Name("appliance_notifications_sent_total")
                   .Help("Alerts sent to each Alertmanager or webhook (accepted with a 2xx).")
                   .Register(registry);
  auto& errors = prometheus::BuildCounter()
                     .Name("appliance_notifications_errors_total")
                     .Help("Failed POSTs of alert batches (no answer or a non-2xx status).")
                     .Register(registry);
  auto& dropped = prometheus::BuildCounter()
                      .Name("appliance_notifications_dropped_total")
                      .Help("Alerts dropped: queue full, or a batch that failed every retry.")
                      .Register(registry);
  auto& length = prometheus::BuildGauge()
                     .Name("appliance_notifications_queue_length")
                     .Help("Alerts waiting to be sent, per receiver.")
                     .Register(registry);
  auto add = [&](const std::string& url, bool alertmanager) {
    auto r = std::make_unique<Receiver>();
    r->name = url;
    std::string base = url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    r->post_url = alertmanager ? base + "/api/v2/alerts" : url;
    const std::map<std::string, std::string> labels{{"alertmanager", url}};
    r->sent = &sent.Add(labels);
    r->errors = &errors.Add(labels);
    r->dropped = &dropped.Add(labels);
    r->queue_length = &length.Add(labels);
    receivers_.push_back(std::move(r));
  };
  for (const auto& url : alertmanager_urls) add(url, true);
  for (const auto& url : webhook_urls) add(url, false);
}

Notifier::~Notifier() = default;

void Notifier::enqueue(const std::vector<NotifyAlert>& alerts) {
  if (alerts.empty()) return;
  std::lock_guard lock(mutex_);
  for (auto& r : receivers_) {
    for (const auto& a : alerts) r->queue.push_back(a);
    if (r->queue.size() > capacity_) {
      const std::size_t over = r->queue.size() - capacity_;
      r->queue.erase(r->queue.begin(), r->queue.begin() + static_cast<std::ptrdiff_t>(over));
      r->dropped->Increment(static_cast<double>(over));
    }
    r->queue_length->Set(static_cast<double>(r->queue.size() + r->in_flight.size()));
  }
}

std::size_t Notifier::queued() const {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const auto& r : receivers_) n += r->queue.size() + r->in_flight.size();
  return n;
}

void Notifier::flush(std::chrono::steady_clock::time_point now) {
  for (auto& r : receivers_) {
    for (;;) {
      std::vector<NotifyAlert> batch;
      {
        std::lock_guard lock(mutex_);
        if (r->in_flight.empty()) {
          const std::size_t n = std::min(max_batch_, r->queue.size());
          if (n == 0) break;
          r->in_flight.assign(r->queue.begin(), r->queue.begin() + static_cast<std::ptrdiff_t>(n));
          r->queue.erase(r->queue.begin(), r->queue.begin() + static_cast<std::ptrdiff_t>(n));
          r->attempts = 0;
        } else if (now < r->next_attempt) {
          break;
        }
        batch = r->in_flight;
      }
      HttpClientRequest request;
      request.method = "POST";
      request.url = r->post_url;
      request.body = alertsJson(batch);
      request.headers.push_back({"Content-Type", "application/json"});
      request.timeout = timeout_;
      request.endpoint = "/api/v2/alerts";
      auto response = client_->send(request);
      const bool ok = response.isOk() && response.value().status / 100 == 2;
      std::lock_guard lock(mutex_);
      if (ok) {
        r->sent->Increment(static_cast<double>(batch.size()));
        r->in_flight.clear();
        r->backoff = std::chrono::milliseconds(0);
      } else {
        r->errors->Increment();
        const std::string why = response.isOk()
                                    ? "HTTP status " + std::to_string(response.value().status)
                                    : response.status().message();
        if (++r->attempts > kMaxRetries) {
          r->dropped->Increment(static_cast<double>(r->in_flight.size()));
          logger_.warn("dropping alerts after retries",
                       {{"alertmanager", r->name},
                        {"alerts", static_cast<std::int64_t>(r->in_flight.size())},
                        {"reason", why}});
          r->in_flight.clear();
          r->backoff = std::chrono::milliseconds(0);
        } else {
          r->backoff = std::min<std::chrono::milliseconds>(
              r->backoff.count() == 0 ? std::chrono::milliseconds(1000) : r->backoff * 2,
              std::chrono::minutes(1));
          r->next_attempt = now + r->backoff;
          logger_.warn("sending alerts failed; will retry",
                       {{"alertmanager", r->name},
                        {"retry_in_ms", static_cast<std::int64_t>(r->backoff.count())},
                        {"reason", why}});
        }
      }
      r->queue_length->Set(static_cast<double>(r->queue.size() + r->in_flight.size()));
      if (!ok) break;
    }
  }
}

}  // namespace appliance::plugins::alert_evaluator
