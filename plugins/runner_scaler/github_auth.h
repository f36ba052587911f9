#pragma once
// GitHubCredentials: the Authorization header for GitHub's REST API, shared by every part of
// the scaler that calls it (the REST poller, the JIT runner registrar). Either a PAT read from
// token_file (re-read when the file changes) or a GitHub App installation token (an RS256 JWT
// exchanged at POST /app/installations/{id}/access_tokens, refreshed five minutes before
// expires_at). Tokens never reach a log line or an error message. Thread-safe.

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "appliance/context.h"
#include "appliance/http_client.h"
#include "config.h"
#include "scaler_metrics.h"

namespace appliance::plugins::runner_scaler {

// An RS256 JWT for a GitHub App: iat = now - 60 s, exp = now + 9 min (10 min after iat).
Result<std::string> makeAppJwt(const std::string& app_id, const std::string& private_key_pem,
                               std::chrono::sys_seconds now);

class GitHubCredentials {
 public:
  // `metrics` may be null.
  GitHubCredentials(GitHubConfig config, std::shared_ptr<HttpClient> client,
                    std::shared_ptr<ScalerMetrics> metrics, const Logger& logger,
                    const Clock& clock);

  // Re-reads the PAT file (a stat unless it changed) and the App key.
  void reload();
  // "Bearer <token>"; mints an installation token first when needed.
  Result<std::string> authorization();
  // After a 401: the next authorization() mints a new installation token.
  void invalidate();
  std::optional<std::int64_t> expiresAtUs() const;  // the App token's expiry (tests)

 private:
  Status refreshInstallationToken(TimePoint now);

  GitHubConfig config_;
  std::shared_ptr<HttpClient> client_;
  std::shared_ptr<ScalerMetrics> metrics_;
  const Logger& logger_;
  const Clock& clock_;
  mutable std::mutex cred_mutex_;   // the PAT and App key as read from their files
  mutable std::mutex token_mutex_;  // the installation token (one refresh at a time)
  std::string pat_;
  std::filesystem::file_time_type pat_mtime_{};
  std::string app_key_pem_;
  std::string installation_token_;
  std::int64_t installation_expires_us_ = 0;
};

}  // namespace appliance::plugins::runner_scaler
