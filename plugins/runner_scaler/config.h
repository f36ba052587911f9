#pragma once
// ScalerConfig: the typed `runner_scaler` section. parseConfig() validates everything
// (pools, schedules and their time zones, the runner template part 2 consumes) and reads the
// secret files it names, so a bad config stops start-up with file:line: key: reason. Secrets
// are kept here and never printed; error messages name files, not contents.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "appliance/config.h"
#include "appliance/status.h"
#include "kube_config.h"
#include "policy.h"

namespace appliance::plugins::runner_scaler {

struct GitHubAppConfig {
  std::string id;
  std::string installation_id;
  std::string private_key_file;
};

struct GitHubConfig {
  std::string api_url = "https://api.github.com";
  std::string token_file;              // a PAT, re-read when it changes
  std::optional<GitHubAppConfig> app;  // or a GitHub App
  std::string webhook_secret_file;
  std::string webhook_secret;  // inline, or the file's content (trailing newline removed)
  std::vector<std::string> repositories;  // owner/name
  std::string organization;
  std::chrono::milliseconds poll_interval{std::chrono::seconds(60)};
  bool polling() const {
    return (!token_file.empty() || app) && (!repositories.empty() || !organization.empty());
  }
};

struct Toleration {
  std::string key, op = "Equal", value, effect;
  std::optional<std::int64_t> toleration_seconds;
};

// What part 2 turns into a runner pod; validated here.
struct RunnerTemplate {
  std::string image = "ghcr.io/actions/actions-runner:latest";
  std::map<std::string, std::string> requests, limits;  // cpu, memory, ephemeral-storage
  std::string work_volume_size = "20Gi";
  std::map<std::string, std::string> node_selector;
  std::vector<Toleration> tolerations;
};

struct PoolConfig {
  PoolPolicy policy;                // name, limits, schedules, delays, budget
  std::vector<std::string> labels;  // lower-cased, without self-hosted
  double cost_per_runner_hour = 0;
  RunnerTemplate runner;
};

struct ScalerConfig {
  std::string backend = "dry_run";
  GitHubConfig github;
  std::vector<PoolConfig> pools;
  KubernetesBackendConfig kubernetes;  // backend: kubernetes (kube_config.h)
  std::chrono::milliseconds dry_run_boot_delay{std::chrono::seconds(20)};
  std::chrono::milliseconds decision_interval{std::chrono::seconds(1)};
  std::chrono::milliseconds coalesce{200};  // quiet time that ends a burst of deliveries
  std::size_t recent_decisions = 50;
  std::size_t dedupe_deliveries = 10000;
};

// `tzdir` "" uses $TZDIR or /usr/share/zoneinfo (tests pass their own).
Result<ScalerConfig> parseConfig(const ConfigNode& section, const std::string& tzdir = {});

// Kubernetes quantity syntax ("500m", "2", "20Gi", "1.5G").
bool isQuantity(std::string_view text);
// Cron day-of-week field: "*", "mon-fri", "1-5", "sat,sun", "0,6" (0 and 7 are Sunday).
std::optional<std::array<bool, 7>> parseDays(std::string_view text);
// "HH:MM" (00:00-24:00) as minutes after midnight.
std::optional<int> parseClock(std::string_view text);

}  // namespace appliance::plugins::runner_scaler
