#pragma once
// MetricsExporterPlugin: serves the shared metrics registry, plus process metrics and
// appliance_build_info, in the Prometheus text format at GET /metrics on its own listener
// ("metrics", metrics_exporter.listen) so the public API port never exposes metrics.
// Lifecycle calls come from the host thread; the route runs on the metrics listener's threads.

#include <memory>

#include "appliance/plugin.h"
#include "exporter_config.h"
#include "metrics_endpoint.h"

namespace appliance::plugins::metrics_exporter {

inline constexpr const char* kPluginName = "metrics_exporter";
inline constexpr const char* kListenerName = "metrics";

class MetricsExporterPlugin final : public Plugin {
 public:
  Status configure(const ConfigNode& section) override;
  // Registers appliance_build_info and the series-dropped counter, the "metrics" listener
  // and GET /metrics on it. No I/O beyond reading /proc/self once.
  Status init(PluginContext& context) override;

  const ExporterConfig& config() const { return config_; }

 private:
  ExporterConfig config_;
  std::unique_ptr<MetricsEndpoint> endpoint_;
};

}  // namespace appliance::plugins::metrics_exporter
