#pragma once
// RunnerRegistrar: the seam between a backend that starts runners (Kubernetes pods) and the
// GitHub side that registers them. Two implementations plug in per pool:
//   - REST: POST /repos/{o}/{r}/actions/runners/generate-jitconfig (or the org form) and
//     DELETE .../actions/runners/{id};
//   - scale set: the scale set's generatejitconfig and runner removal (demand: scale_set).
// The backend never knows which one it talks to.

#include <cstdint>
#include <string>
#include <vector>

#include "appliance/status.h"
#include "config.h"

namespace appliance::plugins::runner_scaler {

// `encoded_jit_config` is a secret: it goes into a Secret only, never into a pod spec, a log
// line, an error message or /runners.
struct RunnerRegistration {
  std::int64_t runner_id = 0;
  std::string runner_name;
  std::string encoded_jit_config;
};

// A runner as GitHub lists it (for orphan cleanup).
struct RegisteredRunner {
  std::int64_t id = 0;
  std::string name;
  bool online = false;
  bool busy = false;
};

class RunnerRegistrar {
 public:
  virtual ~RunnerRegistrar() = default;
  // Registers a new just-in-time runner for `pool` under `runner_name`.
  virtual Result<RunnerRegistration> registerRunner(const PoolConfig& pool,
                                                    const std::string& runner_name) = 0;
  // Deregisters a runner. kFailedPrecondition while GitHub says it runs a job (REST 422,
  // JobStillRunningException): the caller keeps the runner. kNotFound counts as done.
  virtual Status deregisterRunner(const PoolConfig& pool, std::int64_t runner_id) = 0;
  // The runners registered where `pool` registers them, so a backend can remove the ones it
  // created that have no pod any more. kFailedPrecondition when the registrar cannot list.
  virtual Result<std::vector<RegisteredRunner>> listRunners(const PoolConfig& /*pool*/) {
    return Status::failedPrecondition("this registrar cannot list runners");
  }
};

}  // namespace appliance::plugins::runner_scaler
