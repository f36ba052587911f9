#pragma once
// KubernetesBackend (`backend: kubernetes`): runners as pods.
//
// Ephemeral mode (default), per runner: RunnerRegistrar::registerRunner (a JIT config) → a
// Secret holding it under key `jitconfig` → a pod from the pool's RunnerTemplate whose env
// ACTIONS_RUNNER_INPUT_JITCONFIG comes from that Secret (secretKeyRef; the value is never in
// the pod spec), restartPolicy Never, labels naming scaler, pool and runner → the Secret's
// ownerReferences patched to the pod, so garbage collection removes it with the pod.
//
// Supply comes from a list+watch of this scaler's pods (ResourceWatch); runners() reads that
// cache and makes no request. A runner is booting until its pod is Running and Ready (or a
// job starts on it), busy while a job reported by jobStarted runs on it, idle otherwise. A
// pod that Succeeded (its one job done), Failed (evicted, node gone) or is being deleted is
// no supply; finished pods are deleted with their Secret at once, from a worker thread.
//
// removeRunner deregisters first (GitHub's 422 while busy → kFailedPrecondition, the pod
// stays), then deletes pod and Secret. maintain() (paced to maintain_interval) removes
// Secrets without a pod, pods past the pool's boot_timeout, failed pods, pods whose job
// completed but which did not exit, pods on a node that is gone, cordoned or tainted for a
// spot interruption (replaced: they leave supply at once while the job stays counted as
// demand), and registrations this scaler created that are offline with no pod.
//
// Deployment mode: each pool maps to an existing Deployment of long-lived runners, scaled
// with a merge-patch of deployments/{name}/scale; never below the number of busy runners; the
// pod removed is the chosen idle one (controller.kubernetes.io/pod-deletion-cost).
//
// recordEvent() queues one core/v1 Event on the scaler's own pod (POD_NAME/POD_NAMESPACE).
//
// Thread-safe; no Kubernetes or GitHub request is made under the cache lock.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "appliance/context.h"
#include "appliance/logger.h"
#include "backend.h"
#include "kube_client.h"
#include "resource_watch.h"
#include "runner_registration.h"

namespace appliance::plugins::runner_scaler {

inline constexpr const char* kLabelScaler = "runner-scaler.appliance.dev/scaler";
inline constexpr const char* kLabelPool = "runner-scaler.appliance.dev/pool";
inline constexpr const char* kLabelRunner = "runner-scaler.appliance.dev/runner";
inline constexpr const char* kAnnotationRunnerId = "runner-scaler.appliance.dev/runner-id";
inline constexpr const char* kJitConfigKey = "jitconfig";

struct KubernetesBackendOptions {
  std::string ns;  // "" = the client's default namespace
  std::string scaler_id = "appliance";
  std::vector<PoolConfig> pools;
  bool deployment_mode = false;
  std::map<std::string, std::string> deployments;  // pool -> Deployment
  // A Kubernetes Event per scale decision on this pod ("" = no events).
  std::string event_pod_name, event_pod_namespace;
  std::chrono::milliseconds maintain_interval{std::chrono::seconds(60)};
  // A pod whose job completed but which has not exited after this long is deleted.
  std::chrono::milliseconds completed_grace{std::chrono::minutes(2)};
  std::string work_volume_storage_class;  // "" = emptyDir with sizeLimit
  int create_parallelism = 4;             // runners registered and created at once
};

// Node taints that mean the node is going away (spot interruption, scale-in, cordon).
bool isLeavingTaint(const std::string& key);

class KubernetesBackend final : public Backend {
 public:
  KubernetesBackend(std::shared_ptr<kube::KubeClient> client, KubernetesBackendOptions options,
                    std::shared_ptr<RunnerRegistrar> registrar, const Logger& logger,
                    const Clock& clock);
  ~KubernetesBackend() override;
  KubernetesBackend(const KubernetesBackend&) = delete;
  KubernetesBackend& operator=(const KubernetesBackend&) = delete;

  // Starts the pod watch(es) and the worker. Deployment mode reads each Deployment's selector
  // first (kNotFound/kFailedPrecondition with the reason when it cannot).
  Status start();
  // Waits until every watch has listed once; false after `timeout`.
  bool waitForSync(std::chrono::milliseconds timeout);
  void stop();

