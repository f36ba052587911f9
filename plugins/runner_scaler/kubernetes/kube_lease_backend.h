#pragma once
// KubernetesLeaseBackend: the LeaderElector's lease (appliance/leader_election.h) kept in a
// coordination.k8s.io/v1 Lease, as client-go's leader election keeps it, so `kubectl get lease`
// shows the holder:
//   spec.holderIdentity        LeaseRecord::holder ("" or absent when released)
//   spec.leaseDurationSeconds  duration_seconds
//   spec.acquireTime           acquired_at  (MicroTime, RFC 3339 with microseconds; absent = 0)
//   spec.renewTime             renewed_at
//   spec.leaseTransitions      transitions
//   metadata.resourceVersion   version: a write replaces the Lease (PUT) only over the version
//                              it read, so a 409 Conflict becomes kConflict and the elector
//                              reads again; creating one that exists is kConflict too.
// Labels, annotations and owner references already on the Lease are kept on replace.
// Thread-safe (the elector calls it from its scheduler thread).

#include <memory>
#include <mutex>
#include <string>

#include "appliance/leader_election.h"
#include "kube_client.h"

namespace appliance::plugins::runner_scaler::kube {

class KubernetesLeaseBackend final : public LeaseBackend {
 public:
  KubernetesLeaseBackend(std::shared_ptr<KubeClient> client, std::string ns, std::string name);

  Result<std::optional<LeaseRecord>> read() override;
  Result<LeaseRecord> write(const LeaseRecord& record,
                            const std::string& expected_version) override;
  std::string describe() const override;  // "kubernetes lease <ns>/<name>"

  // The Lease object for a record (exposed for tests).
  static Object toLease(const LeaseRecord& record, const Object& metadata);
  static Result<LeaseRecord> fromLease(const Object& lease);

 private:
  void remember(const Object& lease);

  std::shared_ptr<KubeClient> client_;
  std::string ns_;
  std::string name_;
  std::mutex mutex_;
  Object last_metadata_;  // of the version last read or written
};

}  // namespace appliance::plugins::runner_scaler::kube
