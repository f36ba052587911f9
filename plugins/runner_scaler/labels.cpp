#include "labels.h"

#include <algorithm>
#include <cctype>

namespace appliance::plugins::runner_scaler {

std::vector<std::string> normalizeLabels(const std::vector<std::string>& labels) {
  std::vector<std::string> out;
  for (std::string l : labels) {
    std::transform(l.begin(), l.end(), l.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (l != "self-hosted" && !l.empty()) out.push_back(std::move(l));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::optional<std::size_t> matchPool(const std::vector<PoolLabels>& pools,
                                     const std::vector<std::string>& job_labels) {
  std::optional<std::size_t> best;
  for (std::size_t i = 0; i < pools.size(); ++i) {
    const auto& p = pools[i].labels;
    if (!std::includes(p.begin(), p.end(), job_labels.begin(), job_labels.end())) continue;
    if (!best) {
      best = i;
      continue;
    }
    const auto& b = pools[*best];
    if (p.size() < b.labels.size() || (p.size() == b.labels.size() && pools[i].name < b.name)) {
      best = i;
    }
  }
  return best;
}

}  // namespace appliance::plugins::runner_scaler
