#pragma once
// The `runner_scaler.kubernetes` section (backend: kubernetes):
//   kubernetes:
//     kubeconfig: /path/to/kubeconfig   # "" (default): in cluster (service account)
//     context: ""                       # kubeconfig context; "" = current-context
//     namespace: ci-runners             # "" = the service account's / context's namespace
//     mode: ephemeral                   # ephemeral (a pod per runner) | deployment
//     deployment: runners               # mode deployment, one pool
//     deployments: {linux: runners}     # mode deployment, pool -> Deployment
//     scaler_id: appliance              # label value and runner-name prefix of this scaler
//     events: true                      # a Kubernetes Event per scale decision
//     runner_scope: acme | acme/app     # where runners register (default: github.organization,
//                                       # else the only github.repositories entry)
//     runner_group_id: 1
//     work_folder: _work
//     maintain_interval: 60s            # cleanup period
//     work_volume_storage_class: ""     # "" = emptyDir {sizeLimit}; else an ephemeral PVC
// Parsed by readKubernetesConfig() from parseConfig(); errors go to the shared reader.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "appliance/config.h"

namespace appliance::plugins::runner_scaler {

struct ScalerConfig;

struct KubernetesBackendConfig {
  std::string kubeconfig;
  std::string context;
  std::string ns;
  std::string mode = "ephemeral";
  std::map<std::string, std::string> deployments;  // pool -> Deployment (mode deployment)
  std::string scaler_id = "appliance";
  bool events = true;
  std::string runner_organization;  // exactly one of these two when mode is ephemeral
  std::string runner_repository;
  std::int64_t runner_group_id = 1;
  std::string work_folder = "_work";
  std::chrono::milliseconds maintain_interval{std::chrono::seconds(60)};
  std::string work_volume_storage_class;

  bool deploymentMode() const { return mode == "deployment"; }
};

// Reads `section` (runner_scaler.kubernetes) into config.kubernetes, checking it against the
// rest of `config` (backend, github, pools), which must be read already.
void readKubernetesConfig(ConfigReader section, ScalerConfig& config);

}  // namespace appliance::plugins::runner_scaler
