#pragma once
// Leader election for plugins whose replicas must not all act (the scaler creating pods).
// LeaderElector runs the classic lease loop on the plugin's Scheduler: try to acquire a lease
// record, renew it every `renew_period`, take it over once its holder has not renewed for
// `lease_duration`, release it on stop(). Writes use optimistic concurrency (the record's
// version), so two candidates can never both believe they hold it at the same moment, given
// clocks that agree to well within lease_duration - renew_period.
//
// Where the lease lives is a LeaseBackend: KvLeaseBackend keeps it in the KvStore service
// (SQLite or PostgreSQL, shared by every replica on one database); the scaler adds a
// Kubernetes coordination.k8s.io/v1 Lease backend. Both are SDK-library classes, so their
// layout may change between versions without touching any vtable a plugin implements.
// ABI: appended in SDK ABI 2 (0.2.0).

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "appliance/context.h"
#include "appliance/kv_store.h"
#include "appliance/status.h"
#include "appliance/time.h"

namespace appliance {

struct LeaseRecord {
  std::string holder;         // identity of the holder; "" when released
  Timestamp acquired_at = 0;  // when the current holder took it (UTC µs)
  Timestamp renewed_at = 0;   // last renewal (UTC µs)
  std::int64_t duration_seconds = 15;
  std::uint64_t transitions = 0;  // how many times the holder changed
  std::string version;            // backend's concurrency token (resourceVersion, kv version)
};

class LeaseBackend {
 public:
  virtual ~LeaseBackend() = default;
  // nullopt when no record exists yet.
  virtual Result<std::optional<LeaseRecord>> read() = 0;
  // Creates the record when expected_version is "" (kConflict if one exists), else replaces
  // it only if its version still equals expected_version (kConflict otherwise). Returns the
  // record as stored, with its new version.
  virtual Result<LeaseRecord> write(const LeaseRecord& record,
                                    const std::string& expected_version) = 0;
  // Where the lease lives, for logs: "kv_store:alert_evaluator/leader".
  virtual std::string describe() const = 0;
};

class KvLeaseBackend final : public LeaseBackend {
 public:
  KvLeaseBackend(std::shared_ptr<KvStore> store, std::string ns, std::string key);
  Result<std::optional<LeaseRecord>> read() override;
  Result<LeaseRecord> write(const LeaseRecord& record,
                            const std::string& expected_version) override;
  std::string describe() const override;

 private:
  std::shared_ptr<KvStore> store_;
  std::string ns_;
  std::string key_;
};

struct LeaderElectionOptions {
  std::string name;      // timer name and log tag, e.g. "scaler-leader"
  std::string identity;  // this candidate; default RuntimeInfo::instance_id
  std::chrono::seconds lease_duration{15};
  std::chrono::seconds renew_period{5};
  // Called on the scheduler thread when this process gains (true) or loses (false)
  // leadership. Quick; do the work elsewhere.
  std::function<void(bool leader)> on_change;
};

class LeaderElector {
 public:
  // Validates options (renew_period < lease_duration) and schedules the loop on
  // ctx.scheduler(); the first attempt runs when timers start. Call from init().
  static Result<std::shared_ptr<LeaderElector>> start(PluginContext& ctx,
                                                      std::shared_ptr<LeaseBackend> backend,
                                                      LeaderElectionOptions options);
  ~LeaderElector();
  LeaderElector(const LeaderElector&) = delete;
  LeaderElector& operator=(const LeaderElector&) = delete;

  // True only while this process holds a lease it renewed within lease_duration (checked
  // against the clock at call time, so a stalled renewer stops believing it leads).
  bool isLeader() const;
  // The holder as last read ("" when unknown or released).
  std::string holder() const;
  // Runs one acquire-or-renew step now (tests drive it; the timer calls it too).
  void tick();
  // Cancels the timer and releases the lease if held (renewed_at set to 0, holder ""), so a
  // successor takes over at once. Call from Plugin::stop().
  void stop();

 private:
  struct State;
  explicit LeaderElector(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

}  // namespace appliance