  std::string name() const override { return "kubernetes"; }
  std::vector<RunnerView> runners(const std::string& pool, TimePoint now) override;
  Status createRunners(const PoolConfig& pool, int count, TimePoint now) override;
  Status removeRunner(const std::string& pool, const std::string& id, TimePoint now) override;
  void jobStarted(const std::string& pool, std::int64_t job_id, const std::string& runner_name,
                  TimePoint now) override;
  void jobCompleted(const std::string& pool, std::int64_t job_id, TimePoint now) override;
  void maintain(TimePoint now) override;
  void recordEvent(const std::string& pool, const std::string& reason,
                   const std::string& message) override;

  // Jobs whose pod vanished under them (spot, eviction) and not yet reported completed: still
  // in progress for GitHub, so still demand (tests).
  int lostBusyRunners(const std::string& pool);
  // Runs the cleanup now regardless of the pacing (tests, and maintain()).
  void maintainNow(TimePoint now);
  // Waits until the worker queue is empty (tests).
  void drain();

  struct Stats {
    std::uint64_t pods_created = 0, pods_deleted = 0, secrets_deleted = 0;
    std::uint64_t registrations_removed = 0, replaced = 0, events = 0, create_failures = 0;
  };
  Stats stats() const;
  const std::string& ns() const { return ns_; }

 private:
  struct Pod {
    std::string name, uid, pool, node, phase, reason;
    std::int64_t runner_id = 0;
    bool ready = false, deleting = false, disrupted = false;
    TimePoint created{};
    // The backend's own knowledge, kept across watch updates.
    std::optional<TimePoint> ready_since;
    std::int64_t job = 0;
    TimePoint busy_since{}, idle_since{};
    std::optional<TimePoint> completed_at;  // ephemeral: its one job is done
    bool removing = false;                  // deletion requested by us
    bool node_leaving = false;
    bool finish_queued = false;
    bool local = false;  // created here, not yet seen by the watch
  };
  struct Watched {
    std::string pool;  // deployment mode: the pool of every pod; "" = from the label
    std::unique_ptr<kube::ResourceWatch> watch;
    std::atomic<bool> synced{false};
  };

  const PoolConfig* poolConfig(const std::string& pool) const;
  bool supplies(const Pod& p) const;
  Pod podFrom(const kube::Object& object, const std::string& pool) const;
  void upsert(Pod fresh);  // under mutex_
  void onSync(Watched& w, const kube::ObjectList& state);
  void onEvent(Watched& w, const kube::WatchEvent& event);
  void queueFinish(Pod& p);     // under mutex_
  void noteLost(const Pod& p);  // under mutex_: a busy pod left supply without finishing

  std::string newRunnerName(const std::string& pool);
  Status createOne(const PoolConfig& pool, TimePoint now);
  kube::Object podSpec(const PoolConfig& pool, const std::string& name,
                       const RunnerRegistration& reg) const;
  kube::Object secretSpec(const PoolConfig& pool, const std::string& name,
                          const RunnerRegistration& reg) const;
  // Deletes a pod and its Secret (404s count as done).
  Status deletePod(const std::string& name, const std::string& why);
  Status deploymentScale(const PoolConfig& pool, int delta, int floor);

  void post(std::function<void()> task);
  void workerLoop();
  void createEvent(const std::string& reason, const std::string& message);

  void cleanSecrets();
  void cleanPods(TimePoint now);
  void cleanRegistrations();

  std::shared_ptr<kube::KubeClient> client_;
  KubernetesBackendOptions options_;
  std::shared_ptr<RunnerRegistrar> registrar_;
  const Logger& logger_;
  const Clock& clock_;
  std::string ns_;

  mutable std::mutex mutex_;                // pods_, in_flight_, stats_, last_maintain_
  std::map<std::string, Pod> pods_;         // by pod (= runner) name
  std::set<std::string> in_flight_;         // runner names being registered/created
  std::set<std::string> unlistable_pools_;  // pools whose registrar cannot list runners
  std::map<std::string, std::set<std::int64_t>> lost_jobs_;  // by pool
  Stats stats_;
  std::optional<TimePoint> last_maintain_;
  std::mutex maintain_mutex_;  // one cleanup at a time

  std::vector<std::unique_ptr<Watched>> watches_;
  std::mutex sync_mutex_;
  std::condition_variable synced_cv_;

  std::mutex work_mutex_;
  std::condition_variable work_cv_, idle_cv_;
  std::deque<std::function<void()>> work_;
  bool working_ = false, stopping_ = false;
  std::thread worker_;

  std::string own_pod_uid_;  // for events; read once
  std::atomic<std::uint64_t> name_counter_{0};
  bool reported_node_access_ = false;
};

}  // namespace appliance::plugins::runner_scaler
