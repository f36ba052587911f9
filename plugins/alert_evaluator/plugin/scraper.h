#pragma once
// `source: scrape`: fetches each target's /metrics with the SDK's HttpClient, parses the text
// exposition format and appends the samples to the series store as Prometheus's scrape loop
// does: target labels (job, instance, configured labels; a clash renames the scraped label
// to exported_<name> unless honor_labels), a per-target sample limit (over it the scrape
// fails), the synthetic series up, scrape_duration_seconds and scrape_samples_scraped, and
// stale markers for every series a target stopped exposing, or all of a failed target's.
// fetch() does the network I/O without locks; apply() writes the store and must run under
// the caller's store lock.

#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "appliance/http_client.h"
#include "exposition.h"
#include "promql/series_store.h"

namespace appliance::plugins::alert_evaluator {

struct ScrapeTarget {
  std::string url;
  promql::Labels labels;  // job, instance and the configured target labels
  bool honor_labels = false;
  std::int64_t sample_limit = 0;
  bool drop_alert_series = false;  // this process's own /metrics: ALERTS come from the rules
  std::vector<promql::Labels> last_series;  // exposed by the last successful scrape; sorted
  std::string last_error;
  std::int64_t last_scrape_ms = 0;
};

struct ScrapeOutcome {
  // Either the samples themselves (parsed.samples), or, as fetchTarget leaves it, the
  // exposition text in `body`, validated (parsed has its types, help and sample_count, no
  // samples): applyScrape then reads the text again one sample at a time, so a scrape's
  // parsed samples are never all in memory next to the store.
  exposition::ParseResult parsed;
  std::string body;
  std::string error;  // transport, HTTP status, parse error or sample limit; "" when up
  double duration_seconds = 0;
};

ScrapeOutcome fetchTarget(HttpClient& client, const ScrapeTarget& target,
                          std::chrono::milliseconds timeout);

// Writes `outcome` at `ts_ms` into `store`; returns the number of samples appended.
std::size_t applyScrape(promql::SeriesStore& store, ScrapeTarget& target, ScrapeOutcome outcome,
                        std::int64_t ts_ms);

// "host:port" of an http(s) URL, Prometheus's instance label.
std::string instanceOf(const std::string& url);

}  // namespace appliance::plugins::alert_evaluator
