// The one exported entry point of metrics_exporter.so.
#include "exporter_plugin.h"

APPLIANCE_PLUGIN(appliance::plugins::metrics_exporter::MetricsExporterPlugin, "metrics_exporter",
                 "0.1.0", "Serves the shared metrics registry to Prometheus at GET /metrics", "",
                 "")
