#pragma once
// RunnerScalerPlugin: role `scaler`. configure() parses `runner_scaler`; init() registers
// POST /webhooks/github and GET /runners, the metrics and the poll timer, and builds the
// scale-set demand (pools with `demand: scale_set`) and the runner registrar; start() attaches
// the kv_store service when a storage plugin of the role provides it (else state stays in
// memory, logged once), starts leader election (`leader_election.backend`: none, kv,
// kubernetes) and the decision thread; stop() joins it, deletes the scale-set sessions and
// releases the lease so a successor takes over at once.
//
// Only the leader acts: it creates and removes runners, runs the backend's maintenance,
// polls GitHub's REST API and holds the scale-set sessions (a fresh source per term).
// Followers accept webhooks and record them in kv_store, where the leader picks them up.

#include <memory>
#include <mutex>
#include <optional>

#include "appliance/leader_election.h"
#include "appliance/plugin.h"
#include "config.h"
#include "github_poller.h"
#include "kubernetes_backend.h"
#include "runner_registration.h"
#include "scale_set_demand.h"
#include "scaler.h"

namespace appliance::plugins::runner_scaler {

inline constexpr const char* kPluginVersion = "0.1.0";
inline constexpr std::size_t kMaxWebhookBytes = 25u << 20;  // GitHub caps payloads at 25 MB

class RunnerScalerPlugin final : public Plugin {
 public:
  Status configure(const ConfigNode& section) override;
  Status init(PluginContext& context) override;
  Status start() override;
  void stop(std::chrono::steady_clock::time_point deadline) override;

  // start() without the decision thread (tests step() by hand; fire the leader timer
  // "runner_scaler.leader" to run an election step).
  Status activate();

  Scaler* scaler() { return scaler_.get(); }  // tests
  GitHubPoller* poller() { return poller_.get(); }
  LeaderElector* elector() { return elector_.get(); }
  ScaleSetDemand* scaleSet() { return scale_set_.get(); }
  // Registers runners for a backend: scale-set pools through the scale set, the others
  // through the REST registrar (set by the Kubernetes backend's wiring; null until then).
  std::shared_ptr<RunnerRegistrar> registrar() const { return registrar_; }
  KubernetesBackend* kubernetesBackend() { return kube_backend_.get(); }

 private:
  void handleWebhook(const HttpRequest& request, HttpResponse& response);
  void handleRunners(const HttpRequest& request, HttpResponse& response);
  std::shared_ptr<const std::string> webhookSecret() const;
  void reloadWebhookSecret();
  Status initScaleSet(PluginContext& context);
  Status initLeaseBackend(PluginContext& context);
  Status startLeaderElection(const std::shared_ptr<KvStore>& kv);
  void onLeadership(bool leader);
  void startScaleSet();
  Scaler::PoolDetail scaleSetDetail(const std::string& pool);
  // backend: kubernetes (kubernetes_backend.h), with REST JIT registration.
  Result<std::shared_ptr<Backend>> makeKubernetesBackend(PluginContext& context);

  std::optional<ScalerConfig> config_;
  PluginContext* context_ = nullptr;
  std::shared_ptr<ScalerMetrics> metrics_;
  std::shared_ptr<Scaler> scaler_;
  std::shared_ptr<GitHubPoller> poller_;
  std::shared_ptr<ScaleSetDemand> scale_set_;
  std::shared_ptr<RunnerRegistrar> rest_registrar_;  // REST generate-jitconfig (webhook pools)
  std::shared_ptr<RunnerRegistrar> registrar_;
  std::shared_ptr<LeaseBackend> lease_backend_;  // kubernetes: made in init()
  std::shared_ptr<LeaderElector> elector_;
  std::chrono::steady_clock::time_point scale_set_retry_at_{};  // decision thread only
  std::shared_ptr<GitHubCredentials> github_credentials_;
  std::shared_ptr<KubernetesBackend> kube_backend_;
  bool threads_ = false;
  mutable std::mutex secret_mutex_;  // the webhook secret, swapped when its file changes
  std::shared_ptr<const std::string> webhook_secret_;
};

}  // namespace appliance::plugins::runner_scaler
