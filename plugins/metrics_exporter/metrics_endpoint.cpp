#include "metrics_endpoint.h"

#include <algorithm>
#include <exception>
#include <utility>

#include "gzip.h"

namespace appliance::plugins::metrics_exporter {

MetricsEndpoint::MetricsEndpoint(prometheus::Registry& registry, const Logger& logger,
                                 EndpointOptions options, std::optional<ProcessCollector> process)
    : registry_(registry),
      logger_(logger),
      options_(options),
      process_(std::move(process)),
      series_dropped_(prometheus::BuildCounter()
                          .Name("appliance_metrics_series_dropped_total")
                          .Help("Series left out of /metrics expositions because their family "
                                "had more than metrics_exporter.max_series_per_family label "
                                "sets, summed over scrapes.")
                          .Register(registry)) {}

std::string MetricsEndpoint::render() {
  const std::vector<prometheus::MetricFamily> families = registry_.Collect();
  std::vector<prometheus::MetricFamily> process;
  if (process_) {
    process = process_->collect();
    // A plugin that registered a process_* family itself wins; never write a name twice.
    std::erase_if(process, [&](const prometheus::MetricFamily& candidate) {
      return std::any_of(families.begin(), families.end(),
                         [&](const auto& family) { return family.name == candidate.name; });
    });
  }

  const std::size_t hint = last_size_.load(std::memory_order_relaxed);
  std::string out;
  out.reserve(hint + hint / 8);
  const TextOptions text_options{options_.max_series_per_family};
  std::vector<TruncatedFamily> truncated;
  appendText(out, families, text_options, &truncated);
  appendText(out, process, text_options);
  last_size_.store(out.size(), std::memory_order_relaxed);

  if (!truncated.empty()) recordTruncations(truncated);
  return out;
}

void MetricsEndpoint::recordTruncations(const std::vector<TruncatedFamily>& truncated) {
  std::lock_guard lock(truncation_mutex_);
  for (const auto& family : truncated) {
    auto it = dropped_by_family_.find(family.name);
    if (it == dropped_by_family_.end()) {
      logger_.warn(
          "metric family has more label sets than metrics_exporter.max_series_per_family; "
          "the rest are left out of /metrics (raise the limit or reduce the labels' values)",
          {{"family", family.name},
           {"series", static_cast<std::uint64_t>(family.total)},
           {"limit", static_cast<std::uint64_t>(options_.max_series_per_family)}});
      it = dropped_by_family_.emplace(family.name, &series_dropped_.Add({{"family", family.name}}))
               .first;
    }
    it->second->Increment(static_cast<double>(family.dropped));
  }
}

void MetricsEndpoint::handle(const HttpRequest& request, HttpResponse& response) {
  std::string body;
  try {
    body = render();
  } catch (const std::exception& error) {
    logger_.error("collecting metrics failed", {{"error", error.what()}});
    response.error(500, "collecting metrics failed; see the appliance log");
    return;
  }
  response.status = 200;
  response.content_type = kTextContentType;
  if (options_.gzip) {
    response.setHeader("Vary", "Accept-Encoding");
    const auto accept_encoding = request.header("Accept-Encoding");
    if (accept_encoding && acceptsGzip(*accept_encoding)) {
      auto compressed = gzipCompress(body, options_.gzip_level);
      if (compressed.isOk()) {
        response.setHeader("Content-Encoding", "gzip");
        response.body = std::move(compressed).value();
        return;
      }
      logger_.warn("gzip failed; sending /metrics uncompressed",
                   {{"error", compressed.status().message()}});
    }
  }
  response.body = std::move(body);
}

}  // namespace appliance::plugins::metrics_exporter
