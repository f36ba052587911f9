#pragma once
// The `metrics_exporter` config section as a typed value. See README.md for each key.

#include <cstddef>
#include <string>

#include "appliance/config.h"
#include "appliance/status.h"

namespace appliance::plugins::metrics_exporter {

struct ExporterConfig {
  std::string listen = "0.0.0.0:9464";       // the metrics listener, apart from the public port
  std::size_t max_series_per_family = 1000;  // 0: no limit
  bool gzip = true;                          // compress when the scraper accepts gzip
  int max_threads = 2;                       // threads of the metrics listener
};

// Parses and validates the section (missing: all defaults). Unknown keys are errors; every
// error names file:line and key.
Result<ExporterConfig> parseExporterConfig(const ConfigNode& section);

}  // namespace appliance::plugins::metrics_exporter
