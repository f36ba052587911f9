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
  // `demand: scale_set` pools: https://github.com/{org}[/{repo}] or .../enterprises/{ent}.
  std::string config_url;
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
  // true: one job per runner (`--ephemeral`, a clean runner per job). false: a runner takes
  // jobs until the policy removes it (saves a boot per job; jobs share the work volume).
  bool ephemeral = true;
};

struct PoolConfig {
  PoolPolicy policy;                // name, limits, schedules, delays, budget
  std::vector<std::string> labels;  // lower-cased, without self-hosted
  double cost_per_runner_hour = 0;
  // The day `budget` counts: midnight to midnight in this zone (budget_time_zone, UTC).
  std::shared_ptr<const TimeZone> budget_zone = std::make_shared<TimeZone>(TimeZone::utc());
  RunnerTemplate runner;
  // Where the pool's demand comes from: "webhook" (webhooks and REST polls) or "scale_set"
  // (GitHub's runner scale-set long poll; workflows use `runs-on: <scale_set_name>`).
  std::string demand = "webhook";
  std::string scale_set_name;            // default: the pool's name
  std::string runner_group = "default";  // the scale set's runner group, by name
  bool scaleSet() const { return demand == "scale_set"; }
};

// Several scaler replicas elect one leader that acts; the others record demand.
struct LeaderElectionConfig {
  std::string backend = "none";  // none (one replica), kv (kv_store), kubernetes (a Lease)
  std::string lease_name = "appliance-runner-scaler";  // Lease name or kv key
  std::string lease_namespace;                         // kubernetes: "" = the pod's namespace
  std::string kubeconfig;  // kubernetes: "" = in-cluster service account
  std::chrono::seconds lease_duration{15};
  std::chrono::seconds renew_period{5};
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
  // How often every replica re-reads the job records other replicas stored (kv_store).
  std::chrono::milliseconds store_sync_interval{std::chrono::seconds(1)};
  LeaderElectionConfig leader_election;
};

// Part 2's keys, kept out of config.cpp (config_ha.cpp): a pool's demand/scale_set_name/
// runner_group, github.config_url, the leader_election section, and the checks across them.
void readPoolDemand(ConfigReader& pool_reader, PoolConfig& pool);
void readScaleSetGitHub(ConfigReader& github_reader, GitHubConfig& github);
void readHighAvailability(ConfigReader& reader, ScalerConfig& config);

// `tzdir` "" uses $TZDIR or /usr/share/zoneinfo (tests pass their own).
Result<ScalerConfig> parseConfig(const ConfigNode& section, const std::string& tzdir = {});

// Kubernetes quantity syntax ("500m", "2", "20Gi", "1.5G").
bool isQuantity(std::string_view text);
// Cron day-of-week field: "*", "mon-fri", "1-5", "sat,sun", "0,6" (0 and 7 are Sunday).
std::optional<std::array<bool, 7>> parseDays(std::string_view text);
// "HH:MM" (00:00-24:00) as minutes after midnight.
std::optional<int> parseClock(std::string_view text);

}  // namespace appliance::plugins::runner_scaler
