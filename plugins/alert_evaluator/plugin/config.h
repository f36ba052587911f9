#pragma once
// The `alert_evaluator:` config section, parsed and validated strictly (ConfigReader: every
// error as "file:line: key: what is wrong", unknown keys refused). Rule files are loaded here
// too, so `--check-config` and start-up refuse a bad rule file with its file, line, column,
// group and rule.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "appliance/config.h"
#include "appliance/status.h"
#include "rules/rule_file.h"

namespace appliance::plugins::alert_evaluator {

enum class Source { kScrape, kPrometheus };

struct ScrapeConfig {
  std::vector<std::string> targets;  // URLs; empty: this process's own /metrics
  std::chrono::milliseconds interval{15000};
  std::chrono::milliseconds timeout{10000};
  std::string job = "appliance";              // the job label of every target
  std::map<std::string, std::string> labels;  // target labels added to every sample
  bool honor_labels = false;
  std::int64_t sample_limit = 0;  // 0: none; over it the scrape fails (up = 0)
};

struct PrometheusSourceConfig {
  std::string url;  // base URL; /api/v1/query is appended
  std::chrono::milliseconds timeout{10000};
  std::string bearer_token_file;
};

struct AlertmanagerConfig {
  std::vector<std::string> urls;  // base URLs; /api/v2/alerts is appended
  std::chrono::milliseconds timeout{10000};
  std::chrono::milliseconds resend_delay{60000};
  std::size_t queue_capacity = 10000;
  std::size_t max_batch = 64;
};

struct AlertEvaluatorConfig {
  std::vector<std::string> rule_files;  // as resolved (absolute or relative to the cwd)
  std::vector<rules::RuleFile> loaded;  // parsed rule files
  std::chrono::milliseconds evaluation_interval{60000};
  Source source = Source::kScrape;
  ScrapeConfig scrape;
  PrometheusSourceConfig prometheus;
  AlertmanagerConfig alertmanager;
  std::vector<std::string> webhook_urls;
  std::map<std::string, std::string> external_labels;
  std::string external_url;  // generatorURL base; "" uses http://<instance>:<port>
  int missing_evaluations_to_resolve = 1;
  std::map<std::string, int> group_missing_evaluations;  // per group name
  bool persist = true;  // through the kv_store service when one is running
  bool api = true;      // GET /api/v1/rules, /api/v1/alerts, /alerts on the main listener
};

// Parses `section`. `config_dir` is the folder of the file that set rule_files (relative
// paths are tried there, then in the working directory, then in `share_dir` and
// `share_dir`/config).
Result<AlertEvaluatorConfig> parseConfig(const ConfigNode& section, const std::string& share_dir);

// The rule files' errors, one per line, or "" when every file loads.
std::string loadRuleFiles(AlertEvaluatorConfig& config);

}  // namespace appliance::plugins::alert_evaluator
