#pragma once
// Which pool runs a job: a job fits a pool when every one of its labels is among the pool's
// labels (self-hosted is implied, comparison is case-insensitive as GitHub's); of the pools
// that fit, the one with the fewest extra labels wins, then the smaller name. Deterministic.

#include <optional>
#include <string>
#include <vector>

namespace appliance::plugins::runner_scaler {

struct PoolLabels {
  std::string name;
  std::vector<std::string> labels;  // lower-case, sorted, without self-hosted
};

// Lower-cases, drops self-hosted, sorts and dedupes a job's labels.
std::vector<std::string> normalizeLabels(const std::vector<std::string>& labels);

// The index into `pools` of the pool for a job with (normalized) `job_labels`, or nullopt.
std::optional<std::size_t> matchPool(const std::vector<PoolLabels>& pools,
                                     const std::vector<std::string>& job_labels);

}  // namespace appliance::plugins::runner_scaler
