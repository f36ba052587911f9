#pragma once
// InMemoryKvStore: the reference implementation of KvStore's rules (versions, compare-and-set,
// expiry, atomic batches), for plugin unit tests. One mutex; not durable.

#include <map>
#include <mutex>
#include <string>

#include "appliance/context.h"
#include "appliance/kv_store.h"

namespace appliance::testing {

class InMemoryKvStore : public KvStore {
 public:
  // `clock` decides expiry (a ManualClock in tests); nullptr uses the system clock.
  explicit InMemoryKvStore(const Clock* clock = nullptr) : clock_(clock) {}

  using KvStore::list;
  using KvStore::put;
  using KvStore::remove;
  Result<std::optional<KvEntry>> get(std::string_view ns, std::string_view key) override;
  Result<std::uint64_t> put(std::string_view ns, std::string_view key, std::string_view value,
                            std::uint64_t expected_version, Timestamp expires_at) override;
  Result<bool> remove(std::string_view ns, std::string_view key,
                      std::uint64_t expected_version) override;
  Result<std::vector<KvEntry>> list(std::string_view ns, std::string_view prefix,
                                    std::string_view start_after, std::size_t limit) override;
  Status write(std::string_view ns, std::span<const KvWrite> writes) override;

  // Makes every call fail with kUnavailable until cleared (to test outage paths).
  void setUnavailable(bool unavailable);
  // Number of calls made so far (to assert a plugin batches or caches).
  std::size_t calls() const;

 private:
  using Space = std::map<std::string, KvEntry, std::less<>>;
  Timestamp now() const;
  Status check(Space& space, const KvWrite& write, Timestamp now) const;
  void apply(Space& space, const KvWrite& write);

  const Clock* clock_;
  mutable std::mutex mutex_;
  std::map<std::string, Space, std::less<>> spaces_;
  std::uint64_t next_version_ = 1;
  bool unavailable_ = false;
  std::size_t calls_ = 0;
};

}  // namespace appliance::testing
