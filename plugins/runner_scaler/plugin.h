#pragma once
// RunnerScalerPlugin: role `scaler`. configure() parses `runner_scaler`; init() registers
// POST /webhooks/github and GET /runners, the metrics and the poll timer; start() attaches the
// kv_store service when a storage plugin of the role provides it (else state stays in
// memory, logged once) and starts the decision thread; stop() joins it.

#include <memory>
#include <mutex>
#include <optional>

#include "appliance/plugin.h"
#include "config.h"
#include "github_poller.h"
#include "kubernetes_backend.h"
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

  Scaler* scaler() { return scaler_.get(); }  // tests
  GitHubPoller* poller() { return poller_.get(); }
  KubernetesBackend* kubernetesBackend() { return kube_backend_.get(); }

 private:
  void handleWebhook(const HttpRequest& request, HttpResponse& response);
  void handleRunners(const HttpRequest& request, HttpResponse& response);
  std::shared_ptr<const std::string> webhookSecret() const;
  void reloadWebhookSecret();
  // backend: kubernetes (kubernetes_backend.h), with REST JIT registration.
  Result<std::shared_ptr<Backend>> makeKubernetesBackend(PluginContext& context);

  std::optional<ScalerConfig> config_;
  PluginContext* context_ = nullptr;
  std::shared_ptr<ScalerMetrics> metrics_;
  std::shared_ptr<Scaler> scaler_;
  std::shared_ptr<GitHubPoller> poller_;
  std::shared_ptr<GitHubCredentials> github_credentials_;
  std::shared_ptr<KubernetesBackend> kube_backend_;
  bool threads_ = false;
  mutable std::mutex secret_mutex_;  // the webhook secret, swapped when its file changes
  std::shared_ptr<const std::string> webhook_secret_;
};

}  // namespace appliance::plugins::runner_scaler
