#include "config.h"

#include <filesystem>
#include <limits>

namespace appliance::plugins::alert_evaluator {
namespace {

namespace fs = std::filesystem;

// "config/local.yaml:12" -> "config"; "env NAME" -> "".
std::string directoryOf(const std::string& location) {
  if (location.rfind("env ", 0) == 0) return {};
  const auto colon = location.rfind(':');
  const std::string file = colon == std::string::npos ? location : location.substr(0, colon);
  return fs::path(file).parent_path().string();
}

bool validLabelName(const std::string& s) {
  if (s.empty()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                    (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

std::map<std::string, std::string> labelMap(ConfigReader& reader, std::string_view key) {
  std::map<std::string, std::string> out;
  const ConfigNode node = reader.node(key);
  if (node.isMissing()) return out;
  if (!node.isMap()) {
    reader.error(node, "must be a map of label names to values, e.g. {cluster: prod}");
    return out;
  }
  for (const auto& name : node.keys()) {
    const ConfigNode value = node.child(name);
    if (!validLabelName(name) || name.rfind("__", 0) == 0) {
      reader.error(value, "'" + name + "' is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)");
      continue;
    }
    if (!value.isScalar()) {
      reader.error(value, "must be a string");
      continue;
    }
    out[name] = *value.scalar();
  }
  return out;
}

bool validHttpUrl(const std::string& url) {
  return (url.rfind("http://", 0) == 0 && url.size() > 7) ||
         (url.rfind("https://", 0) == 0 && url.size() > 8);
}

void checkUrls(ConfigReader& reader, std::string_view key, const std::vector<std::string>& urls) {
  for (const auto& url : urls) {
    if (!validHttpUrl(url)) {
      reader.error(key, "'" + url + "' is not an http:// or https:// URL");
    }
  }
}

std::string resolve(const std::string& path, const std::string& config_dir,
                    const std::string& share_dir) {
  if (fs::path(path).is_absolute()) return path;
  std::vector<fs::path> candidates;
  if (!config_dir.empty()) candidates.push_back(fs::path(config_dir) / path);
  candidates.emplace_back(path);
  if (!share_dir.empty()) {
    candidates.push_back(fs::path(share_dir) / path);
    candidates.push_back(fs::path(share_dir) / "config" / path);
  }
  std::error_code ec;
  for (const auto& c : candidates) {
    if (fs::exists(c, ec)) return c.string();
  }
  return candidates.front().string();
}

}  // namespace

Result<AlertEvaluatorConfig> parseConfig(const ConfigNode& section, const std::string& share_dir) {
  ConfigReader reader(section);
  AlertEvaluatorConfig config;
  const ConfigNode files_node = section.child("rule_files");
  config.rule_files = reader.stringList("rule_files");
  if (config.rule_files.empty()) {
    reader.error("rule_files",
                 "is required: list the Prometheus rule files to evaluate, e.g. [alerts.yaml]");
  }
  const std::string config_dir = directoryOf(files_node.location());
  for (auto& f : config.rule_files) f = resolve(f, config_dir, share_dir);

  config.evaluation_interval = reader.duration("evaluation_interval", config.evaluation_interval,
                                               std::chrono::seconds(1), std::chrono::hours(24));
  config.source = reader.oneOf("source", "scrape", {"scrape", "prometheus"}) == "prometheus"
                      ? Source::kPrometheus
                      : Source::kScrape;
  config.external_labels = labelMap(reader, "external_labels");
  config.external_url = reader.string("external_url");
  config.missing_evaluations_to_resolve =
      static_cast<int>(reader.integer("missing_evaluations_to_resolve", 1, 1, 1000));
  const ConfigNode groups = reader.node("groups");
  if (!groups.isMissing()) {
    if (!groups.isMap()) {
      reader.error(groups, "must be a map: group name -> {missing_evaluations_to_resolve: N}");
    } else {
      for (const auto& name : groups.keys()) {
        ConfigReader g(groups.child(name));
        const auto n = g.integer("missing_evaluations_to_resolve", 1, 1, 1000);
        if (Status s = g.finish(); !s.isOk()) {
          reader.error(groups.child(name), s.message());
          continue;
        }
        config.group_missing_evaluations[name] = static_cast<int>(n);
      }
    }
  }
  config.persist = reader.boolean("persist", true);
  config.api = reader.boolean("api", true);

  ConfigReader scrape = reader.section("scrape");
  config.scrape.targets = scrape.stringList("targets");
  checkUrls(scrape, "targets", config.scrape.targets);
  config.scrape.interval = scrape.duration("interval", config.scrape.interval,
                                           std::chrono::seconds(1), std::chrono::hours(1));
  config.scrape.timeout = scrape.duration("timeout", config.scrape.timeout,
                                          std::chrono::milliseconds(100), std::chrono::hours(1));
  config.scrape.job = scrape.string("job", config.scrape.job);
  if (config.scrape.job.empty()) scrape.error("job", "must not be empty");
  config.scrape.labels = labelMap(scrape, "labels");
  config.scrape.honor_labels = scrape.boolean("honor_labels", false);
  config.scrape.sample_limit =
      scrape.integer("sample_limit", 0, 0, std::numeric_limits<std::int32_t>::max());

  ConfigReader prom = reader.section("prometheus");
  config.prometheus.url = prom.string("url");
  config.prometheus.timeout = prom.duration("timeout", config.prometheus.timeout,
                                            std::chrono::milliseconds(100), std::chrono::hours(1));
  config.prometheus.bearer_token_file = prom.string("bearer_token_file");
  if (config.source == Source::kPrometheus) {
    if (config.prometheus.url.empty()) {
      prom.error("url",
                 "is required with source: prometheus (the base URL of a Prometheus-compatible "
                 "query API, e.g. http://prometheus:9090)");
    } else if (!validHttpUrl(config.prometheus.url)) {
      prom.error("url", "'" + config.prometheus.url + "' is not an http:// or https:// URL");
    }
  }

  ConfigReader am = reader.section("alertmanager");
  config.alertmanager.urls = am.stringList("urls");
  checkUrls(am, "urls", config.alertmanager.urls);
  config.alertmanager.timeout = am.duration("timeout", config.alertmanager.timeout,
                                            std::chrono::milliseconds(100), std::chrono::hours(1));
  config.alertmanager.resend_delay = am.duration("resend_delay", config.alertmanager.resend_delay,
                                                 std::chrono::seconds(1), std::chrono::hours(24));
  config.alertmanager.queue_capacity =
      static_cast<std::size_t>(am.integer("queue_capacity", 10000, 1, 10'000'000));
  config.alertmanager.max_batch = static_cast<std::size_t>(am.integer("max_batch", 64, 1, 64));

  ConfigReader webhook = reader.section("webhook");
  config.webhook_urls = webhook.stringList("urls");
  checkUrls(webhook, "urls", config.webhook_urls);

  if (Status status = reader.finish(); !status.isOk()) return status;
  if (std::string errors = loadRuleFiles(config); !errors.empty()) {
    return Status::invalid(configError(files_node, "cannot load rule files:\n" + errors));
  }
  return config;
}

std::string loadRuleFiles(AlertEvaluatorConfig& config) {
  std::string errors;
  config.loaded.clear();
  for (const auto& path : config.rule_files) {
    rules::RuleFileResult result = rules::loadRuleFile(path);
    for (const auto& e : result.errors) errors += e + "\n";
    if (result.ok()) config.loaded.push_back(std::move(result.file));
  }
  if (!errors.empty()) errors.pop_back();
  return errors;
}

}  // namespace appliance::plugins::alert_evaluator
