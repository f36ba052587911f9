#pragma once
// AlertEvaluatorPlugin: evaluates Prometheus rule files inside the appliance (role `alerts`).
//   configure: parses `alert_evaluator:` and loads the rule files (a bad file refuses start-up
//              with file:line:col, group and rule).
//   init:      metrics, routes (/api/v1/rules, /api/v1/alerts, /alerts), the outbound HTTP
//              client, one timer per rule group, a scrape timer (source: scrape) and the
//              notifier's timer.
//   start:     finds the kv_store service (optional until the storage plugins provide it:
//              without it alert state is not persisted, logged once), restores alert state,
//              resolves the default scrape target (this process's own /metrics).
// Each group's timer evaluates the group at the clock's time, exports ALERTS and
// ALERTS_FOR_STATE as gauges, persists changed alert state and queues notifications as
// Prometheus's rule manager does (resend_delay, endsAt, 15-minute resolved window).
// Locks: store_mutex_ (the shared series store, scrape mode) is taken after a group's mutex;
// snapshot_mutex_ (what the HTTP routes read) last.

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "appliance/kv_store.h"
#include "appliance/plugin.h"
#include "config.h"
#include "notifier.h"
#include "rules/group_evaluator.h"
#include "scraper.h"

namespace prometheus {
class Counter;
class Gauge;
template <typename T>
class Family;
}  // namespace prometheus

namespace appliance::plugins::alert_evaluator {

inline constexpr const char* kPluginName = "alert_evaluator";
inline constexpr const char* kKvNamespace = "alert_evaluator";

class AlertEvaluatorPlugin final : public Plugin {
 public:
  AlertEvaluatorPlugin();
  ~AlertEvaluatorPlugin() override;

  Status configure(const ConfigNode& section) override;
  Status init(PluginContext& context) override;
  Status start() override;
  void stop(std::chrono::steady_clock::time_point deadline) override;

  // What the timers run; public for tests (FakeScheduler fires them by name as well).
  void evaluateGroup(std::size_t index);
  void scrapeAll();
  void flushNotifications();

  std::string rulesJson(std::string_view type_filter = {}) const;
  std::string alertsJson() const;
  std::string alertsHtml() const;
  std::size_t groupCount() const { return groups_.size(); }
  const AlertEvaluatorConfig& config() const { return config_; }

 private:
  struct Group;
  struct RuleSnapshot;
  std::int64_t nowMs() const;
  promql::EvalResult queryPrometheus(const rules::Rule& rule, std::int64_t ts);
  void restoreState();
  void persistGroup(Group& group, std::int64_t ts);
  void notifyGroup(Group& group, std::int64_t ts);
  void exportGroup(Group& group);
  void snapshotGroup(Group& group);
  std::int64_t retentionMs() const;

  AlertEvaluatorConfig config_;
  PluginContext* context_ = nullptr;
  std::shared_ptr<HttpClient> http_;
  std::shared_ptr<KvStore> kv_;
  std::unique_ptr<Notifier> notifier_;
  std::vector<std::unique_ptr<Group>> groups_;
  std::vector<TimerId> timers_;

  mutable std::mutex store_mutex_;
  promql::SeriesStore store_;  // source: scrape
  std::vector<ScrapeTarget> targets_;
  std::atomic<bool> scraped_once_{false};
  std::int64_t started_ms_ = 0;
  std::string external_url_;

  mutable std::mutex snapshot_mutex_;

  prometheus::Family<prometheus::Gauge>* alerts_family_ = nullptr;
  prometheus::Family<prometheus::Gauge>* for_state_family_ = nullptr;
  prometheus::Family<prometheus::Counter>* evaluations_family_ = nullptr;
  prometheus::Family<prometheus::Counter>* failures_family_ = nullptr;
  prometheus::Family<prometheus::Gauge>* duration_family_ = nullptr;
  prometheus::Family<prometheus::Gauge>* timestamp_family_ = nullptr;
  prometheus::Counter* persist_failures_ = nullptr;
  prometheus::Counter* query_failures_ = nullptr;
};

}  // namespace appliance::plugins::alert_evaluator
