#pragma once
// RestRunnerRegistrar: just-in-time runners through GitHub's REST API.
//   POST {api}/repos/{owner}/{repo}/actions/runners/generate-jitconfig (or /orgs/{org}/...)
//        {name, runner_group_id, labels: [self-hosted, <pool labels>], work_folder}
//        -> 201 {runner: {id, name, ...}, encoded_jit_config}
//   DELETE {api}/.../actions/runners/{id} -> 204; 422 while the runner runs a job
//        (kFailedPrecondition: keep it); 404 counts as done
//   GET {api}/.../actions/runners?per_page=100 (Link pagination) -> {total_count, runners}
// Auth through the shared GitHubCredentials (PAT or App installation token); a 401 drops
// the installation token so the next call mints a new one. The JIT config and tokens never
// reach a log line or an error message: errors carry GitHub's `message` field only.
// Thread-safe (no state besides the shared credentials).

#include <memory>
#include <string>

#include "appliance/http_client.h"
#include "appliance/logger.h"
#include "github_auth.h"
#include "runner_registration.h"
#include "scaler_metrics.h"

namespace appliance::plugins::runner_scaler {

struct RestRegistrarOptions {
  std::string api_url = "https://api.github.com";
  // Exactly one: the organization, or the repository (owner/name) the runners serve.
  std::string organization;
  std::string repository;
  std::int64_t runner_group_id = 1;  // 1 = Default
  std::string work_folder = "_work";
};

class RestRunnerRegistrar final : public RunnerRegistrar {
 public:
  // `metrics` may be null.
  RestRunnerRegistrar(RestRegistrarOptions options, std::shared_ptr<HttpClient> client,
                      std::shared_ptr<GitHubCredentials> credentials,
                      std::shared_ptr<ScalerMetrics> metrics, const Logger& logger);

  Result<RunnerRegistration> registerRunner(const PoolConfig& pool,
                                            const std::string& runner_name) override;
  Status deregisterRunner(const PoolConfig& pool, std::int64_t runner_id) override;
  Result<std::vector<RegisteredRunner>> listRunners(const PoolConfig& pool) override;

  // "/orgs/acme" or "/repos/acme/app".
  std::string scopePath() const;

 private:
  Result<HttpClientResponse> send(const std::string& method, const std::string& url,
                                  const std::string& endpoint, const std::string& body);

  RestRegistrarOptions options_;
  std::shared_ptr<HttpClient> client_;
  std::shared_ptr<GitHubCredentials> credentials_;
  std::shared_ptr<ScalerMetrics> metrics_;
  const Logger& logger_;
};

// Parses a generate-jitconfig answer; errors never quote the body.
Result<RunnerRegistration> parseJitConfigResponse(std::string_view body);
// Parses a runner list page.
Result<std::vector<RegisteredRunner>> parseRunnerList(std::string_view body);

}  // namespace appliance::plugins::runner_scaler
