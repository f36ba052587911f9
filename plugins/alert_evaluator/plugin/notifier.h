#pragma once
// Alertmanager v2 notifier (and the generic JSON webhook): alerts are queued per receiver
// (every configured Alertmanager gets every alert, for HA; Alertmanager deduplicates), each
// queue bounded (a full queue drops its oldest alerts, counted), and flush() POSTs batches of
// at most max_batch as a JSON array to <url>/api/v2/alerts (webhooks: to the URL as given).
// A failed batch (no answer, or a non-2xx status) is retried with exponential backoff (1s,
// 2s, 4s, ... up to 1 min) up to three more times, then dropped and counted; the evaluator's
// resend_delay re-sends firing alerts anyway. Thread-safe: enqueue() from evaluation
// threads, flush() from one timer.

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "appliance/http_client.h"
#include "appliance/logger.h"
#include "promql/value.h"

namespace prometheus {
class Registry;
template <typename T>
class Family;
class Counter;
class Gauge;
}  // namespace prometheus

namespace appliance::plugins::alert_evaluator {

struct NotifyAlert {
  promql::Labels labels;  // with external labels applied
  promql::Labels annotations;
  std::int64_t starts_at_ms = 0;
  std::int64_t ends_at_ms = 0;
  std::string generator_url;
};

// The JSON array Alertmanager's POST /api/v2/alerts takes.
std::string alertsJson(const std::vector<NotifyAlert>& alerts);
// RFC 3339 with milliseconds, UTC.
std::string rfc3339(std::int64_t ms);

class Notifier {
 public:
  static constexpr int kMaxRetries = 3;

  Notifier(std::shared_ptr<HttpClient> client, const Logger& logger, prometheus::Registry& registry,
           const std::vector<std::string>& alertmanager_urls,
           const std::vector<std::string>& webhook_urls, std::size_t queue_capacity,
           std::size_t max_batch, std::chrono::milliseconds timeout);
  ~Notifier();

  void enqueue(const std::vector<NotifyAlert>& alerts);
  // Sends what is due; `now` decides backoff. Blocks for the HTTP calls.
  void flush(std::chrono::steady_clock::time_point now);
  std::size_t queued() const;
  bool empty() const { return receivers_.empty(); }

 private:
  struct Receiver;
  std::shared_ptr<HttpClient> client_;
  const Logger& logger_;
  std::size_t capacity_;
  std::size_t max_batch_;
  std::chrono::milliseconds timeout_;
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Receiver>> receivers_;
};

}  // namespace appliance::plugins::alert_evaluator
