#include "kube_config.h"

#include <regex>

#include "config.h"

namespace appliance::plugins::runner_scaler {
namespace {

bool isDnsLabel(const std::string& s, std::size_t max = 63) {
  static const std::regex kLabel("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
  return !s.empty() && s.size() <= max && std::regex_match(s, kLabel);
}

bool isDnsSubdomain(const std::string& s) {
  static const std::regex kName("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
  return !s.empty() && s.size() <= 253 && std::regex_match(s, kName);
}

}  // namespace

void readKubernetesConfig(ConfigReader k, ScalerConfig& config) {
  KubernetesBackendConfig& kc = config.kubernetes;
  const bool used = config.backend == "kubernetes";
  kc.kubeconfig = k.string("kubeconfig");
  kc.context = k.string("context");
  if (!kc.context.empty() && kc.kubeconfig.empty()) {
    k.error("context", "needs kubeconfig (in cluster there are no contexts)");
  }
  kc.ns = k.string("namespace");
  if (!kc.ns.empty() && !isDnsLabel(kc.ns)) {
    k.error("namespace", "must be a Kubernetes namespace name (lowercase DNS label), e.g. ci");
  }
  kc.mode = k.oneOf("mode", "ephemeral", {"ephemeral", "deployment"});
  const std::string one = k.string("deployment");
  const ConfigNode many = k.node("deployments");
  if (!many.isMissing()) {
    if (!many.isMap()) {
      k.error(many, "must map pool names to Deployment names, e.g. {linux: runners-linux}");
    } else {
      for (const auto& pool : many.keys()) {
        const auto name = many.child(pool).scalar().value_or("");
        if (!isDnsSubdomain(name)) {
          k.error(many.child(pool), "must be a Deployment name (lowercase DNS name)");
        }
        kc.deployments[pool] = name;
      }
    }
  }
  if (!one.empty()) {
    if (!isDnsSubdomain(one))
      k.error("deployment", "must be a Deployment name (lowercase DNS name)");
    if (!kc.deployments.empty()) k.error("deployment", "set deployment or deployments, not both");
    if (config.pools.size() != 1) {
      k.error("deployment", "names one Deployment, but there are " +
                                std::to_string(config.pools.size()) +
                                " pools: use deployments: {pool: deployment, ...}");
    } else {
      kc.deployments[config.pools.front().policy.name] = one;
    }
  }
  for (const auto& [pool, name] : kc.deployments) {
    bool known = false;
    for (const auto& p : config.pools) known = known || p.policy.name == pool;
    if (!known) k.error("deployments", "'" + pool + "' is not a configured pool");
  }
  if (kc.deploymentMode()) {
    for (const auto& p : config.pools) {
      if (!kc.deployments.count(p.policy.name)) {
        k.error("mode", "is deployment, but pool '" + p.policy.name +
                            "' has no Deployment (set deployment or deployments)");
      }
    }
  } else if (!kc.deployments.empty()) {
    k.error("mode", "must be deployment when deployment(s) are set");
  }
  // A JIT runner pod takes exactly one job, so reused runners cannot be honoured here.
  for (const auto& p : config.pools) {
    if (used && !kc.deploymentMode() && !p.runner.ephemeral) {
      k.error("mode", "is ephemeral (a JIT runner pod per job), but pool '" + p.policy.name +
                          "' sets runner.ephemeral: false: use mode: deployment or drop "
                          "ephemeral: false");
    }
  }
  kc.scaler_id = k.string("scaler_id", kc.scaler_id);
  if (!isDnsLabel(kc.scaler_id, 20)) {
    k.error("scaler_id", "must be a lowercase DNS label of at most 20 characters, e.g. appliance");
  }
  kc.events = k.boolean("events", kc.events);
  const std::string scope = k.string("runner_scope");
  if (!scope.empty()) {
    static const std::regex kRepo("[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+"), kOrg("[A-Za-z0-9_.-]+");
    if (std::regex_match(scope, kRepo)) {
      kc.runner_repository = scope;
    } else if (std::regex_match(scope, kOrg)) {
      kc.runner_organization = scope;
    } else {
      k.error("runner_scope", "must be an organization (acme) or a repository (acme/app)");
    }
  } else if (!config.github.organization.empty()) {
    kc.runner_organization = config.github.organization;
  } else if (config.github.repositories.size() == 1) {
    kc.runner_repository = config.github.repositories.front();
  } else if (used && !kc.deploymentMode()) {
    k.error("runner_scope",
            "is required: runners register at an organization (acme) or one repository "
            "(acme/app), and github names " +
                std::to_string(config.github.repositories.size()) + " repositories");
  }
  if (used && !kc.deploymentMode() && config.github.token_file.empty() && !config.github.app) {
    k.error("runner_scope",
            "needs GitHub credentials to register runners: set github.token_file or github.app");
  }
  kc.runner_group_id = k.integer("runner_group_id", 1, 1, std::int64_t{1} << 53);
  kc.work_folder = k.string("work_folder", kc.work_folder);
  if (kc.work_folder.empty()) k.error("work_folder", "must not be empty (GitHub's default: _work)");
  kc.maintain_interval = k.duration("maintain_interval", kc.maintain_interval,
                                    std::chrono::seconds(1), std::chrono::hours(1));
  kc.work_volume_storage_class = k.string("work_volume_storage_class");
  if (!kc.work_volume_storage_class.empty() && !isDnsSubdomain(kc.work_volume_storage_class)) {
    k.error("work_volume_storage_class", "must be a StorageClass name (lowercase DNS name)");
  }
}

}  // namespace appliance::plugins::runner_scaler
