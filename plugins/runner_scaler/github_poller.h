#pragma once
// GitHubPoller: the REST reconciliation demand source. Every poll_interval it lists the
// queued and in-progress workflow runs of each repository (or of every repository of the
// organization) and their jobs, and hands each repository's complete listing to the sink,
// which repairs what webhooks missed. It follows GitHub's REST rules:
//   Accept: application/vnd.github+json, X-GitHub-Api-Version: 2022-11-28, Link pagination,
//   If-None-Match with the stored ETag (a 304 costs no rate limit), and no request at all
//   before x-ratelimit-reset when the limit is spent, before retry-after on 403/429, or for
//   a minute (doubling) after a secondary-rate-limit 403 without retry-after.
// Auth: a PAT from token_file (re-read when the file changes) or a GitHub App installation
// token (RS256 JWT exchanged at POST /app/installations/{id}/access_tokens, refreshed five
// minutes before expires_at). Tokens never reach a log line or an error message.
// pollOnce() runs on the scheduler's timer thread (runs never overlap).

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "appliance/context.h"
#include "appliance/http_client.h"
#include "backend.h"
#include "config.h"
#include "scaler_metrics.h"

namespace appliance::plugins::runner_scaler {

// "Link: <https://...&page=2>; rel="next", <...>; rel="last"" -> the next URL, or "".
std::string nextLink(std::string_view link_header);
// An RS256 JWT for a GitHub App: iat = now - 60 s, exp = now + 9 min (10 min after iat).
Result<std::string> makeAppJwt(const std::string& app_id, const std::string& private_key_pem,
                               std::chrono::sys_seconds now);

class GitHubPoller final {
 public:
  GitHubPoller(GitHubConfig config, std::shared_ptr<HttpClient> client,
               std::shared_ptr<ScalerMetrics> metrics, const Logger& logger, const Clock& clock);

  void pollOnce(DemandSink& sink);
  void reloadCredentials();
  void shutdown();
  HealthResult health() const;

  std::optional<TimePoint> blockedUntil() const;         // tests
  std::optional<std::int64_t> tokenExpiresAtUs() const;  // tests: the App token's expiry

 private:
  struct Answer {
    int status = 0;
    std::string body;
    std::string next;
  };
  Result<Answer> get(const std::string& url, const std::string& endpoint);
  Result<std::string> authorization();
  Status refreshInstallationToken(TimePoint now);
  void noteRateLimit(const HttpClientResponse& r, TimePoint now);
  Result<std::vector<std::string>> repositories();
  Status pollRepository(const std::string& repo, DemandSink& sink);
  Result<std::vector<std::string>> pagedBodies(std::string url, const std::string& endpoint);
  void failed(const Status& s);

  GitHubConfig config_;
  std::shared_ptr<HttpClient> client_;
  std::shared_ptr<ScalerMetrics> metrics_;
  const Logger& logger_;
  const Clock& clock_;

  // Three locks so that neither /readyz nor a SIGHUP reload waits for a poll in flight.
  mutable std::mutex mutex_;         // one poll at a time: tokens, ETags, backoff
  mutable std::mutex cred_mutex_;    // the PAT and App key as read from their files
  mutable std::mutex status_mutex_;  // failing_, last_error_ (health)
  std::string pat_;
  std::filesystem::file_time_type pat_mtime_{};
  std::string app_key_pem_;
  std::string installation_token_;
  std::int64_t installation_expires_us_ = 0;
  struct Cached {
    std::string etag, body, next;  // a 304 need not repeat the Link header
  };
  std::map<std::string, Cached> etags_;  // by URL
  std::optional<TimePoint> blocked_until_;
  std::chrono::seconds secondary_backoff_{60};
  std::string last_error_;
  bool failing_ = false;
};

}  // namespace appliance::plugins::runner_scaler
