// Part 2's configuration keys (issue #12), beside config.cpp so that file stays part 1's:
//   pools[].demand: webhook | scale_set    pools[].scale_set_name    pools[].runner_group
//   github.config_url                      leader_election: {backend, lease_name, ...}
#include <regex>

#include "config.h"

namespace appliance::plugins::runner_scaler {

void readPoolDemand(ConfigReader& p, PoolConfig& pool) {
  pool.demand = p.oneOf("demand", "webhook", {"webhook", "scale_set"});
  pool.scale_set_name = p.string("scale_set_name", pool.policy.name);
  if (pool.scale_set_name.empty() || pool.scale_set_name.size() > 45 ||
      pool.scale_set_name.find_first_of(",\t\r\n") != std::string::npos) {
    p.error("scale_set_name",
            "must be 1-45 characters without commas or control characters (it is the label "
            "workflows put in runs-on)");
  }
  pool.runner_group = p.string("runner_group", pool.runner_group);
  if (pool.runner_group.empty()) p.error("runner_group", "must name a runner group, e.g. default");
}

void readScaleSetGitHub(ConfigReader& g, GitHubConfig& gh) {
  gh.config_url = g.string("config_url");
  while (!gh.config_url.empty() && gh.config_url.back() == '/') gh.config_url.pop_back();
  if (!gh.config_url.empty() &&
      !std::regex_match(gh.config_url, std::regex("https?://[^/\\s]+/[^\\s]+"))) {
    g.error("config_url",
            "must be https://github.com/<org>, https://github.com/<owner>/<repo> or "
            "https://github.com/enterprises/<enterprise> (or the same on a GHES host)");
  }
}

void readHighAvailability(ConfigReader& reader, ScalerConfig& config) {
  config.store_sync_interval =
      reader.duration("store_sync_interval", config.store_sync_interval,
                      std::chrono::milliseconds(100), std::chrono::minutes(1));
  ConfigReader le = reader.section("leader_election");
  LeaderElectionConfig& c = config.leader_election;
  c.backend = le.oneOf("backend", "none", {"none", "kv", "kubernetes"});
  c.lease_name = le.string("lease_name", c.lease_name);
  if (!std::regex_match(c.lease_name, std::regex("[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?"))) {
    le.error("lease_name", "must be a DNS subdomain name, e.g. appliance-runner-scaler");
  }
  c.lease_namespace = le.string("namespace");
  c.kubeconfig = le.string("kubeconfig");
  c.lease_duration = std::chrono::duration_cast<std::chrono::seconds>(le.duration(
      "lease_duration", c.lease_duration, std::chrono::seconds(2), std::chrono::minutes(10)));
  c.renew_period = std::chrono::duration_cast<std::chrono::seconds>(le.duration(
      "renew_period", c.renew_period, std::chrono::seconds(1), std::chrono::minutes(5)));
  if (c.renew_period >= c.lease_duration) {
    le.error("renew_period", "must be shorter than lease_duration (" +
                                 std::to_string(c.lease_duration.count()) + "s), e.g. a third");
  }
  if (c.backend != "kubernetes" && (!c.lease_namespace.empty() || !c.kubeconfig.empty())) {
    le.error("namespace", "namespace and kubeconfig apply to backend: kubernetes only");
  }
  bool scale_set = false;
  for (const auto& pool : config.pools) scale_set = scale_set || pool.scaleSet();
  if (scale_set && config.github.config_url.empty()) {
    reader.error("github",
                 "pools with demand: scale_set need github.config_url, e.g. "
                 "https://github.com/acme (the scale sets' organization or repository)");
  }
  if (scale_set && config.github.token_file.empty() && !config.github.app) {
    reader.error("github",
                 "pools with demand: scale_set need github.token_file or github.app "
                 "to register their scale sets");
  }
}

}  // namespace appliance::plugins::runner_scaler
