#include "config.h"

namespace appliance::plugins::task_api {

namespace {
constexpr std::int64_t kLimitCeiling = 100000;
}

Result<TaskApiConfig> parseConfig(const ConfigNode& section) {
  TaskApiConfig config;
  ConfigReader reader(section);

  ConfigReader auth = reader.section("auth");
  readAuthSettings(auth, config.auth);

  ConfigReader list = reader.section("list");
  const std::int64_t max_limit = list.integer("max_limit", 1000, 1, kLimitCeiling);
  const std::int64_t default_limit = list.integer("default_limit", 100, 1, kLimitCeiling);
  if (default_limit > max_limit) {
    list.error("default_limit", "must not exceed list.max_limit (" + std::to_string(max_limit) +
                                    "); lower it or raise list.max_limit");
  }
  config.list.max_limit = static_cast<std::size_t>(max_limit);
  config.list.default_limit = static_cast<std::size_t>(default_limit);

  config.metrics_refresh = reader.duration("metrics_refresh", std::chrono::seconds(15),
                                           std::chrono::seconds(1), std::chrono::hours(1));

  ConfigReader docs = reader.section("docs");
  config.docs_enabled = docs.boolean("enabled", true);
  config.docs_dir = docs.string("dir");

  Status status = reader.finish();
  if (!status.isOk()) return status;
  return config;
}

}  // namespace appliance::plugins::task_api
