#include "kube_lease_backend.h"

#include "appliance/time.h"

namespace appliance::plugins::runner_scaler::kube {

KubernetesLeaseBackend::KubernetesLeaseBackend(std::shared_ptr<KubeClient> client, std::string ns,
                                               std::string name)
    : client_(std::move(client)), ns_(std::move(ns)), name_(std::move(name)) {}

std::string KubernetesLeaseBackend::describe() const {
  return "kubernetes lease " + ns_ + "/" + name_;
}

Object KubernetesLeaseBackend::toLease(const LeaseRecord& record, const Object& metadata) {
  Object lease(new Poco::JSON::Object);
  lease->set("apiVersion", kLeases.apiVersion());
  lease->set("kind", kLeases.kind);
  lease->set("metadata", metadata);
  Object spec(new Poco::JSON::Object);
  if (!record.holder.empty()) spec->set("holderIdentity", record.holder);
  spec->set("leaseDurationSeconds", record.duration_seconds);
  if (record.acquired_at != 0) spec->set("acquireTime", formatTimestamp(record.acquired_at));
  if (record.renewed_at != 0) spec->set("renewTime", formatTimestamp(record.renewed_at));
  spec->set("leaseTransitions", static_cast<std::int64_t>(record.transitions));
  lease->set("spec", spec);
  return lease;
}

Result<LeaseRecord> KubernetesLeaseBackend::fromLease(const Object& lease) {
  LeaseRecord record;
  record.holder = stringAt(lease, {"spec", "holderIdentity"});
  record.duration_seconds = intAt(lease, {"spec", "leaseDurationSeconds"}).value_or(0);
  record.transitions = static_cast<std::uint64_t>(
      std::max<std::int64_t>(0, intAt(lease, {"spec", "leaseTransitions"}).value_or(0)));
  for (auto [field, out] : {std::pair{"acquireTime", &record.acquired_at},
                            std::pair{"renewTime", &record.renewed_at}}) {
    const std::string text = stringAt(lease, {"spec", field});
    if (text.empty()) continue;
    auto parsed = parseTimestamp(text);
    if (!parsed) {
      return Status::internal("lease " + namespaceOf(lease) + "/" + nameOf(lease) + ": spec." +
                              field + " '" + text + "' is not a MicroTime");
    }
    *out = parsed.value();
  }
  record.version = resourceVersionOf(lease);
  return record;
}

void KubernetesLeaseBackend::remember(const Object& lease) {
  std::lock_guard lock(mutex_);
  last_metadata_ = cloneObject(objectAt(lease, {"metadata"}));
}

Result<std::optional<LeaseRecord>> KubernetesLeaseBackend::read() {
  auto lease = client_->get(kLeases, ns_, name_);
  if (!lease) {
    if (lease.status().code() == StatusCode::kNotFound) {
      return std::optional<LeaseRecord>{};
    }
    return lease.status();
  }
  auto record = fromLease(lease.value());
  if (!record) return record.status();
  remember(lease.value());
  return std::optional<LeaseRecord>{std::move(record.value())};
}

Result<LeaseRecord> KubernetesLeaseBackend::write(const LeaseRecord& record,
                                                  const std::string& expected_version) {
  Object metadata;
  {
    std::lock_guard lock(mutex_);
    if (!expected_version.empty() && !last_metadata_.isNull() &&
        stringAt(last_metadata_, {"resourceVersion"}) == expected_version) {
      metadata = cloneObject(last_metadata_);
    }
  }
  if (metadata.isNull()) metadata = new Poco::JSON::Object;
  metadata->set("name", name_);
  metadata->set("namespace", ns_);
  for (const char* server_owned : {"managedFields", "creationTimestamp", "generation"}) {
    metadata->remove(server_owned);
  }
  Result<Object> stored = Status::internal("unset");
  if (expected_version.empty()) {
    metadata->remove("resourceVersion");
    stored = client_->create(kLeases, ns_, toLease(record, metadata));
  } else {
    metadata->set("resourceVersion", expected_version);
    stored = client_->replace(kLeases, ns_, name_, toLease(record, metadata));
    if (!stored && stored.status().code() == StatusCode::kNotFound) {
      return Status::conflict(describe() + " was deleted since it was read");
    }
  }
  if (!stored) return stored.status();
  remember(stored.value());
  LeaseRecord written = record;
  written.version = resourceVersionOf(stored.value());
  return written;
}

}  // namespace appliance::plugins::runner_scaler::kube
