#include "github_poller.h"

#include "appliance/time.h"
#include "github_json.h"

namespace appliance::plugins::runner_scaler {
namespace {

constexpr std::size_t kMaxCachedEtags = 2000;
std::int64_t toMicros(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

std::optional<std::int64_t> headerInt(const HttpClientResponse& r, std::string_view name) {
  auto v = r.header(name);
  if (!v || v->empty()) return std::nullopt;
  try {
    return std::stoll(std::string(*v));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

std::string nextLink(std::string_view link) {
  std::size_t pos = 0;
  while (pos < link.size()) {
    const auto open = link.find('<', pos);
    if (open == std::string_view::npos) return "";
    const auto close = link.find('>', open);
    if (close == std::string_view::npos) return "";
    const auto end = link.find(',', close);
    const auto params =
        link.substr(close + 1, end == std::string_view::npos ? link.npos : end - close - 1);
    if (params.find("rel=\"next\"") != std::string_view::npos) {
      return std::string(link.substr(open + 1, close - open - 1));
    }
    if (end == std::string_view::npos) return "";
    pos = end + 1;
  }
  return "";
}

GitHubPoller::GitHubPoller(GitHubConfig config, std::shared_ptr<HttpClient> client,
                           std::shared_ptr<ScalerMetrics> metrics, const Logger& logger,
                           const Clock& clock, std::shared_ptr<GitHubCredentials> credentials)
    : config_(std::move(config)),
      client_(std::move(client)),
      metrics_(std::move(metrics)),
      logger_(logger),
      clock_(clock),
      credentials_(credentials ? std::move(credentials)
                               : std::make_shared<GitHubCredentials>(config_, client_, metrics_,
                                                                     logger, clock)) {}

void GitHubPoller::reloadCredentials() { credentials_->reload(); }

void GitHubPoller::shutdown() { client_->shutdown(); }

HealthResult GitHubPoller::health() const {
  std::lock_guard lock(status_mutex_);
  // GitHub being down must not pull the scaler out of its Service (webhooks keep arriving).
  return HealthResult{true, failing_ ? "GitHub polling failing: " + last_error_ : ""};
}

std::optional<TimePoint> GitHubPoller::blockedUntil() const {
  std::lock_guard lock(mutex_);
  return blocked_until_;
}

std::optional<std::int64_t> GitHubPoller::tokenExpiresAtUs() const {
  return credentials_->expiresAtUs();
}

void GitHubPoller::noteRateLimit(const HttpClientResponse& r, TimePoint now) {
  const auto remaining = headerInt(r, "x-ratelimit-remaining");
  if (remaining) metrics_->rateLimitRemaining().Set(static_cast<double>(*remaining));
  const auto retry_after = headerInt(r, "retry-after");
  const auto reset = headerInt(r, "x-ratelimit-reset");
  std::optional<TimePoint> until;
  if (retry_after && (r.status == 403 || r.status == 429)) {
    until = now + std::chrono::seconds(*retry_after);
  } else if (remaining && *remaining == 0 && reset) {
    until = TimePoint{std::chrono::seconds(*reset)};
  } else if (r.status == 403 || r.status == 429) {
    // A secondary rate limit without retry-after: GitHub says wait at least a minute, and
    // longer if it keeps happening.
    until = now + secondary_backoff_;
    secondary_backoff_ = std::min(secondary_backoff_ * 2, std::chrono::seconds(900));
  } else if (r.status < 400) {
    secondary_backoff_ = std::chrono::seconds(60);
  }
  if (until && (!blocked_until_ || *until > *blocked_until_)) {
    blocked_until_ = until;
    logger_.warn(
        "GitHub rate limit reached; no requests until the reset",
        {{"until", formatTimestamp(toMicros(*until))}, {"status", std::to_string(r.status)}});
  }
}

Result<GitHubPoller::Answer> GitHubPoller::get(const std::string& url,
                                               const std::string& endpoint) {
  const TimePoint now = clock_.now();
  if (blocked_until_ && now < *blocked_until_) {
    return Status::unavailable("rate limited until " + formatTimestamp(toMicros(*blocked_until_)));
  }
  auto auth = credentials_->authorization();
  if (!auth.isOk()) return auth.status();
  HttpClientRequest rq;
  rq.url = url;
  rq.endpoint = endpoint;
  rq.headers = {{"Accept", "application/vnd.github+json"},
                {"X-GitHub-Api-Version", "2022-11-28"},
                {"Authorization", *auth}};
  auto cached = etags_.find(url);
  if (cached != etags_.end()) rq.headers.push_back({"If-None-Match", cached->second.etag});
  auto r = client_->send(rq);
  metrics_->githubRequest(endpoint, r.isOk() ? r->status : 0);
  if (!r.isOk()) return r.status();
  noteRateLimit(*r, now);
  Answer a;
  a.status = r->status;
  a.next = nextLink(r->header("Link").value_or(""));
  if (r->status == 304 && cached != etags_.end()) {
    a.status = 200;
    a.body = cached->second.body;
    if (a.next.empty()) a.next = cached->second.next;
    return a;
  }
  if (r->status == 401 && config_.app) credentials_->invalidate();  // revoked: get a new one
  if (r->status != 200) {
    return Status::unavailable("GET " + endpoint + " answered " + std::to_string(r->status));
  }
  if (auto etag = r->header("ETag"); etag && !etag->empty()) {
    if (etags_.size() >= kMaxCachedEtags) etags_.clear();
    etags_[url] = Cached{std::string(*etag), r->body, a.next};
  }
  a.body = std::move(r->body);
  return a;
}

Result<std::vector<std::string>> GitHubPoller::pagedBodies(std::string url,
                                                           const std::string& endpoint) {
  std::vector<std::string> bodies;
  for (int page = 0; !url.empty() && page < 100; ++page) {
    auto a = get(url, endpoint);
    if (!a.isOk()) return a.status();
    bodies.push_back(std::move(a->body));
    url = a->next;
  }
  return bodies;
}

Result<std::vector<std::string>> GitHubPoller::repositories() {
  if (config_.organization.empty()) return config_.repositories;
  auto pages =
      pagedBodies(config_.api_url + "/orgs/" + config_.organization + "/repos?per_page=100",
                  "/orgs/{org}/repos");
  if (!pages.isOk()) return pages.status();
  std::vector<std::string> out;
  for (const auto& body : *pages) {
    auto names = parseRepositoryNames(body);
    if (!names.isOk()) return names.status();
    out.insert(out.end(), names->begin(), names->end());
  }
  return out;
}

Status GitHubPoller::pollRepository(const std::string& repo, DemandSink& sink) {
  const TimePoint started = clock_.now();
  std::vector<JobObservation> jobs;
  for (const char* status : {"queued", "in_progress"}) {
    auto pages = pagedBodies(
        config_.api_url + "/repos/" + repo + "/actions/runs?status=" + status + "&per_page=100",
        "/repos/{repo}/actions/runs");
    if (!pages.isOk()) return pages.status();
    for (const auto& body : *pages) {
      auto runs = parseRunIds(body);
      if (!runs.isOk()) return runs.status();
      for (auto run : *runs) {
        auto job_pages = pagedBodies(config_.api_url + "/repos/" + repo + "/actions/runs/" +
                                         std::to_string(run) + "/jobs?per_page=100",
                                     "/repos/{repo}/actions/runs/{run_id}/jobs");
        if (!job_pages.isOk()) return job_pages.status();
        for (const auto& jb : *job_pages) {
          auto parsed = parseJobs(jb, repo);
          if (!parsed.isOk()) return parsed.status();
          jobs.insert(jobs.end(), parsed->begin(), parsed->end());
        }
      }
    }
  }
  sink.snapshot(repo, std::move(jobs), started);
  return Status::ok();
}

void GitHubPoller::failed(const Status& s) {
  std::lock_guard lock(status_mutex_);
  last_error_ = s.message();
  if (!failing_)
    logger_.warn("GitHub poll failed; retrying next interval", {{"error", s.message()}});
  failing_ = true;
}

void GitHubPoller::pollOnce(DemandSink& sink) {
  reloadCredentials();  // cheap: a stat unless the token file changed
  std::lock_guard lock(mutex_);
  if (blocked_until_ && clock_.now() < *blocked_until_) return;  // not one request before reset
  auto repos = repositories();
  if (!repos.isOk()) return failed(repos.status());
  for (const auto& repo : *repos) {
    if (Status s = pollRepository(repo, sink); !s.isOk()) return failed(s);
  }
  std::lock_guard status(status_mutex_);
  if (failing_) logger_.info("GitHub poll succeeded again");
  failing_ = false;
}

}  // namespace appliance::plugins::runner_scaler
