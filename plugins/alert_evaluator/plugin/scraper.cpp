#include "scraper.h"

#include <algorithm>
#include <utility>

namespace appliance::plugins::alert_evaluator {

std::string instanceOf(const std::string& url) {
  std::size_t start = url.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  const std::size_t end = url.find_first_of("/?#", start);
  return url.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

ScrapeOutcome fetchTarget(HttpClient& client, const ScrapeTarget& target,
                          std::chrono::milliseconds timeout) {
  ScrapeOutcome outcome;
  const auto started = std::chrono::steady_clock::now();
  HttpClientRequest request;
  request.url = target.url;
  request.timeout = timeout;
  request.endpoint = "/metrics";
  request.headers.push_back({"Accept", "text/plain;version=0.0.4;q=0.9,*/*;q=0.1"});
  request.headers.push_back({"X-Prometheus-Scrape-Timeout-Seconds",
                             std::to_string(static_cast<double>(timeout.count()) / 1000.0)});
  auto response = client.send(request);
  outcome.duration_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (!response.isOk()) {
    outcome.error = response.status().message();
    return outcome;
  }
  if (response.value().status != 200) {
    outcome.error = "server returned HTTP status " + std::to_string(response.value().status);
    return outcome;
  }
  // Validate and count only; applyScrape reads the samples from the text.
  outcome.parsed = exposition::parse(response.value().body, [](exposition::ParsedSample&) {});
  if (!outcome.parsed.ok()) {
    outcome.error = "parsing the exposition: " + outcome.parsed.error;
    return outcome;
  }
  if (target.sample_limit > 0 &&
      static_cast<std::int64_t>(outcome.parsed.sample_count) > target.sample_limit) {
    outcome.error = "sample limit exceeded: " + std::to_string(outcome.parsed.sample_count) +
                    " samples > sample_limit " + std::to_string(target.sample_limit);
    return outcome;
  }
  outcome.body = std::move(response.value().body);
  return outcome;
}

std::size_t applyScrape(promql::SeriesStore& store, ScrapeTarget& target, ScrapeOutcome outcome,
                        std::int64_t ts_ms) {
  const bool up = outcome.error.empty();
  std::vector<promql::Labels> seen;  // sorted below: half the memory of a std::set
  std::size_t appended = 0;
  const auto add = [&](exposition::ParsedSample& sample) {
    const std::string_view name = sample.labels.get(promql::kMetricNameLabel);
    if (target.drop_alert_series && (name == "ALERTS" || name == "ALERTS_FOR_STATE")) return;
    promql::Labels labels;
    const auto target_items = target.labels.items();
    if (std::none_of(target_items.begin(), target_items.end(),
                     [&](const promql::Label& l) { return sample.labels.has(l.name); })) {
      // No clash: the sample's labels and the target's, both lists shared, no copy.
      labels = sample.labels.with(target.labels);
    } else {
      labels = sample.labels;
      for (const auto& l : target_items) {
        const std::string_view scraped = labels.get(l.name);
        if (!scraped.empty()) {
          if (target.honor_labels) continue;
          labels.set("exported_" + l.name, scraped);
        }
        labels.set(l.name, l.value);
      }
    }
    // A sample with its own timestamp is stored at it and never stale-marked (Prometheus).
    if (sample.timestamp_ms) {
      store.append(labels, *sample.timestamp_ms, sample.value);
    } else {
      seen.push_back(store.append(labels, ts_ms, sample.value));
    }
    ++appended;
  };
  if (up) {
    seen.reserve(std::max(outcome.parsed.sample_count, outcome.parsed.samples.size()));
    if (!outcome.body.empty()) {
      // Validated by fetchTarget; read again, one sample at a time, straight into the store.
      exposition::parse(outcome.body, add);
    } else {
      for (auto& sample : outcome.parsed.samples) add(sample);
    }
  }
  std::sort(seen.begin(), seen.end());
  seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
  seen.shrink_to_fit();
  for (const auto& labels : target.last_series) {
    if (!std::binary_search(seen.begin(), seen.end(), labels)) {
      store.append(labels, ts_ms, promql::staleNaN());
    }
  }
  target.last_series = std::move(seen);
  target.last_error = outcome.error;
  target.last_scrape_ms = ts_ms;
  auto report = [&](const char* name, double v) {
    promql::Labels labels = target.labels;
    labels.set(promql::kMetricNameLabel, name);
    store.append(labels, ts_ms, v);
  };
  report("up", up ? 1 : 0);
  report("scrape_duration_seconds", outcome.duration_seconds);
  const std::size_t scraped =
      outcome.body.empty() ? outcome.parsed.samples.size() : outcome.parsed.sample_count;
  report("scrape_samples_scraped", static_cast<double>(scraped));
  return appended;
}

}  // namespace appliance::plugins::alert_evaluator
