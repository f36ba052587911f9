#pragma once
// DryRunBackend: virtual runners that behave like real ones so the numbers move as a
// cluster's would: a new runner boots for `boot_delay`, then idles; it is busy while a job
// the demand sources report as in progress runs on it, and idle again when that job
// completes. Nothing outside the process changes. Thread-safe.

#include <chrono>
#include <map>
#include <mutex>

#include "backend.h"

namespace appliance::plugins::runner_scaler {

class DryRunBackend final : public Backend {
 public:
  explicit DryRunBackend(std::chrono::milliseconds boot_delay) : boot_delay_(boot_delay) {}

  std::string name() const override { return "dry_run"; }
  std::vector<RunnerView> runners(const std::string& pool, TimePoint now) override;
  Status createRunners(const PoolConfig& pool, int count, TimePoint now) override;
  Status removeRunner(const std::string& pool, const std::string& id, TimePoint now) override;
  void jobStarted(const std::string& pool, std::int64_t job_id, const std::string& runner_name,
                  TimePoint now) override;
  void jobCompleted(const std::string& pool, std::int64_t job_id, TimePoint now) override;

 private:
  struct VirtualRunner {
    std::string id;
    TimePoint created, since;
    std::int64_t job = 0;  // 0: none
    bool busy() const { return job != 0; }
  };
  RunnerPhase phase(const VirtualRunner& r, TimePoint now) const;

  std::chrono::milliseconds boot_delay_;
  mutable std::mutex mutex_;
  std::map<std::string, std::map<std::string, VirtualRunner>> pools_;
  std::uint64_t next_ = 1;
};

}  // namespace appliance::plugins::runner_scaler
