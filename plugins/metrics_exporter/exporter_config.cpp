#include "exporter_config.h"

namespace appliance::plugins::metrics_exporter {

Result<ExporterConfig> parseExporterConfig(const ConfigNode& section) {
  ConfigReader reader(section);
  ExporterConfig config;
  config.listen = reader.listenAddress("listen", config.listen);
  config.max_series_per_family = static_cast<std::size_t>(
      reader.integer("max_series_per_family",
                     static_cast<std::int64_t>(config.max_series_per_family), 0, 10'000'000));
  config.gzip = reader.boolean("gzip", config.gzip);
  config.max_threads = static_cast<int>(reader.integer("max_threads", config.max_threads, 1, 64));
  if (Status status = reader.finish(); !status.isOk()) return status;
  return config;
}

}  // namespace appliance::plugins::metrics_exporter
