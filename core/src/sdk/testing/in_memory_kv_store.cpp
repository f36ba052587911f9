#include "appliance/testing/in_memory_kv_store.h"

#include <chrono>

namespace appliance::testing {
namespace {

bool isLive(const KvEntry& entry, Timestamp now) {
  return entry.expires_at == 0 || entry.expires_at > now;
}

Status versionConflict(const std::string& key, std::uint64_t expected, std::uint64_t actual) {
  return Status::conflict(
      "kv key '" + key + "': expected version " +
      (expected == kKvMustNotExist ? std::string("<absent>") : std::to_string(expected)) +
      ", found " + (actual == 0 ? std::string("<absent>") : std::to_string(actual)));
}

}  // namespace

Timestamp InMemoryKvStore::now() const {
  const auto t = clock_ ? clock_->now() : std::chrono::system_clock::now();
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

void InMemoryKvStore::setUnavailable(bool unavailable) {
  std::lock_guard lock(mutex_);
  unavailable_ = unavailable;
}

std::size_t InMemoryKvStore::calls() const {
  std::lock_guard lock(mutex_);
  return calls_;
}

Status InMemoryKvStore::check(Space& space, const KvWrite& write, Timestamp at) const {
  if (Status s = validateKvWrite("ns", write); !s) return s;
  if (write.expected_version == kKvAnyVersion) return Status::ok();
  auto it = space.find(write.key);
  const std::uint64_t actual = it != space.end() && isLive(it->second, at) ? it->second.version : 0;
  if (actual != write.expected_version) {
    return versionConflict(write.key, write.expected_version, actual);
  }
  return Status::ok();
}

void InMemoryKvStore::apply(Space& space, const KvWrite& write) {
  if (write.op == KvWrite::Op::kDelete) {
    space.erase(write.key);
    return;
  }
  KvEntry& entry = space[write.key];
  entry.key = write.key;
  entry.value = write.value;
  entry.version = next_version_++;
  entry.expires_at = write.expires_at;
}

Result<std::optional<KvEntry>> InMemoryKvStore::get(std::string_view ns, std::string_view key) {
  if (Status s = validateKvKey(ns, key); !s) return s;
  std::lock_guard lock(mutex_);
  ++calls_;
  if (unavailable_) return Status::unavailable("kv store unavailable");
  auto space = spaces_.find(ns);
  if (space == spaces_.end()) return std::optional<KvEntry>{};
  auto it = space->second.find(key);
  if (it == space->second.end() || !isLive(it->second, now())) return std::optional<KvEntry>{};
  return std::optional<KvEntry>{it->second};
}

Result<std::uint64_t> InMemoryKvStore::put(std::string_view ns, std::string_view key,
                                           std::string_view value, std::uint64_t expected_version,
                                           Timestamp expires_at) {
  KvWrite write{KvWrite::Op::kPut, std::string(key), std::string(value), expected_version,
                expires_at};
  if (Status s = validateKvWrite(ns, write); !s) return s;
  std::lock_guard lock(mutex_);
  ++calls_;
  if (unavailable_) return Status::unavailable("kv store unavailable");
  Space& space = spaces_[std::string(ns)];
  if (Status s = check(space, write, now()); !s) return s;
  apply(space, write);
  return space[write.key].version;
}

Result<bool> InMemoryKvStore::remove(std::string_view ns, std::string_view key,
                                     std::uint64_t expected_version) {
  KvWrite write{KvWrite::Op::kDelete, std::string(key), {}, expected_version, 0};
  if (Status s = validateKvWrite(ns, write); !s) return s;
  std::lock_guard lock(mutex_);
  ++calls_;
  if (unavailable_) return Status::unavailable("kv store unavailable");
  Space& space = spaces_[std::string(ns)];
  const Timestamp at = now();
  if (Status s = check(space, write, at); !s) return s;
  auto it = space.find(write.key);
  const bool existed = it != space.end() && isLive(it->second, at);
  apply(space, write);
  return existed;
}

Result<std::vector<KvEntry>> InMemoryKvStore::list(std::string_view ns, std::string_view prefix,
                                                   std::string_view start_after,
                                                   std::size_t limit) {
  if (Status s = validateKvKey(ns, "x"); !s) return s;
  std::lock_guard lock(mutex_);
  ++calls_;
  if (unavailable_) return Status::unavailable("kv store unavailable");
  std::vector<KvEntry> out;
  auto space = spaces_.find(ns);
  if (space == spaces_.end()) return out;
  const Timestamp at = now();
  // Keys with the prefix are contiguous in byte order, from lower_bound(prefix) on.
  auto it = start_after.empty() || start_after < prefix ? space->second.lower_bound(prefix)
                                                        : space->second.upper_bound(start_after);
  for (; it != space->second.end() && std::string_view(it->first).starts_with(prefix); ++it) {
    if (!isLive(it->second, at)) continue;
    out.push_back(it->second);
    if (limit != 0 && out.size() == limit) break;
  }
  return out;
}

Status InMemoryKvStore::write(std::string_view ns, std::span<const KvWrite> writes) {
  for (const KvWrite& w : writes) {
    if (Status s = validateKvWrite(ns, w); !s) return s;
  }
  std::lock_guard lock(mutex_);
  ++calls_;
  if (unavailable_) return Status::unavailable("kv store unavailable");
  Space& space = spaces_[std::string(ns)];
  // Check against the state as the earlier writes of the batch leave it: apply to a copy.
  Space staged = space;
  const std::uint64_t version_before = next_version_;
  const Timestamp at = now();
  for (const KvWrite& w : writes) {
    if (Status s = check(staged, w, at); !s) {
      next_version_ = version_before;
      return s;
    }
    apply(staged, w);
  }
  space = std::move(staged);
  return Status::ok();
}

}  // namespace appliance::testing
