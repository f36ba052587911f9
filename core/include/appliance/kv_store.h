#pragma once
// KvStore: a small durable key-value service for plugin state that must survive a restart or a
// rollout: alert state, the scaler's budgets and webhook dedupe set, leader leases. The storage
// plugins provide it next to the task store, in the same database and with the same
// durability (a write returns once it is committed): storage_sqlite locally, storage_postgres
// in Kubernetes, so a pod without a volume keeps its state. testing::InMemoryKvStore is the
// reference implementation for unit tests.
//
// Keys live in namespaces; by convention a plugin uses its own name. Every entry carries a
// version for compare-and-set: the store assigns a fresh one on each write, from a counter
// that never repeats for a key (deleting and re-creating a key does not reuse a version), so
// a stale writer always conflicts. Limits: namespace and key 1..512 bytes of UTF-8, value up
// to 1 MiB (kInvalidArgument beyond). Not for bulk data or hot paths: each call is a
// database round trip.
//
// Service name "kv_store". A plugin that needs it lists "kv_store" in requires_services.
// ABI: appended in SDK ABI 2 (0.2.0); interfaces a plugin implements never change within an
// ABI version, so this one is complete as written.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/status.h"
#include "appliance/time.h"

namespace appliance {

// expected_version values with a special meaning.
inline constexpr std::uint64_t kKvAnyVersion = std::numeric_limits<std::uint64_t>::max();
inline constexpr std::uint64_t kKvMustNotExist = 0;  // versions start at 1

inline constexpr std::size_t kKvMaxKeyBytes = 512;
inline constexpr std::size_t kKvMaxValueBytes = 1 << 20;

struct KvEntry {
  std::string key;
  std::string value;
  std::uint64_t version = 0;  // >= 1
  Timestamp expires_at = 0;   // 0: never; else UTC microseconds after which it is gone
};

struct KvWrite {
  enum class Op : std::uint8_t { kPut, kDelete };
  Op op = Op::kPut;
  std::string key;
  std::string value;                               // kPut only
  std::uint64_t expected_version = kKvAnyVersion;  // or kKvMustNotExist, or a version
  Timestamp expires_at = 0;                        // kPut only
};

class KvStore {
 public:
  static constexpr std::string_view kServiceName = "kv_store";
  virtual ~KvStore() = default;

  // The live entry, or nullopt when absent or expired.
  virtual Result<std::optional<KvEntry>> get(std::string_view ns, std::string_view key) = 0;

  // Creates or replaces; returns the new version. With expected_version other than
  // kKvAnyVersion the write happens only if the current version matches (kKvMustNotExist:
  // only if absent or expired), else kConflict naming the key. expires_at 0 keeps it forever.
  virtual Result<std::uint64_t> put(std::string_view ns, std::string_view key,
                                    std::string_view value, std::uint64_t expected_version,
                                    Timestamp expires_at) = 0;

  // Deletes; true if a live entry was deleted. A version mismatch is kConflict (deleting
  // an absent key with kKvAnyVersion is not an error: false).
  virtual Result<bool> remove(std::string_view ns, std::string_view key,
                              std::uint64_t expected_version) = 0;

  // Live entries whose key starts with `prefix`, in byte order of key, after `start_after`
  // (exclusive; "" starts at the beginning), at most `limit` (0: all). Page with the last key.
  virtual Result<std::vector<KvEntry>> list(std::string_view ns, std::string_view prefix,
                                            std::string_view start_after, std::size_t limit) = 0;

  // All or nothing, in one transaction: every write applies, or none does and the result is
  // the first failure (kConflict naming the key whose version did not match).
  virtual Status write(std::string_view ns, std::span<const KvWrite> writes) = 0;

  // Convenience wrappers (not virtual, not part of the vtable).
  Result<std::uint64_t> put(std::string_view ns, std::string_view key, std::string_view value) {
    return put(ns, key, value, kKvAnyVersion, 0);
  }
  Result<bool> remove(std::string_view ns, std::string_view key) {
    return remove(ns, key, kKvAnyVersion);
  }
  Result<std::vector<KvEntry>> list(std::string_view ns, std::string_view prefix = {}) {
    return list(ns, prefix, {}, 0);
  }
};

// Shared argument checks for implementations: kInvalidArgument naming what is wrong, or ok.
Status validateKvKey(std::string_view ns, std::string_view key);
Status validateKvWrite(std::string_view ns, const KvWrite& write);

// The least string above every string that starts with `prefix`, for `key >= prefix AND key <
// bound` range scans (an index, no LIKE and no escaping); a string above every valid key when
// none exists (an empty prefix, or one of only U+10FFFF). Works on code points, so the bound
// is valid UTF-8 whenever the prefix is (byte order of UTF-8 is code point order).
std::string kvPrefixUpperBound(std::string_view prefix);

}  // namespace appliance
