#pragma once
// MetricsEndpoint: what GET /metrics answers. It collects the shared registry, appends the
// process_* metrics, writes the text format with the per-family series cap, and gzips the
// body when the scraper accepts it.
//
// Threading: handle() and render() run concurrently on the metrics listener's threads; the
// only shared mutable state (which families were already reported as truncated) is behind
// a mutex taken only when a family is over the cap. Owned by the plugin; it must outlive the
// route handler that points to it.

#include <atomic>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include "appliance/http.h"
#include "appliance/logger.h"
#include "metrics_text.h"
#include "process_metrics.h"

namespace appliance::plugins::metrics_exporter {

inline constexpr std::string_view kTextContentType = "text/plain; version=0.0.4; charset=utf-8";

struct EndpointOptions {
  std::size_t max_series_per_family = 1000;  // 0: no limit
  bool gzip = true;
  int gzip_level = 1;  // fastest: a scrape body compresses ~10x even at level 1
};

class MetricsEndpoint {
 public:
  // Registers appliance_metrics_series_dropped_total in `registry`; like prometheus-cpp,
  // throws std::invalid_argument when that name is already taken by another metric type.
  // Without `process` (no usable /proc), the exposition has no process_* metrics.
  MetricsEndpoint(prometheus::Registry& registry, const Logger& logger, EndpointOptions options,
                  std::optional<ProcessCollector> process);

  // The exposition in text format 0.0.4.
  std::string render();
  // GET /metrics.
  void handle(const HttpRequest& request, HttpResponse& response);

 private:
  void recordTruncations(const std::vector<TruncatedFamily>& truncated);

  prometheus::Registry& registry_;
  const Logger& logger_;
  const EndpointOptions options_;
  const std::optional<ProcessCollector> process_;
  prometheus::Family<prometheus::Counter>& series_dropped_;
  std::atomic<std::size_t> last_size_{16 * 1024};  // reserve hint for the next scrape

  std::mutex truncation_mutex_;
  // family name -> its series_dropped counter; a family is logged when first added here.
  std::map<std::string, prometheus::Counter*, std::less<>> dropped_by_family_;
};

}  // namespace appliance::plugins::metrics_exporter
