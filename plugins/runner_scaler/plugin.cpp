#include "plugin.h"

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include "appliance/kv_store.h"
#include "dry_run_backend.h"
#include "github_json.h"
#include "kube_access.h"
#include "rest_runner_registrar.h"
#include "signature.h"

namespace appliance::plugins::runner_scaler {

Status RunnerScalerPlugin::configure(const ConfigNode& section) {
  auto parsed = parseConfig(section);
  if (!parsed.isOk()) return parsed.status();
  config_ = std::move(parsed).value();
  return Status::ok();
}

std::shared_ptr<const std::string> RunnerScalerPlugin::webhookSecret() const {
  std::lock_guard lock(secret_mutex_);
  return webhook_secret_;
}

// SIGHUP: a rotated webhook_secret_file (a Kubernetes Secret update) is picked up without a
// restart. An unreadable or empty file keeps the previous secret.
void RunnerScalerPlugin::reloadWebhookSecret() {
  const std::string& file = config_->github.webhook_secret_file;
  if (file.empty()) return;
  std::ifstream in(file, std::ios::binary);
  std::string value((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) value.pop_back();
  if (!in.good() && !in.eof()) value.clear();
  if (value.empty()) {
    context_->logger().warn("cannot read the webhook secret file; keeping the previous secret",
                            {{"file", file}});
    return;
  }
  std::lock_guard lock(secret_mutex_);
  if (*webhook_secret_ == value) return;
  webhook_secret_ = std::make_shared<const std::string>(std::move(value));
  context_->logger().info("webhook secret file changed; using the new secret", {{"file", file}});
}

Status RunnerScalerPlugin::init(PluginContext& context) {
  context_ = &context;
  webhook_secret_ = std::make_shared<const std::string>(config_->github.webhook_secret);
  context.onReload([this] { reloadWebhookSecret(); });
  std::vector<std::string> names;
  for (const auto& p : config_->pools) names.push_back(p.policy.name);
  auto metrics = ScalerMetrics::create(context.metrics(), names);
  if (!metrics.isOk()) return metrics.status();
  metrics_ = *metrics;
  std::shared_ptr<Backend> backend = std::make_shared<DryRunBackend>(config_->dry_run_boot_delay);
  if (config_->backend == "kubernetes") {
    auto made = makeKubernetesBackend(context);
    if (!made.isOk()) return made.status();
    backend = *made;
  }
  scaler_ =
      std::make_shared<Scaler>(*config_, backend, metrics_, context.logger(), context.clock());
  if (config_->github.polling()) {
    HttpClientOptions options;
    options.name = "github";
    options.timeout = std::chrono::seconds(30);
    auto client = context.httpClient(options);
    if (!client.isOk()) return client.status();
    poller_ = std::make_shared<GitHubPoller>(config_->github, *client, metrics_, context.logger(),
                                             context.clock(), github_credentials_);
    context.onReload([poller = poller_] { poller->reloadCredentials(); });
    context.scheduler().every("runner_scaler.poll", config_->github.poll_interval,
                              [this] { poller_->pollOnce(*scaler_); });
  }
  Route webhook{"POST", "/webhooks/github",
                [this](const HttpRequest& rq, HttpResponse& rs) { handleWebhook(rq, rs); }};
  webhook.max_body_bytes = kMaxWebhookBytes;
  if (Status s = context.http().addRoute(std::move(webhook)); !s.isOk()) return s;
  if (Status s = context.http().addRoute(
          {"GET", "/runners",
           [this](const HttpRequest& rq, HttpResponse& rs) { handleRunners(rq, rs); }});
      !s.isOk()) {
    return s;
  }
  context.health().addCheck("runner_scaler", [poller = poller_] {
    return poller ? poller->health() : HealthResult{true, ""};
  });
  return Status::ok();
}

Status RunnerScalerPlugin::start() {
  auto kv = context_->services().find<KvStore>();
  if (!kv) {
    context_->logger().warn(
        "no kv_store service in this role: budget usage, webhook dedupe and job state live in "
        "memory and are lost on restart (add a storage plugin that provides kv_store)");
  }
  scaler_->attachStore(kv);
  if (kube_backend_) {
    if (Status s = kube_backend_->start(); !s.isOk()) return s;
    // Know the pods that exist before deciding anything, or a restart would duplicate them.
    if (!kube_backend_->waitForSync(std::chrono::seconds(15))) {
      context_->logger().warn("the runner pod list is not in yet; deciding with what is known");
    }
    context_->scheduler().every(
        "runner_scaler.maintain", std::chrono::seconds(10),
        [backend = kube_backend_, clock = &context_->clock()] { backend->maintain(clock->now()); });
  }
  if (config_->github.webhook_secret.empty()) {
    context_->logger().warn(
        "runner_scaler.github has no webhook secret: POST /webhooks/github answers 503");
  }
  context_->logger().info("runner scaler started",
                          {{"backend", config_->backend},
                           {"pools", std::to_string(config_->pools.size())},
                           {"polling", config_->github.polling() ? "on" : "off"}});
  scaler_->step();
  scaler_->startThread();
  threads_ = true;
  return Status::ok();
}

void RunnerScalerPlugin::stop(std::chrono::steady_clock::time_point /*deadline*/) {
  if (poller_) poller_->shutdown();
  if (threads_) scaler_->stopThread();
  if (kube_backend_) kube_backend_->stop();
}

Result<std::shared_ptr<Backend>> RunnerScalerPlugin::makeKubernetesBackend(PluginContext& context) {
  const KubernetesBackendConfig& kc = config_->kubernetes;
  auto access = kc.kubeconfig.empty()
                    ? kube::inClusterAccess()
                    : kube::kubeconfigAccess(kc.kubeconfig, context.runtime().data_dir, kc.context);
  if (!access.isOk()) return access.status();
  auto kube = kube::KubeClient::create(
      *access, [&context](const HttpClientOptions& o) { return context.httpClient(o); },
      kube::KubeClientOptions{}, context.logger());
  if (!kube.isOk()) return kube.status();
  KubernetesBackendOptions o;
  o.ns = kc.ns;
  o.scaler_id = kc.scaler_id;
  o.pools = config_->pools;
  o.deployment_mode = kc.deploymentMode();
  o.deployments = kc.deployments;
  o.maintain_interval = kc.maintain_interval;
  o.work_volume_storage_class = kc.work_volume_storage_class;
  if (kc.events) {
    // The downward API: env POD_NAME / POD_NAMESPACE (fieldRef metadata.name / .namespace).
    const char* pod = std::getenv("POD_NAME");
    const char* pod_ns = std::getenv("POD_NAMESPACE");
    if (pod && *pod) {
      o.event_pod_name = pod;
      o.event_pod_namespace = pod_ns ? pod_ns : "";
    } else {
      context.logger().info("POD_NAME is not set: no Kubernetes events for scale decisions");
    }
  }
  std::shared_ptr<RunnerRegistrar> registrar;
  if (!kc.deploymentMode()) {
    HttpClientOptions options;
    options.name = "github";
    options.timeout = std::chrono::seconds(30);
    auto client = context.httpClient(options);
    if (!client.isOk()) return client.status();
    github_credentials_ = std::make_shared<GitHubCredentials>(config_->github, *client, metrics_,
                                                              context.logger(), context.clock());
    RestRegistrarOptions ro;
    ro.api_url = config_->github.api_url;
    ro.organization = kc.runner_organization;
    ro.repository = kc.runner_repository;
    ro.runner_group_id = kc.runner_group_id;
    ro.work_folder = kc.work_folder;
    registrar = std::make_shared<RestRunnerRegistrar>(ro, *client, github_credentials_, metrics_,
                                                      context.logger());
  }
  kube_backend_ = std::make_shared<KubernetesBackend>(*kube, std::move(o), registrar,
                                                      context.logger(), context.clock());
  return std::shared_ptr<Backend>(kube_backend_);
}

void RunnerScalerPlugin::handleWebhook(const HttpRequest& request, HttpResponse& response) {
  const auto secret_holder = webhookSecret();
  const std::string& secret = *secret_holder;
  if (secret.empty()) {
    metrics_->delivery("not_configured");
    response.error(503, "webhook secret not configured (runner_scaler.github.webhook_secret_file)");
    return;
  }
  const auto signature = request.header("X-Hub-Signature-256");
  if (!signature) {
    metrics_->delivery("unsigned");
    response.error(401, "missing X-Hub-Signature-256");
    return;
  }
  if (!verifySignature(secret, request.body, *signature)) {
    metrics_->delivery("bad_signature");
    response.error(401, "X-Hub-Signature-256 does not match the body");
    return;
  }
  const std::string event(request.header("X-GitHub-Event").value_or(""));
  const std::string delivery(request.header("X-GitHub-Delivery").value_or(""));
  if (!delivery.empty() && !scaler_->rememberDelivery(delivery)) {
    metrics_->delivery("duplicate");
    response.json(200, "{\"status\":\"duplicate\"}");
    return;
  }
  if (event == "ping") {
    metrics_->delivery("ping");
    response.json(200, "{\"status\":\"pong\"}");
    return;
  }
  if (event != "workflow_job") {
    metrics_->delivery("ignored");
    response.json(202, "{\"status\":\"ignored\"}");
    return;
  }
  auto job = parseWorkflowJobEvent(request.body);
  if (!job.isOk()) {
    metrics_->delivery("invalid");
    response.error(400, job.status().message());
    return;
  }
  std::vector<JobObservation> jobs;
  jobs.push_back(std::move(job).value());
  scaler_->observe(std::move(jobs));  // the decision thread acts; never GitHub inline
  metrics_->delivery("accepted");
  response.json(202, "{\"status\":\"queued\"}");
}

void RunnerScalerPlugin::handleRunners(const HttpRequest& request, HttpResponse& response) {
  const std::string accept(request.header("Accept").value_or(""));
  const auto html = accept.find("text/html"), json = accept.find("application/json");
  if (html != std::string::npos && (json == std::string::npos || html < json)) {
    response.status = 200;
    response.content_type = "text/html; charset=utf-8";
    response.body = scaler_->runnersHtml();
    return;
  }
  response.json(200, scaler_->runnersJson());
}

}  // namespace appliance::plugins::runner_scaler
