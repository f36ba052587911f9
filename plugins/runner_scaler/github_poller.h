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
#include "github_auth.h"
#include "scaler_metrics.h"

namespace appliance::plugins::runner_scaler {

// "Link: <https://...&page=2>; rel="next", <...>; rel="last"" -> the next URL, or "".
std::string nextLink(std::string_view link_header);

class GitHubPoller final {
 public:
  GitHubPoller(GitHubConfig config, std::shared_ptr<HttpClient> client,
               std::shared_ptr<ScalerMetrics> metrics, const Logger& logger, const Clock& clock,
               std::shared_ptr<GitHubCredentials> credentials = nullptr);

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

  std::shared_ptr<GitHubCredentials> credentials_;  // PAT or App token, shared
  // Two locks so that neither /readyz nor a SIGHUP reload waits for a poll in flight.
  mutable std::mutex mutex_;         // one poll at a time: ETags, backoff
  mutable std::mutex status_mutex_;  // failing_, last_error_ (health)
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
