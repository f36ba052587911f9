#include "plugin.h"

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include "appliance/http.h"
#include "appliance/kv_store.h"
#include "dry_run_backend.h"
#include "github_json.h"
#include "kube_access.h"
#include "kube_lease_backend.h"
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
  if (Status s = initScaleSet(context); !s.isOk()) return s;
  std::shared_ptr<Backend> backend;
  if (config_->backend == "kubernetes") {
    auto made = makeKubernetesBackend(context);  // sets rest_registrar_ and registrar_
    if (!made.isOk()) return made.status();
    backend = *made;
  } else {
    registrar_ = std::make_shared<PerPoolRunnerRegistrar>(
        scale_set_ ? std::make_shared<ScaleSetRunnerRegistrar>(scale_set_) : nullptr, nullptr);
    backend = std::make_shared<DryRunBackend>(config_->dry_run_boot_delay);
  }
  scaler_ =
      std::make_shared<Scaler>(*config_, backend, metrics_, context.logger(), context.clock());
  scaler_->onLeadership([this](bool leader) { onLeadership(leader); });
  if (scale_set_) {
    scale_set_->setSink(scaler_.get());
    scaler_->onLimits(
        [ss = scale_set_](const std::string& pool, int max) { ss->setMaxCapacity(pool, max); });
    scaler_->poolDetails([this](const std::string& pool) { return scaleSetDetail(pool); });
    scaler_->onActed([this] {  // a term that could not start (credentials) is retried
      if (!scale_set_->running() && context_->clock().steadyNow() >= scale_set_retry_at_) {
        startScaleSet();
      }
    });
  }
  if (Status s = initLeaseBackend(context); !s.isOk()) return s;
  if (config_->github.polling()) {
    HttpClientOptions options;
    options.name = "github";
    options.timeout = std::chrono::seconds(30);
    auto client = context.httpClient(options);
    if (!client.isOk()) return client.status();
    poller_ = std::make_shared<GitHubPoller>(config_->github, *client, metrics_, context.logger(),
                                             context.clock(), github_credentials_);
    context.onReload([poller = poller_] { poller->reloadCredentials(); });
    context.scheduler().every("runner_scaler.poll", config_->github.poll_interval, [this] {
      if (scaler_->leading()) poller_->pollOnce(*scaler_);  // followers spend no rate limit
    });
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

Status RunnerScalerPlugin::initScaleSet(PluginContext& context) {
  std::vector<scaleset::PoolSpec> specs;
  for (const auto& pool : config_->pools) {
    if (!pool.scaleSet()) continue;
    scaleset::PoolSpec spec;
    spec.pool = pool.policy.name;
    spec.scale_set_name = pool.scale_set_name;
    spec.runner_group = pool.runner_group;
    spec.labels.push_back(pool.scale_set_name);  // runs-on: <scale_set_name>
    for (const auto& l : pool.labels) {
      if (l != pool.scale_set_name) spec.labels.push_back(l);
    }
    spec.max_runners = activeLimits(pool.policy, context.clock().now()).limits.max;
    specs.push_back(std::move(spec));
  }
  if (specs.empty()) return Status::ok();
  const GitHubConfig gh = config_->github;
  ScaleSetDemand::AuthLoader auth = [gh]() -> Result<scaleset::GitHubAuth> {
    const auto read = [](const std::string& path, std::string& out) -> Status {
      std::ifstream in(path, std::ios::binary);
      out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      while (!out.empty() && std::isspace(static_cast<unsigned char>(out.back()))) out.pop_back();
      if (!in.good() && !in.eof()) out.clear();
      if (out.empty()) return Status::unavailable("cannot read " + path + " (or it is empty)");
      return Status::ok();
    };
    scaleset::GitHubAuth a;
    if (!gh.token_file.empty()) {
      if (Status s = read(gh.token_file, a.pat); !s.isOk()) return s;
      return a;
    }
    if (!gh.app) return Status::failedPrecondition("scale-set pools need github.token_file or app");
    a.app_client_id = gh.app->id;
    a.app_installation_id = std::stoll(gh.app->installation_id);  // digits, checked by config
    if (Status s = read(gh.app->private_key_file, a.app_private_key_pem); !s.isOk()) return s;
    return a;
  };
  scaleset::ActionsClientOptions options;
  options.config_url = gh.config_url;
  options.api_base = gh.api_url == "https://api.github.com" ? "" : gh.api_url;
  options.version = kPluginVersion;
  auto loaded = auth();
  if (!loaded) return Status::invalid("runner_scaler.github: " + loaded.status().message());
  options.auth = *loaded;
  if (Status s = scaleset::validate(options); !s.isOk()) {
    return Status::invalid("runner_scaler.github (scale-set pools): " + s.message());
  }
  HttpClientOptions api_options;
  api_options.name = "github-scaleset";
  api_options.timeout = options.call_timeout;
  auto api = context.httpClient(api_options);
  if (!api) return api.status();
  PluginContext* ctx = &context;
  const auto poll_timeout = options.poll_timeout + std::chrono::seconds(30);
  ScaleSetDemand::PollClientFactory poll = [ctx, poll_timeout] {
    HttpClientOptions o;
    o.name = "github-scaleset-poll";
    o.timeout = poll_timeout;
    return ctx->httpClient(o);
  };
  scaleset::SourceOptions source;
  source.owner_name = context.runtime().instance_id;
  options.auth = {};  // re-read per term
  scale_set_ = std::make_shared<ScaleSetDemand>(options, auth, *api, poll, std::move(specs), source,
                                                context.clock(), context.logger());
  return Status::ok();
}

Status RunnerScalerPlugin::initLeaseBackend(PluginContext& context) {
  const LeaderElectionConfig& le = config_->leader_election;
  if (le.backend != "kubernetes") return Status::ok();
  auto access = le.kubeconfig.empty()
                    ? kube::inClusterAccess()
                    : kube::kubeconfigAccess(le.kubeconfig, context.runtime().data_dir);
  if (!access) {
    return Status(access.status().code(), "runner_scaler.leader_election (backend: kubernetes): " +
                                              access.status().message());
  }
  kube::KubeClientOptions options;
  options.client_name = "kubernetes-lease";
  PluginContext* ctx = &context;
  auto client = kube::KubeClient::create(
      *access, [ctx](const HttpClientOptions& o) { return ctx->httpClient(o); }, options,
      context.logger());
  if (!client) return client.status();
  const std::string ns =
      le.lease_namespace.empty() ? (*client)->defaultNamespace() : le.lease_namespace;
  lease_backend_ = std::make_shared<kube::KubernetesLeaseBackend>(*client, ns, le.lease_name);
  return Status::ok();
}

Status RunnerScalerPlugin::startLeaderElection(const std::shared_ptr<KvStore>& kv) {
  const LeaderElectionConfig& le = config_->leader_election;
  const std::string self = context_->runtime().instance_id;
  if (le.backend == "none") {  // one replica: always the leader, from the start
    scaler_->leaderInfo([self] { return self; });
    if (scale_set_) startScaleSet();
    return Status::ok();
  }
  if (le.backend == "kv") {
    if (!kv) {
      return Status::failedPrecondition(
          "runner_scaler.leader_election.backend is kv but this role has no kv_store service; "
          "add storage_postgres (one database shared by every replica) to the scaler role");
    }
    lease_backend_ =
        std::make_shared<KvLeaseBackend>(kv, "runner_scaler", "leader/" + le.lease_name);
  }
  metrics_->leader().Set(0);  // until the first election step says otherwise
  LeaderElectionOptions options;
  options.name = "runner_scaler.leader";
  options.identity = self;
  options.lease_duration = le.lease_duration;
  options.renew_period = le.renew_period;
  // Weak: the scaler holds the elector (leaderCheck below); a strong pointer back would leak both.
  options.on_change = [weak = std::weak_ptr<Scaler>(scaler_)](bool leader) {
    if (auto scaler = weak.lock()) scaler->setLeading(leader);
  };
  auto elector = LeaderElector::start(*context_, lease_backend_, std::move(options));
  if (!elector) return elector.status();
  elector_ = *elector;
  scaler_->leaderCheck([e = elector_] { return e->isLeader(); });
  scaler_->leaderInfo([e = elector_] { return e->holder(); });
  context_->logger().info("leader election on",
                          {{"lease", lease_backend_->describe()}, {"identity", self}});
  return Status::ok();
}

// The decision thread, before the first acting step of a term (or after the last one).
void RunnerScalerPlugin::onLeadership(bool leader) {
  if (!leader) {
    if (scale_set_) scale_set_->stop();  // deletes the sessions: the successor gets no 409
    return;
  }
  if (poller_) poller_->pollOnce(*scaler_);  // one reconciliation poll before acting
  if (scale_set_) startScaleSet();
}

// The scale-set session of a pool for GET /runners: whether this replica polls it, the set,
// the last statistics and error (a session conflict shows here while it is waited out).
Scaler::PoolDetail RunnerScalerPlugin::scaleSetDetail(const std::string& pool) {
  const PoolConfig* config = nullptr;
  for (const auto& p : config_->pools) {
    if (p.policy.name == pool && p.scaleSet()) config = &p;
  }
  if (!config) return {};
  Scaler::PoolDetail d;
  const auto st = scale_set_->status(pool);
  d.json = ",\"scale_set\":{\"name\":" + jsonQuote(config->scale_set_name) +
           ",\"runner_group\":" + jsonQuote(config->runner_group) +
           ",\"polling\":" + (st ? "true" : "false");
  d.text = config->scale_set_name + (st ? "" : ": not polled by this replica");
  if (st) {
    const auto& s = st->statistics;
    d.json += ",\"id\":" + std::to_string(st->scale_set_id) +
              ",\"session\":" + (st->has_session ? "true" : "false") +
              ",\"last_message_id\":" + std::to_string(st->last_message_id) +
              ",\"conflict_retries\":" + std::to_string(st->conflict_retries) + ",\"last_error\":" +
              (st->last_error.empty() ? std::string("null") : jsonQuote(st->last_error)) +
              ",\"statistics\":{\"total_assigned_jobs\":" + std::to_string(s.total_assigned_jobs) +
              ",\"total_running_jobs\":" + std::to_string(s.total_running_jobs) +
              ",\"total_registered_runners\":" + std::to_string(s.total_registered_runners) +
              ",\"total_busy_runners\":" + std::to_string(s.total_busy_runners) + "}";
    d.text += " (id " + std::to_string(st->scale_set_id) +
              "): " + (st->has_session ? "session open" : "no session") + ", " +
              std::to_string(s.total_assigned_jobs) + " assigned jobs" +
              (st->last_error.empty() ? "" : "; last error: " + st->last_error);
  }
  d.json += "}";
  return d;
}

void RunnerScalerPlugin::startScaleSet() {
  if (Status s = scale_set_->start(); !s.isOk()) {
    scale_set_retry_at_ = context_->clock().steadyNow() + std::chrono::seconds(30);
    context_->logger().error("cannot start the scale-set demand source; retrying in 30 s",
                             {{"error", s.message()}});
  }
}

Status RunnerScalerPlugin::activate() {
  auto kv = context_->services().find<KvStore>();
  if (!kv) {
    context_->logger().warn(
        "no kv_store service in this role: budget usage, webhook dedupe and job state live in "
        "memory and are lost on restart (add a storage plugin that provides kv_store)");
  }
  scaler_->attachStore(kv);
  if (kube_backend_) {
    // Every replica watches the pods, so a new leader knows the supply before it acts; the
    // leader's steps call maintain() (cleanup), which paces itself.
    if (Status s = kube_backend_->start(); !s.isOk()) return s;
    // Know the pods that exist before deciding anything, or a restart would duplicate them.
    if (!kube_backend_->waitForSync(std::chrono::seconds(15))) {
      context_->logger().warn("the runner pod list is not in yet; deciding with what is known");
    }
  }
  if (Status s = startLeaderElection(kv); !s.isOk()) return s;
  if (config_->github.webhook_secret.empty()) {
    context_->logger().warn(
        "runner_scaler.github has no webhook secret: POST /webhooks/github answers 503");
  }
  context_->logger().info(
      "runner scaler started",
      {{"backend", config_->backend},
       {"pools", std::to_string(config_->pools.size())},
       {"polling", config_->github.polling() ? "on" : "off"},
       {"scale_set_pools", std::to_string(scale_set_ ? scale_set_->pools().size() : 0)},
       {"leader_election", config_->leader_election.backend}});
  return Status::ok();
}

Status RunnerScalerPlugin::start() {
  if (Status s = activate(); !s.isOk()) return s;
  scaler_->step();
  scaler_->startThread();
  threads_ = true;
  return Status::ok();
}

void RunnerScalerPlugin::stop(std::chrono::steady_clock::time_point /*deadline*/) {
  if (poller_) poller_->shutdown();
  if (threads_) scaler_->stopThread();
  if (scale_set_) scale_set_->stop();  // sessions deleted before the lease goes
  if (elector_) elector_->stop();      // released: a successor takes over at once
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
    rest_registrar_ = std::make_shared<RestRunnerRegistrar>(ro, *client, github_credentials_,
                                                            metrics_, context.logger());
    // Scale-set pools register through their scale set, the others through REST.
    registrar_ = std::make_shared<PerPoolRunnerRegistrar>(
        scale_set_ ? std::make_shared<ScaleSetRunnerRegistrar>(scale_set_) : nullptr,
        rest_registrar_);
  }
  kube_backend_ = std::make_shared<KubernetesBackend>(*kube, std::move(o), registrar_,
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
