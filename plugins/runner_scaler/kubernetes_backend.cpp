#include "kubernetes_backend.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <random>

#include "appliance/time.h"

namespace appliance::plugins::runner_scaler {

using kube::Array;
using kube::Object;

namespace {

Object obj() { return new Poco::JSON::Object(); }
Array arr() { return new Poco::JSON::Array(); }

std::string rfc3339(TimePoint t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

TimePoint parseTime(const std::string& text, TimePoint fallback) {
  if (text.empty()) return fallback;
  auto ts = parseTimestamp(text);
  if (!ts.isOk()) return fallback;
  return TimePoint{std::chrono::microseconds{*ts}};
}

std::string labelOf(const Object& o, const char* key) {
  return kube::stringAt(o, {"metadata", "labels", key});
}

bool conditionTrue(const Object& pod, const std::string& type) {
  auto conditions = kube::arrayAt(pod, {"status", "conditions"});
  if (!conditions) return false;
  for (std::size_t i = 0; i < conditions->size(); ++i) {
    auto c = conditions->getObject(static_cast<unsigned>(i));
    if (c && kube::stringAt(c, {"type"}) == type && kube::stringAt(c, {"status"}) == "True") {
      return true;
    }
  }
  return false;
}

std::string lowerHex(std::uint64_t v, int digits) {
  static const char* kHex = "0123456789abcdef";
  std::string s(static_cast<std::size_t>(digits), '0');
  for (int i = digits - 1; i >= 0; --i, v >>= 4) s[static_cast<std::size_t>(i)] = kHex[v & 15];
  return s;
}

Object labels(const std::string& scaler, const std::string& pool, const std::string& runner) {
  Object l = obj();
  l->set("app.kubernetes.io/managed-by", "appliance-runner-scaler");
  l->set(kLabelScaler, scaler);
  l->set(kLabelPool, pool);
  l->set(kLabelRunner, runner);
  return l;
}

}  // namespace

bool isLeavingTaint(const std::string& key) {
  static const char* kKeys[] = {
      "node.kubernetes.io/unschedulable",       // cordoned / drained
      "node.kubernetes.io/out-of-service",      // shut down
      "ToBeDeletedByClusterAutoscaler",         // scale-in
      "aws-node-termination-handler/spot-itn",  // AWS spot interruption notice
      "aws-node-termination-handler/rebalance-recommendation",
      "cloud.google.com/impending-node-termination",  // GKE spot/preemptible
      "kubernetes.azure.com/scalesetpriority-evicted",
      "karpenter.sh/disrupted",  // Karpenter (spot interruption, consolidation)
      "karpenter.sh/disruption",
  };
  for (const char* k : kKeys) {
    if (key == k) return true;
  }
  return false;
}

KubernetesBackend::KubernetesBackend(std::shared_ptr<kube::KubeClient> client,
                                     KubernetesBackendOptions options,
                                     std::shared_ptr<RunnerRegistrar> registrar,
                                     const Logger& logger, const Clock& clock)
    : client_(std::move(client)),
      options_(std::move(options)),
      registrar_(std::move(registrar)),
      logger_(logger),
      clock_(clock),
      ns_(options_.ns.empty() ? client_->defaultNamespace() : options_.ns) {
  if (options_.create_parallelism < 1) options_.create_parallelism = 1;
}

KubernetesBackend::~KubernetesBackend() { stop(); }

const PoolConfig* KubernetesBackend::poolConfig(const std::string& pool) const {
  for (const auto& p : options_.pools) {
    if (p.policy.name == pool) return &p;
  }
  return nullptr;
}

Status KubernetesBackend::start() {
  {
    std::lock_guard lock(work_mutex_);
    if (worker_.joinable() || !watches_.empty()) return Status::ok();  // once per object
    stopping_ = false;
  }
  std::vector<std::pair<std::string, std::string>> selectors;  // pool, selector
  if (options_.deployment_mode) {
    for (const auto& [pool, deployment] : options_.deployments) {
      auto d = client_->get(kube::kDeployments, ns_, deployment);
      if (!d.isOk()) {
        return Status(d.status().code(), "runner pool " + pool + ": Deployment " + ns_ + "/" +
                                             deployment + ": " + d.status().message());
      }
      auto match = kube::objectAt(*d, {"spec", "selector", "matchLabels"});
      std::string selector;
      if (match) {
        for (const auto& [k, v] : *match) {
          selector += (selector.empty() ? "" : ",") + k + "=" + v.convert<std::string>();
        }
      }
      if (selector.empty()) {
        return Status::failedPrecondition("Deployment " + ns_ + "/" + deployment +
                                          " has no spec.selector.matchLabels");
      }
      selectors.emplace_back(pool, selector);
    }
  } else {
    selectors.emplace_back("", std::string(kLabelScaler) + "=" + options_.scaler_id);
  }
  for (const auto& [pool, selector] : selectors) {
    auto w = std::make_unique<Watched>();
    w->pool = pool;
    kube::ResourceWatchOptions wo;
    wo.type = kube::kPods;
    wo.ns = ns_;
    wo.label_selector = selector;
    Watched* raw = w.get();
    kube::ResourceWatchHandlers h;
    h.on_sync = [this, raw](const kube::ObjectList& state) { onSync(*raw, state); };
    h.on_event = [this, raw](const kube::WatchEvent& event) { onEvent(*raw, event); };
    w->watch = std::make_unique<kube::ResourceWatch>(client_, wo, std::move(h), logger_);
    watches_.push_back(std::move(w));
  }
  worker_ = std::thread([this] { workerLoop(); });
  for (auto& w : watches_) w->watch->start();
  logger_.info("kubernetes backend started",
               {{"api", client_->access().describe()},
                {"namespace", ns_},
                {"mode", options_.deployment_mode ? "deployment" : "ephemeral"},
                {"scaler_id", options_.scaler_id}});
  return Status::ok();
}

bool KubernetesBackend::waitForSync(std::chrono::milliseconds timeout) {
  std::unique_lock lock(sync_mutex_);
  return synced_cv_.wait_for(lock, timeout, [this] {
    return std::all_of(watches_.begin(), watches_.end(),
                       [](const auto& w) { return w->synced.load(); });
  });
}

void KubernetesBackend::stop() {
  for (auto& w : watches_) w->watch->stop();
  {
    std::lock_guard lock(work_mutex_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  if (worker_.joinable()) worker_.join();
  // watches_ stay (stopped): a maintain() timer racing with stop() may still read them.
}

KubernetesBackend::Stats KubernetesBackend::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

// ---- the pod cache ----

KubernetesBackend::Pod KubernetesBackend::podFrom(const Object& o, const std::string& pool) const {
  Pod p;
  p.name = kube::nameOf(o);
  p.uid = kube::uidOf(o);
  p.pool = pool.empty() ? labelOf(o, kLabelPool) : pool;
  p.node = kube::stringAt(o, {"spec", "nodeName"});
  p.phase = kube::stringAt(o, {"status", "phase"});
  p.reason = kube::stringAt(o, {"status", "reason"});
  p.ready = p.phase == "Running" && conditionTrue(o, "Ready");
  p.disrupted = conditionTrue(o, "DisruptionTarget");
  p.deleting = !kube::stringAt(o, {"metadata", "deletionTimestamp"}).empty();
  p.created = parseTime(kube::stringAt(o, {"metadata", "creationTimestamp"}), clock_.now());
  const std::string id = kube::stringAt(o, {"metadata", "annotations", kAnnotationRunnerId});
  if (!id.empty()) {
    try {
      p.runner_id = std::stoll(id);
    } catch (const std::exception&) {
      p.runner_id = 0;
    }
  }
  return p;
}

void KubernetesBackend::upsert(Pod fresh) {
  auto it = pods_.find(fresh.name);
  if (it != pods_.end()) {
    Pod& old = it->second;
    if (old.uid != fresh.uid && !old.uid.empty() && !fresh.uid.empty()) {
      old = Pod{};  // a new incarnation under the same name
    }
    fresh.ready_since = old.ready_since;
    fresh.job = old.job;
    fresh.busy_since = old.busy_since;
    fresh.idle_since = old.idle_since;
    fresh.completed_at = old.completed_at;
    fresh.removing = old.removing;
    fresh.node_leaving = old.node_leaving;
    fresh.finish_queued = old.finish_queued;
    if (old.local && fresh.runner_id == 0) fresh.runner_id = old.runner_id;
  }
  if (fresh.ready && !fresh.ready_since) fresh.ready_since = clock_.now();
  if (!fresh.ready && fresh.phase != "Running") fresh.ready_since.reset();
  fresh.local = false;
  Pod& stored = pods_[fresh.name] = std::move(fresh);
  if (stored.phase == "Failed" || stored.disrupted || (stored.deleting && !stored.removing)) {
    noteLost(stored);
  }
  if (stored.phase == "Succeeded" || stored.phase == "Failed") queueFinish(stored);
}

void KubernetesBackend::noteLost(const Pod& p) {
  if (p.job != 0 && !p.completed_at) lost_jobs_[p.pool].insert(p.job);
}

int KubernetesBackend::lostBusyRunners(const std::string& pool) {
  std::lock_guard lock(mutex_);
  auto it = lost_jobs_.find(pool);
  return it == lost_jobs_.end() ? 0 : static_cast<int>(it->second.size());
}

void KubernetesBackend::queueFinish(Pod& p) {
  if (p.finish_queued || p.deleting) return;
  p.finish_queued = true;
  const bool failed = p.phase == "Failed";
  if (failed && !p.removing) ++stats_.replaced;
  const std::string name = p.name, reason = p.reason;
  const std::string why =
      failed ? "pod failed" + (reason.empty() ? std::string() : " (" + reason + ")") + "; replaced"
             : "runner finished its job";
  post([this, name, why, failed] {
    if (failed) {
      logger_.warn("runner pod failed; deleting it and starting a replacement",
                   {{"pod", name}, {"namespace", ns_}});
    }
    (void)deletePod(name, why);
  });
}

void KubernetesBackend::onSync(Watched& w, const kube::ObjectList& state) {
  {
    std::lock_guard lock(mutex_);
    std::set<std::string> seen;
    for (const auto& o : state.items) {
      Pod p = podFrom(o, w.pool);
      seen.insert(p.name);
      upsert(std::move(p));
    }
    for (auto it = pods_.begin(); it != pods_.end();) {
      const bool mine = w.pool.empty() || it->second.pool == w.pool;
      // A pod created here a moment ago may be newer than the list: keep it.
      const bool fresh_local =
          it->second.local && clock_.now() - it->second.created < std::chrono::seconds(30);
      if (mine && !seen.count(it->first) && !fresh_local) {
        if (!it->second.removing) noteLost(it->second);
        it = pods_.erase(it);
      } else {
        ++it;
      }
    }
  }
  w.synced = true;
  std::lock_guard lock(sync_mutex_);
  synced_cv_.notify_all();
}

void KubernetesBackend::onEvent(Watched& w, const kube::WatchEvent& event) {
  std::lock_guard lock(mutex_);
  if (event.type == kube::WatchEventType::kDeleted) {
    auto it = pods_.find(kube::nameOf(event.object));
    if (it != pods_.end()) {
      if (!it->second.removing) noteLost(it->second);
      pods_.erase(it);
    }
    return;
  }
  if (event.type == kube::WatchEventType::kAdded || event.type == kube::WatchEventType::kModified) {
    upsert(podFrom(event.object, w.pool));
  }
}

bool KubernetesBackend::supplies(const Pod& p) const {
  if (p.phase == "Succeeded" || p.phase == "Failed") return false;
  if (p.deleting || p.removing || p.disrupted || p.node_leaving) return false;
  if (!options_.deployment_mode && p.completed_at) return false;  // ephemeral: used up
  return true;
}

std::vector<RunnerView> KubernetesBackend::runners(const std::string& pool, TimePoint /*now*/) {
  std::lock_guard lock(mutex_);
  std::vector<RunnerView> out;
  for (const auto& [name, p] : pods_) {
    if (p.pool != pool || !supplies(p)) continue;
    if (p.job != 0) {
      out.push_back({name, RunnerPhase::kBusy, p.busy_since});
    } else if (!p.ready) {
      out.push_back({name, RunnerPhase::kBooting, p.created});
    } else {
      out.push_back(
          {name, RunnerPhase::kIdle, std::max(p.ready_since.value_or(p.created), p.idle_since)});
    }
  }
  return out;
}

void KubernetesBackend::jobStarted(const std::string& pool, std::int64_t job_id,
                                   const std::string& runner_name, TimePoint now) {
  std::lock_guard lock(mutex_);
  for (auto& [name, p] : pods_) {
    if (p.job == job_id && p.pool == pool) return;  // already placed
  }
  auto it = pods_.find(runner_name);
  if (it == pods_.end() || it->second.pool != pool) return;  // ran elsewhere
  it->second.job = job_id;
  it->second.busy_since = now;
}

void KubernetesBackend::jobCompleted(const std::string& pool, std::int64_t job_id, TimePoint now) {
  std::lock_guard lock(mutex_);
  if (auto lost = lost_jobs_.find(pool); lost != lost_jobs_.end()) lost->second.erase(job_id);
  for (auto& [name, p] : pods_) {
    if (p.job != job_id || p.pool != pool) continue;
    p.job = 0;
    p.idle_since = now;
    if (!options_.deployment_mode) p.completed_at = now;  // its pod exits by itself
    return;
  }
}

// ---- creating ----

std::string KubernetesBackend::newRunnerName(const std::string& pool) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string prefix = options_.scaler_id + "-" + pool;
  if (prefix.size() > 54) prefix.resize(54);  // pod hostnames (and runner names) stop at 63
  while (!prefix.empty() && prefix.back() == '-') prefix.pop_back();
  return prefix + "-" + lowerHex(rng() ^ (name_counter_++ * 0x9e3779b97f4a7c15ULL), 8);
}

Object KubernetesBackend::secretSpec(const PoolConfig& pool, const std::string& name,
                                     const RunnerRegistration& reg) const {
  Object secret = obj();
  secret->set("apiVersion", "v1");
  secret->set("kind", "Secret");
  Object meta = obj();
  meta->set("name", name);
  meta->set("namespace", ns_);
  meta->set("labels", labels(options_.scaler_id, pool.policy.name, name));
  secret->set("metadata", meta);
  secret->set("type", "Opaque");
  secret->set("immutable", true);
  Object data = obj();
  data->set(kJitConfigKey, reg.encoded_jit_config);
  secret->set("stringData", data);
  return secret;
}

Object KubernetesBackend::podSpec(const PoolConfig& pool, const std::string& name,
                                  const RunnerRegistration& reg) const {
  const RunnerTemplate& t = pool.runner;
  Object pod = obj();
  pod->set("apiVersion", "v1");
  pod->set("kind", "Pod");
  Object meta = obj();
  meta->set("name", name);
  meta->set("namespace", ns_);
  meta->set("labels", labels(options_.scaler_id, pool.policy.name, name));
  Object annotations = obj();
  annotations->set(kAnnotationRunnerId, std::to_string(reg.runner_id));
  // The runner must not be evicted by the autoscaler in the middle of a job.
  annotations->set("cluster-autoscaler.kubernetes.io/safe-to-evict", "false");
  meta->set("annotations", annotations);
  pod->set("metadata", meta);

  Object spec = obj();
  spec->set("restartPolicy", "Never");
  spec->set("automountServiceAccountToken", false);
  if (!t.node_selector.empty()) {
    Object ns = obj();
    for (const auto& [k, v] : t.node_selector) ns->set(k, v);
    spec->set("nodeSelector", ns);
  }
  if (!t.tolerations.empty()) {
    Array tols = arr();
    for (const auto& tol : t.tolerations) {
      Object o = obj();
      if (!tol.key.empty()) o->set("key", tol.key);
      o->set("operator", tol.op);
      if (!tol.value.empty()) o->set("value", tol.value);
      if (!tol.effect.empty()) o->set("effect", tol.effect);
      if (tol.toleration_seconds) o->set("tolerationSeconds", *tol.toleration_seconds);
      tols->add(o);
    }
    spec->set("tolerations", tols);
  }
  Object container = obj();
  container->set("name", "runner");
  container->set("image", t.image);
  Array command = arr();
  command->add("/home/runner/run.sh");
  container->set("command", command);
  Array env = arr();
  {
    Object e = obj();
    e->set("name", "ACTIONS_RUNNER_INPUT_JITCONFIG");
    Object ref = obj();
    ref->set("name", name);
    ref->set("key", kJitConfigKey);
    Object from = obj();
    from->set("secretKeyRef", ref);
    e->set("valueFrom", from);
    env->add(e);
  }
  container->set("env", env);
  Object resources = obj();
  for (const auto& [key, m] :
       {std::pair{"requests", &t.requests}, std::pair{"limits", &t.limits}}) {
    if (m->empty()) continue;
    Object r = obj();
    for (const auto& [k, v] : *m) r->set(k, v);
    resources->set(key, r);
  }
  container->set("resources", resources);
  Array mounts = arr();
  Object mount = obj();
  mount->set("name", "work");
  mount->set("mountPath", "/home/runner/_work");
  mounts->add(mount);
  container->set("volumeMounts", mounts);
  Array containers = arr();
  containers->add(container);
  spec->set("containers", containers);

  Object volume = obj();
  volume->set("name", "work");
  if (options_.work_volume_storage_class.empty()) {
    Object empty = obj();
    empty->set("sizeLimit", t.work_volume_size);
    volume->set("emptyDir", empty);
  } else {
    Object claim_spec = obj();
    Array modes = arr();
    modes->add("ReadWriteOnce");
    claim_spec->set("accessModes", modes);
    claim_spec->set("storageClassName", options_.work_volume_storage_class);
    Object requests = obj();
    requests->set("storage", t.work_volume_size);
    Object res = obj();
    res->set("requests", requests);
    claim_spec->set("resources", res);
    Object claim_meta = obj();
    claim_meta->set("labels", labels(options_.scaler_id, pool.policy.name, name));
    Object tmpl = obj();
    tmpl->set("metadata", claim_meta);
    tmpl->set("spec", claim_spec);
    Object ephemeral = obj();
    ephemeral->set("volumeClaimTemplate", tmpl);
    volume->set("ephemeral", ephemeral);
  }
  Array volumes = arr();
  volumes->add(volume);
  spec->set("volumes", volumes);
  pod->set("spec", spec);
  return pod;
}

Status KubernetesBackend::createOne(const PoolConfig& pool, TimePoint now) {
  if (!registrar_) return Status::failedPrecondition("no runner registrar configured");
  const std::string name = newRunnerName(pool.policy.name);
  {
    std::lock_guard lock(mutex_);
    in_flight_.insert(name);
  }
  auto done = [this, &name] {
    std::lock_guard lock(mutex_);
    in_flight_.erase(name);
  };
  auto reg = registrar_->registerRunner(pool, name);
  if (!reg.isOk()) {
    done();
    return Status(reg.status().code(), "register runner " + name + ": " + reg.status().message());
  }
  auto secret = client_->create(kube::kSecrets, ns_, secretSpec(pool, name, *reg));
  if (!secret.isOk()) {
    (void)registrar_->deregisterRunner(pool, reg->runner_id);
    done();
    return Status(secret.status().code(),
                  "create Secret " + ns_ + "/" + name + ": " + secret.status().message());
  }
  auto pod = client_->create(kube::kPods, ns_, podSpec(pool, name, *reg));
  if (!pod.isOk()) {
    kube::DeleteOptions opts;
    (void)client_->remove(kube::kSecrets, ns_, name, opts);
    (void)registrar_->deregisterRunner(pool, reg->runner_id);
    done();
    return Status(pod.status().code(),
                  "create Pod " + ns_ + "/" + name + ": " + pod.status().message());
  }
  {
    std::lock_guard lock(mutex_);
    ++stats_.pods_created;
    if (!pods_.count(name)) {
      Pod p = podFrom(*pod, pool.policy.name);
      p.created = now;
      p.local = true;
      p.runner_id = reg->runner_id;
      pods_[name] = std::move(p);
    }
    in_flight_.erase(name);
  }
  // The Secret goes with its pod (garbage collection); maintain() catches a failure here.
  Object patch = obj();
  Object meta = obj();
  Array owners = arr();
  Object owner = obj();
  owner->set("apiVersion", "v1");
  owner->set("kind", "Pod");
  owner->set("name", name);
  owner->set("uid", kube::uidOf(*pod));
  owners->add(owner);
  meta->set("ownerReferences", owners);
  patch->set("metadata", meta);
  auto patched = client_->mergePatch(kube::kSecrets, ns_, name, patch);
  if (!patched.isOk()) {
    logger_.warn("cannot make the runner's Secret owned by its pod; cleanup will remove it",
                 {{"secret", name}, {"error", patched.status().message()}});
  }
  logger_.info(
      "runner pod created",
      {{"pool", pool.policy.name}, {"pod", name}, {"runner_id", std::to_string(reg->runner_id)}});
  return Status::ok();
}

Status KubernetesBackend::createRunners(const PoolConfig& pool, int count, TimePoint now) {
  if (count <= 0) return Status::ok();
  if (options_.deployment_mode) return deploymentScale(pool, count, 0);
  const int threads = std::min(count, options_.create_parallelism);
  std::atomic<int> next{0};
  std::mutex first_mutex;
  Status first;
  int failures = 0;
  auto run = [&] {
    for (int k = next++; k < count; k = next++) {
      Status s = createOne(pool, now);
      if (!s.isOk()) {
        std::lock_guard lock(first_mutex);
        if (failures++ == 0) first = s;
        next = count;  // stop early: GitHub or the cluster refuses
      }
    }
  };
  std::vector<std::thread> helpers;
  for (int t = 1; t < threads; ++t) helpers.emplace_back(run);
  run();
  for (auto& h : helpers) h.join();
  if (failures > 0) {
    std::lock_guard lock(mutex_);
    stats_.create_failures += static_cast<std::uint64_t>(failures);
    return first;
  }
  return Status::ok();
}

// ---- removing ----

Status KubernetesBackend::deletePod(const std::string& name, const std::string& why) {
  kube::DeleteOptions opts;
  opts.propagation = kube::Propagation::kBackground;
  auto pod = client_->remove(kube::kPods, ns_, name, opts);
  if (!pod.isOk() && pod.status().code() != StatusCode::kNotFound) {
    std::lock_guard lock(mutex_);
    if (auto it = pods_.find(name); it != pods_.end()) it->second.finish_queued = false;
    logger_.warn("cannot delete runner pod", {{"pod", name}, {"error", pod.status().message()}});
    return pod.status();
  }
  auto secret = client_->remove(kube::kSecrets, ns_, name, {});
  std::lock_guard lock(mutex_);
  if (pod.isOk()) ++stats_.pods_deleted;
  if (secret.isOk()) ++stats_.secrets_deleted;
  if (auto it = pods_.find(name); it != pods_.end()) it->second.removing = true;
  logger_.info("runner pod deleted", {{"pod", name}, {"reason", why}});
  return Status::ok();
}

Status KubernetesBackend::removeRunner(const std::string& pool, const std::string& id,
                                       TimePoint /*now*/) {
  const PoolConfig* config = poolConfig(pool);
  if (!config) return Status::notFound("no pool " + pool);
  std::int64_t runner_id = 0;
  {
    std::lock_guard lock(mutex_);
    auto it = pods_.find(id);
    if (it == pods_.end() || it->second.pool != pool) {
      return Status::notFound("no runner " + id + " in pool " + pool);
    }
    if (it->second.job != 0) {
      return Status::failedPrecondition("runner " + id + " is running job " +
                                        std::to_string(it->second.job) + "; not removed");
    }
    runner_id = it->second.runner_id;
  }
  if (options_.deployment_mode) {
    // Make this pod the one the ReplicaSet removes, then scale down by one.
    Object patch = obj();
    Object meta = obj();
    Object ann = obj();
    ann->set("controller.kubernetes.io/pod-deletion-cost", "-1000");
    meta->set("annotations", ann);
    patch->set("metadata", meta);
    (void)client_->mergePatch(kube::kPods, ns_, id, patch);
    int busy = 0;
    {
      std::lock_guard lock(mutex_);
      for (const auto& [n, p] : pods_) busy += p.pool == pool && supplies(p) && p.job != 0;
    }
    Status s = deploymentScale(*config, -1, busy);
    if (s.isOk()) {
      std::lock_guard lock(mutex_);
      if (auto it = pods_.find(id); it != pods_.end()) it->second.removing = true;
    }
    return s;
  }
  if (runner_id > 0) {
    Status s = registrar_->deregisterRunner(*config, runner_id);
    if (s.code() == StatusCode::kFailedPrecondition) return s;  // busy: GitHub's 422
    if (!s.isOk()) return s;
  }
  {
    std::lock_guard lock(mutex_);
    if (auto it = pods_.find(id); it != pods_.end()) it->second.removing = true;
  }
  return deletePod(id, "scaled down");
}

Status KubernetesBackend::deploymentScale(const PoolConfig& pool, int delta, int floor) {
  auto it = options_.deployments.find(pool.policy.name);
  if (it == options_.deployments.end()) {
    return Status::failedPrecondition("pool " + pool.policy.name + " has no Deployment");
  }
  const std::string& deployment = it->second;
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto scale = client_->get(kube::kDeployments, ns_, deployment, "scale");
    if (!scale.isOk()) return scale.status();
    const auto current = kube::intAt(*scale, {"spec", "replicas"}).value_or(0);
    std::int64_t wanted = current + delta;
    if (wanted < floor) {
      return Status::failedPrecondition("Deployment " + deployment + " has " +
                                        std::to_string(current) + " replicas and " +
                                        std::to_string(floor) + " busy runners; not scaled down");
    }
    wanted = std::min<std::int64_t>(wanted, pool.policy.limits.max);
    if (wanted == current) return Status::ok();
    Object patch = obj();
    Object meta = obj();
    meta->set("resourceVersion", kube::resourceVersionOf(*scale));
    patch->set("metadata", meta);
    Object spec = obj();
    spec->set("replicas", wanted);
    patch->set("spec", spec);
    auto r = client_->mergePatch(kube::kDeployments, ns_, deployment, patch, "scale");
    if (r.isOk()) {
      logger_.info("deployment scaled", {{"deployment", deployment},
                                         {"from", std::to_string(current)},
                                         {"to", std::to_string(wanted)}});
      return Status::ok();
    }
    if (r.status().code() != StatusCode::kConflict) return r.status();
  }
  return Status::conflict("Deployment " + deployment + " kept changing; scale not applied");
}

// ---- the worker ----

void KubernetesBackend::post(std::function<void()> task) {
  {
    std::lock_guard lock(work_mutex_);
    if (stopping_) return;
    work_.push_back(std::move(task));
  }
  work_cv_.notify_one();
}

void KubernetesBackend::workerLoop() {
  std::unique_lock lock(work_mutex_);
  for (;;) {
    work_cv_.wait(lock, [this] { return stopping_ || !work_.empty(); });
    if (stopping_) return;
    auto task = std::move(work_.front());
    work_.pop_front();
    working_ = true;
    lock.unlock();
    task();
    lock.lock();
    working_ = false;
    if (work_.empty()) idle_cv_.notify_all();
  }
}

void KubernetesBackend::drain() {
  std::unique_lock lock(work_mutex_);
  idle_cv_.wait_for(lock, std::chrono::seconds(30),
                    [this] { return stopping_ || (work_.empty() && !working_); });
}

void KubernetesBackend::recordEvent(const std::string& pool, const std::string& reason,
                                    const std::string& message) {
  if (options_.event_pod_name.empty()) return;
  post([this, reason, text = "pool " + pool + ": " + message] { createEvent(reason, text); });
}

void KubernetesBackend::createEvent(const std::string& reason, const std::string& message) {
  const std::string& pod = options_.event_pod_name;
  const std::string ns = options_.event_pod_namespace.empty() ? ns_ : options_.event_pod_namespace;
  if (own_pod_uid_.empty()) {
    auto me = client_->get(kube::kPods, ns, pod);
    if (me.isOk()) own_pod_uid_ = kube::uidOf(*me);
  }
  const TimePoint now = clock_.now();
  const auto nanos =
      std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  Object event = obj();
  Object meta = obj();
  // As kubectl names them: <object>.<hex nanoseconds>, made unique within this process.
  meta->set("name", pod + "." + lowerHex(static_cast<std::uint64_t>(nanos) + name_counter_++, 16));
  meta->set("namespace", ns);
  event->set("metadata", meta);
  Object involved = obj();
  involved->set("apiVersion", "v1");
  involved->set("kind", "Pod");
  involved->set("name", pod);
  involved->set("namespace", ns);
  if (!own_pod_uid_.empty()) involved->set("uid", own_pod_uid_);
  event->set("involvedObject", involved);
  event->set("reason", reason);
  event->set("message", message);
  event->set("type", reason == "BudgetExhausted" ? "Warning" : "Normal");
  Object source = obj();
  source->set("component", "appliance-runner-scaler");
  event->set("source", source);
  event->set("reportingComponent", "appliance-runner-scaler");
  event->set("reportingInstance", pod);
  event->set("firstTimestamp", rfc3339(now));
  event->set("lastTimestamp", rfc3339(now));
  event->set("count", 1);
  auto r = client_->create(kube::kEvents, ns, event);
  if (!r.isOk()) {
    logger_.warn("cannot record a Kubernetes event",
                 {{"reason", reason}, {"error", r.status().message()}});
    return;
  }
  std::lock_guard lock(mutex_);
  ++stats_.events;
}

// ---- cleanup ----

void KubernetesBackend::maintain(TimePoint now) {
  {
    std::lock_guard lock(mutex_);
    if (last_maintain_ && now - *last_maintain_ < options_.maintain_interval) return;
    last_maintain_ = now;
  }
  maintainNow(now);
}

void KubernetesBackend::maintainNow(TimePoint now) {
  std::lock_guard one(maintain_mutex_);
  // Until every watch has listed, "no pod" means "not known yet": cleaning up then would
  // delete the Secrets and registrations of runners that are fine.
  const bool synced =
      !watches_.empty() &&
      std::all_of(watches_.begin(), watches_.end(), [](const auto& w) { return w->synced.load(); });
  if (!synced) return;
  {
    std::lock_guard lock(work_mutex_);
    if (stopping_) return;
  }
  cleanPods(now);
  if (!options_.deployment_mode) {
    cleanSecrets();
    cleanRegistrations();
  }
}

void KubernetesBackend::cleanPods(TimePoint now) {
  // Nodes: gone, cordoned or tainted for an interruption. Cluster-scoped: without RBAC for
  // nodes this part is skipped (logged once); PodGC still fails pods of deleted nodes.
  std::set<std::string> leaving_nodes, present_nodes;
  bool nodes_known = false;
  auto nodes = client_->list(kube::kNodes, "");
  if (nodes.isOk()) {
    nodes_known = true;
    for (const auto& n : nodes->items) {
      const std::string name = kube::nameOf(n);
      present_nodes.insert(name);
      bool leaving = false;
      if (auto u = n->getObject("spec"); u && u->has("unschedulable")) {
        try {
          leaving = leaving || u->getValue<bool>("unschedulable");
        } catch (const std::exception&) {
        }
      }
      if (auto taints = kube::arrayAt(n, {"spec", "taints"})) {
        for (std::size_t i = 0; i < taints->size(); ++i) {
          auto t = taints->getObject(static_cast<unsigned>(i));
          if (t && isLeavingTaint(kube::stringAt(t, {"key"}))) leaving = true;
        }
      }
      if (leaving) leaving_nodes.insert(name);
    }
  } else if (!reported_node_access_) {
    reported_node_access_ = true;
    logger_.warn(
        "cannot list nodes; runners on cordoned or spot-interrupted nodes are found "
        "only when their pods fail (grant list on nodes)",
        {{"error", nodes.status().message()}});
  }

  struct Action {
    std::string pod, pool, why;
    std::int64_t runner_id = 0;
    bool deregister = false;
  };
  std::vector<Action> actions;
  {
    std::lock_guard lock(mutex_);
    for (auto& [name, p] : pods_) {
      if (p.deleting || p.removing) continue;
      const PoolConfig* pool = poolConfig(p.pool);
      Action a{name, p.pool, "", p.runner_id, false};
      const bool node_bad = nodes_known && !p.node.empty() &&
                            (leaving_nodes.count(p.node) || !present_nodes.count(p.node));
      if (p.phase == "Failed" || p.phase == "Succeeded") {
        if (p.finish_queued) continue;  // the worker is on it
        a.why = p.phase == "Failed" ? "pod failed" : "runner finished its job";
        if (p.phase == "Failed") ++stats_.replaced;
      } else if (node_bad) {
        p.node_leaving = true;  // out of supply now: the policy starts a replacement
        noteLost(p);
        ++stats_.replaced;
        a.why = "node " + p.node + " is gone or leaving (spot interruption, drain)";
        a.deregister = true;
      } else if (options_.deployment_mode) {
        continue;  // the Deployment owns its pods
      } else if (p.completed_at && now - *p.completed_at > options_.completed_grace) {
        a.why = "its job completed but the pod did not exit";
        a.deregister = true;
      } else if (pool && p.job == 0 && !p.ready && now - p.created > pool->policy.boot_timeout) {
        a.why = "stuck booting past boot_timeout";
        a.deregister = true;
        p.removing = true;
      } else {
        continue;
      }
      actions.push_back(std::move(a));
    }
  }
  for (const auto& a : actions) {
    if (options_.deployment_mode) {
      // A Deployment's pod: deleting it lets the ReplicaSet start a replacement elsewhere.
      kube::DeleteOptions opts;
      (void)client_->remove(kube::kPods, ns_, a.pod, opts);
      logger_.info("runner pod deleted", {{"pod", a.pod}, {"reason", a.why}});
      continue;
    }
    if (a.deregister && a.runner_id > 0) {
      if (const PoolConfig* pool = poolConfig(a.pool)) {
        // A busy answer does not save a pod whose node is leaving; the registration is then
        // removed later as an offline orphan.
        (void)registrar_->deregisterRunner(*pool, a.runner_id);
      }
    }
    logger_.warn("removing runner pod", {{"pod", a.pod}, {"pool", a.pool}, {"reason", a.why}});
    (void)deletePod(a.pod, a.why);
  }
}

void KubernetesBackend::cleanSecrets() {
  kube::ListOptions lo;
  lo.label_selector = std::string(kLabelScaler) + "=" + options_.scaler_id;
  auto secrets = client_->list(kube::kSecrets, ns_, lo);
  if (!secrets.isOk()) {
    logger_.warn("cannot list runner Secrets", {{"error", secrets.status().message()}});
    return;
  }
  std::vector<std::string> orphans;
  {
    std::lock_guard lock(mutex_);
    for (const auto& s : secrets->items) {
      const std::string name = kube::nameOf(s);
      if (!pods_.count(name) && !in_flight_.count(name)) orphans.push_back(name);
    }
  }
  for (const auto& name : orphans) {
    auto r = client_->remove(kube::kSecrets, ns_, name, {});
    if (r.isOk()) {
      std::lock_guard lock(mutex_);
      ++stats_.secrets_deleted;
    }
    logger_.info("orphaned runner Secret deleted", {{"secret", name}});
  }
}

void KubernetesBackend::cleanRegistrations() {
  for (const auto& pool : options_.pools) {
    auto listed = registrar_->listRunners(pool);
    if (!listed.isOk() && listed.status().code() == StatusCode::kFailedPrecondition) {
      // The registrar cannot list (a scale set's runners): say so once, not every minute.
      std::lock_guard lock(mutex_);
      if (unlistable_pools_.insert(pool.policy.name).second) {
        logger_.info("offline runner registrations of this pool are not cleaned up here",
                     {{"pool", pool.policy.name}, {"reason", listed.status().message()}});
      }
      continue;
    }
    if (!listed.isOk()) {
      logger_.warn("cannot list GitHub runners for cleanup",
                   {{"pool", pool.policy.name}, {"error", listed.status().message()}});
      continue;
    }
    std::string prefix = options_.scaler_id + "-" + pool.policy.name;
    if (prefix.size() > 54) prefix.resize(54);
    while (!prefix.empty() && prefix.back() == '-') prefix.pop_back();
    prefix += "-";
    std::vector<RegisteredRunner> orphans;
    {
      std::lock_guard lock(mutex_);
      for (const auto& r : *listed) {
        // Exactly our names: prefix + 8 hex digits.
        if (r.name.size() != prefix.size() + 8 || r.name.rfind(prefix, 0) != 0) continue;
        if (r.online || r.busy || pods_.count(r.name) || in_flight_.count(r.name)) continue;
        orphans.push_back(r);
      }
    }
    for (const auto& r : orphans) {
      Status s = registrar_->deregisterRunner(pool, r.id);
      if (s.isOk()) {
        std::lock_guard lock(mutex_);
        ++stats_.registrations_removed;
      }
      logger_.info("offline runner registration without a pod removed",
                   {{"runner", r.name}, {"pool", pool.policy.name}});
    }
  }
}

}  // namespace appliance::plugins::runner_scaler
