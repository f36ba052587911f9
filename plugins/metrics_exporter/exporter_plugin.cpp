#include "exporter_plugin.h"

#include <exception>
#include <optional>
#include <string>
#include <utility>

#include <prometheus/gauge.h>

namespace appliance::plugins::metrics_exporter {
namespace {

std::string joinRoles(const std::vector<std::string>& roles) {
  std::string joined;
  for (const auto& role : roles) {
    if (!joined.empty()) joined += ',';
    joined += role;
  }
  return joined;
}

std::string orUnknown(const std::string& value) { return value.empty() ? "unknown" : value; }

// appliance_build_info{version,revision,role} 1: lets dashboards join on what is deployed.
void registerBuildInfo(prometheus::Registry& registry, const RuntimeInfo& runtime) {
  prometheus::BuildGauge()
      .Name("appliance_build_info")
      .Help("Version, git revision and roles of this appliance process; the value is always 1.")
      .Register(registry)
      .Add({{"version", orUnknown(runtime.version)},
            {"revision", orUnknown(runtime.revision)},
            {"role", orUnknown(joinRoles(runtime.roles))}})
      .Set(1);
}

}  // namespace

Status MetricsExporterPlugin::configure(const ConfigNode& section) {
  auto parsed = parseExporterConfig(section);
  if (!parsed.isOk()) return parsed.status();
  config_ = std::move(parsed).value();
  return Status::ok();
}

Status MetricsExporterPlugin::init(PluginContext& context) {
  auto process = ProcessCollector::create();
  if (!process.isOk()) {
    context.logger().warn("process_* metrics unavailable",
                          {{"reason", process.status().message()}});
  }
  try {
    registerBuildInfo(context.metrics(), context.runtime());
    EndpointOptions options;
    options.max_series_per_family = config_.max_series_per_family;
    options.gzip = config_.gzip;
    endpoint_ = std::make_unique<MetricsEndpoint>(
        context.metrics(), context.logger(), options,
        process.isOk() ? std::optional(std::move(process).value()) : std::nullopt);
  } catch (const std::exception& error) {
    return Status::failedPrecondition(
        std::string("metrics_exporter: cannot register its metrics: ") + error.what());
  }

  ListenerOptions listener;
  listener.address = config_.listen;
  listener.max_threads = config_.max_threads;
  if (Status status = context.http().addListener(kListenerName, std::move(listener));
      !status.isOk()) {
    return status;
  }
  Route route;
  route.method = "GET";
  route.path = "/metrics";
  route.listener = kListenerName;
  route.handler = [endpoint = endpoint_.get()](const HttpRequest& request, HttpResponse& response) {
    endpoint->handle(request, response);
  };
  return context.http().addRoute(std::move(route));
}

}  // namespace appliance::plugins::metrics_exporter
