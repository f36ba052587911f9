// GitHubPoller against FakeHttpClient answering in GitHub's documented shapes: pagination,
// ETags and 304s, rate-limit headers, retry-after, secondary limits, App installation tokens.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "github_poller.h"
#include "test_support.h"

namespace appliance::plugins::runner_scaler {
namespace {

using test::Harness;
using test::jobEvent;
using test::tempFile;

const std::vector<std::string> kLinux = {"self-hosted", "linux", "terraform", "kubernetes"};

HttpClientResponse answer(int status, std::string body, std::vector<HttpHeader> headers = {}) {
  HttpClientResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  r.headers.push_back({"x-ratelimit-remaining", "4999"});
  return r;
}

std::string jobJson(std::int64_t id, std::int64_t run, const char* status) {
  return R"({"id":)" + std::to_string(id) + R"(,"run_id":)" + std::to_string(run) +
         R"(,"status":")" + status +
         R"(","labels":["self-hosted","linux","terraform","kubernetes"],"runner_name":null,)"
         R"("created_at":"2023-11-14T22:10:00Z","started_at":"2023-11-14T22:10:00Z"})";
}

// A fake GitHub: repository acme/infra with runs and jobs the test edits.
struct FakeGitHub {
  std::map<std::int64_t, std::vector<std::string>> queued_runs;  // run -> job JSON
  std::map<std::int64_t, std::vector<std::string>> running_runs;
  std::function<std::optional<HttpClientResponse>(const HttpClientRequest&)> override_;
  std::string etag_seen;

  Result<HttpClientResponse> handle(const HttpClientRequest& rq) {
    if (override_) {
      if (auto r = override_(rq)) return *r;
    }
    const std::string& url = rq.url;
    auto runsPage = [&](const std::map<std::int64_t, std::vector<std::string>>& runs, int page,
                        const std::string& base) {
      // One run per page, so every listing paginates.
      std::vector<std::int64_t> ids;
      for (const auto& [id, jobs] : runs) ids.push_back(id);
      std::string body =
          R"({"total_count":)" + std::to_string(ids.size()) + R"(,"workflow_runs":[)";
      std::vector<HttpHeader> headers;
      if (page <= static_cast<int>(ids.size()) && page >= 1) {
        body += R"({"id":)" + std::to_string(ids[static_cast<std::size_t>(page - 1)]) + "}";
      }
      body += "]}";
      if (page < static_cast<int>(ids.size())) {
        headers.push_back({"Link", "<" + base + "&page=" + std::to_string(page + 1) +
                                       ">; rel=\"next\", <" + base +
                                       "&page=" + std::to_string(ids.size()) + ">; rel=\"last\""});
      }
      // Conditional like GitHub: a 304 carries the ETag but not the Link header.
      const std::string etag = "\"runs-" + std::to_string(std::hash<std::string>{}(body)) + "\"";
      for (const auto& h : rq.headers) {
        if (h.name == "If-None-Match" && h.value == etag) return answer(304, "", {{"ETag", etag}});
      }
      headers.push_back({"ETag", etag});
      return answer(200, body, headers);
    };
    for (auto [status, runs] :
         {std::pair{"queued", &queued_runs}, {"in_progress", &running_runs}}) {
      const std::string base =
          "https://api.github.test/repos/acme/infra/actions/runs?status=" + std::string(status) +
          "&per_page=100";
      if (url.rfind(base, 0) == 0) {
        const auto p = url.find("&page=");
        return runsPage(*runs, p == std::string::npos ? 1 : std::stoi(url.substr(p + 6)), base);
      }
    }
    const std::string jobs_prefix = "https://api.github.test/repos/acme/infra/actions/runs/";
    if (url.rfind(jobs_prefix, 0) == 0) {
      const auto run = std::stoll(url.substr(jobs_prefix.size()));
      std::vector<std::string>* jobs = nullptr;
      if (queued_runs.count(run)) jobs = &queued_runs[run];
      if (running_runs.count(run)) jobs = &running_runs[run];
      if (!jobs) return answer(404, R"({"message":"Not Found"})");
      std::string body = R"({"total_count":)" + std::to_string(jobs->size()) + R"(,"jobs":[)";
      for (std::size_t k = 0; k < jobs->size(); ++k) body += (k ? "," : "") + (*jobs)[k];
      body += "]}";
      const std::string etag = "\"" + std::to_string(std::hash<std::string>{}(body)) + "\"";
      for (const auto& h : rq.headers) {
        if (h.name == "If-None-Match" && h.value == etag) {
          etag_seen = etag;
          return answer(304, "", {{"ETag", etag}});
        }
      }
      return answer(200, body, {{"ETag", etag}});
    }
    return answer(404, R"({"message":"Not Found"})");
  }
};

struct PollerHarness : Harness {
  FakeGitHub github;
  std::string token_file = tempFile("pat", "ghp_first_token_value\n");
  explicit PollerHarness(const std::string& github_yaml = "")
      : Harness(test::baseConfig(
            "", "",
            "  api_url: https://api.github.test\n  repositories: [acme/infra]\n" +
                (github_yaml.empty() ? "  token_file: " + tokenFile() + "\n" : github_yaml))) {
    ctx.http_client->setHandler([this](const HttpClientRequest& rq) { return github.handle(rq); });
  }
  static std::string tokenFile() { return tempFile("pat", "ghp_first_token_value\n"); }
  void poll() {
    plugin.poller()->pollOnce(*plugin.scaler());
    step();
  }
};

TEST(NextLink, FindsRelNextAnywhere) {
  EXPECT_EQ(nextLink(R"(<https://a/x?page=2>; rel="next", <https://a/x?page=5>; rel="last")"),
            "https://a/x?page=2");
  EXPECT_EQ(nextLink(R"(<https://a/x?page=1>; rel="prev", <https://a/x?page=3>; rel="next")"),
            "https://a/x?page=3");
  EXPECT_EQ(nextLink(R"(<https://a/x?page=1>; rel="first")"), "");
  EXPECT_EQ(nextLink(""), "");
}

TEST(Poller, FollowsPaginationWithGitHubsHeadersAndFindsUnannouncedJobs) {
  PollerHarness h;
  h.github.queued_runs[10] = {jobJson(101, 10, "queued"), jobJson(102, 10, "queued")};
  h.github.queued_runs[11] = {jobJson(111, 11, "queued")};
  h.github.running_runs[12] = {jobJson(121, 12, "in_progress")};
  h.poll();
  EXPECT_EQ(h.metric("appliance_jobs_queued", {{"pool", "linux"}}), 3);
  EXPECT_EQ(h.metric("appliance_jobs_in_progress", {{"pool", "linux"}}), 1);
  EXPECT_EQ(h.metric("appliance_runners_desired", {{"pool", "linux"}}), 4);
  const auto requests = h.ctx.http_client->requests();
  ASSERT_EQ(requests.size(), 2u + 1u + 3u);  // queued pages 1-2, in_progress page 1, 3 runs' jobs
  for (const auto& rq : requests) {
    std::map<std::string, std::string> hs;
    for (const auto& x : rq.headers) hs[x.name] = x.value;
    EXPECT_EQ(hs["Accept"], "application/vnd.github+json");
    EXPECT_EQ(hs["X-GitHub-Api-Version"], "2022-11-28");
    EXPECT_EQ(hs["Authorization"], "Bearer ghp_first_token_value");
  }
  EXPECT_TRUE(h.ctx.log.contains("poll repaired"));
  EXPECT_EQ(h.metric("appliance_github_requests_total",
                     {{"endpoint", "/repos/{repo}/actions/runs/{run_id}/jobs"}, {"status", "200"}}),
            3);
  EXPECT_FALSE(h.ctx.log.contains("ghp_first_token_value"));
}

TEST(Poller, ConditionalRequestsReuseTheCachedListingOn304) {
  PollerHarness h;
  h.github.queued_runs[10] = {jobJson(101, 10, "queued")};
  h.github.queued_runs[11] = {jobJson(111, 11, "queued")};  // two pages of runs
  h.poll();
  h.ctx.http_client->clearRequests();
  h.advance(std::chrono::seconds(60));
  h.poll();
  EXPECT_FALSE(h.github.etag_seen.empty());
  // Not lost on 304s, and page 2 still found through the cached Link of page 1.
  EXPECT_EQ(h.metric("appliance_jobs_queued", {{"pool", "linux"}}), 2);
  EXPECT_EQ(h.metric("appliance_github_requests_total",
                     {{"endpoint", "/repos/{repo}/actions/runs/{run_id}/jobs"}, {"status", "304"}}),
            2);
  EXPECT_EQ(h.metric("appliance_github_requests_total",
                     {{"endpoint", "/repos/{repo}/actions/runs"}, {"status", "304"}}),
            3);  // queued pages 1 and 2, in_progress page 1
}

TEST(Poller, RepairsALostCompletedWebhookWithoutDoubleCounting) {
  PollerHarness h;
  h.send(jobEvent("queued", 301, kLinux), "q");
  h.send(jobEvent("in_progress", 301, kLinux), "s");
  h.step();
  EXPECT_EQ(h.metric("appliance_jobs_in_progress", {{"pool", "linux"}}), 1);
  h.advance(std::chrono::seconds(30));
  // GitHub lists the job as running: nothing changes, nothing is counted twice.
  h.github.running_runs[30] = {jobJson(301, 30, "in_progress")};
  h.poll();
  EXPECT_EQ(h.metric("appliance_jobs_in_progress", {{"pool", "linux"}}), 1);
  EXPECT_EQ(h.metric("appliance_job_queue_wait_seconds", {{"pool", "linux"}}), 1);
  // The completed webhook is lost; the run disappears from the in_progress listing.
  h.github.running_runs.clear();
  h.advance(std::chrono::seconds(30));
  h.poll();
  EXPECT_EQ(h.metric("appliance_jobs_in_progress", {{"pool", "linux"}}), 0);
  EXPECT_EQ(h.metric("appliance_job_duration_seconds", {{"pool", "linux"}}), 1);
}

TEST(Poller, JobsAnnouncedDuringAPollAreNotCompletedByIt) {
  PollerHarness h;
  h.github.override_ = [&](const HttpClientRequest& rq) -> std::optional<HttpClientResponse> {
    // A webhook lands while the poll is listing.
    if (rq.url.find("status=queued") != std::string::npos) {
      h.send(jobEvent("queued", 401, kLinux), "mid-poll");
    }
    return std::nullopt;
  };
  h.poll();
  EXPECT_EQ(h.metric("appliance_jobs_queued", {{"pool", "linux"}}), 1);
}

TEST(Poller, NoRequestBeforeTheRateLimitResets) {
  PollerHarness h;
  const auto now_s =
      std::chrono::duration_cast<std::chrono::seconds>(h.ctx.manual_clock.now().time_since_epoch())
          .count();
  h.github.override_ = [&](const HttpClientRequest&) -> std::optional<HttpClientResponse> {
    HttpClientResponse r;
    r.status = 403;
    r.body = R"({"message":"API rate limit exceeded"})";
    r.headers = {{"x-ratelimit-remaining", "0"},
                 {"x-ratelimit-reset", std::to_string(now_s + 600)}};
    return r;
  };
  h.poll();
  EXPECT_EQ(h.metric("appliance_github_rate_limit_remaining"), 0);
  ASSERT_TRUE(h.plugin.poller()->blockedUntil());
  h.github.override_ = nullptr;
  h.ctx.http_client->clearRequests();
  h.advance(std::chrono::seconds(599));
  h.poll();
  EXPECT_TRUE(h.ctx.http_client->requests().empty());
  h.advance(std::chrono::seconds(1));
  h.poll();
  EXPECT_FALSE(h.ctx.http_client->requests().empty());
}

TEST(Poller, RetryAfterAndSecondaryLimitsBackOff) {
  PollerHarness h;
  int status = 429;
  std::string retry_after = "30";
  h.github.override_ = [&](const HttpClientRequest&) -> std::optional<HttpClientResponse> {
    HttpClientResponse r;
    r.status = status;
    if (!retry_after.empty()) r.headers = {{"retry-after", retry_after}};
    return r;
  };
  const auto start = h.ctx.manual_clock.now();
  h.poll();
  EXPECT_EQ(*h.plugin.poller()->blockedUntil(), start + std::chrono::seconds(30));
  h.advance(std::chrono::seconds(30));
  status = 403;
  retry_after.clear();  // a secondary limit without retry-after: at least a minute
  h.poll();
  EXPECT_EQ(*h.plugin.poller()->blockedUntil(), start + std::chrono::seconds(90));
  h.advance(std::chrono::seconds(60));
  h.poll();  // again: the wait doubles
  EXPECT_EQ(*h.plugin.poller()->blockedUntil(), start + std::chrono::seconds(90 + 120));
}

TEST(Poller, RereadsTheTokenFileWhenItChanges) {
  PollerHarness h;
  h.poll();
  const std::string file = tempFile("pat", "");
  (void)file;
  // The harness's token file path is the one in the config.
  std::string path;
  for (const auto& f :
       std::filesystem::directory_iterator(std::filesystem::temp_directory_path())) {
    if (f.path().filename().string() == "runner_scaler_" + std::to_string(::getpid()) + "_pat") {
      path = f.path().string();
    }
  }
  ASSERT_FALSE(path.empty());
  std::ofstream(path) << "ghp_second_token_value\n";
  std::filesystem::last_write_time(
      path, std::filesystem::last_write_time(path) + std::chrono::seconds(5));
  h.ctx.http_client->clearRequests();
  h.poll();
  const auto requests = h.ctx.http_client->requests();
  ASSERT_FALSE(requests.empty());
  for (const auto& x : requests.front().headers) {
    if (x.name == "Authorization") {
      EXPECT_EQ(x.value, "Bearer ghp_second_token_value");
    }
  }
  EXPECT_FALSE(h.ctx.log.contains("ghp_second_token_value"));
}

std::string rsaKeyPem() {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(size));
  BIO_free(bio);
  EVP_PKEY_free(key);
  return pem;
}

std::string base64urlDecode(std::string in) {
  for (auto& c : in) c = c == '-' ? '+' : c == '_' ? '/' : c;
  while (in.size() % 4) in.push_back('=');
  std::string out(in.size(), '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()),
                                static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(n));
  while (!out.empty() && out.back() == '\0') out.pop_back();
  return out;
}

TEST(Poller, GitHubAppTokensAreMintedWithAValidJwtAndRefreshedBeforeExpiry) {
  const std::string key = tempFile("app.pem", rsaKeyPem());
  PollerHarness h("  app: {id: \"4242\", installation_id: \"99\", private_key_file: " + key +
                  "}\n");
  int exchanges = 0;
  std::string jwt;
  h.github.override_ = [&](const HttpClientRequest& rq) -> std::optional<HttpClientResponse> {
    if (rq.url != "https://api.github.test/app/installations/99/access_tokens") {
      return std::nullopt;
    }
    EXPECT_EQ(rq.method, "POST");
    for (const auto& x : rq.headers) {
      if (x.name == "Authorization") jwt = x.value.substr(7);
    }
    ++exchanges;
    const auto expires = h.ctx.manual_clock.now() + std::chrono::hours(1);
    const auto us =
        std::chrono::duration_cast<std::chrono::microseconds>(expires.time_since_epoch()).count();
    return answer(201, R"({"token":"ghs_installation_)" + std::to_string(exchanges) +
                           R"(","expires_at":")" + formatTimestamp(us) + R"("})");
  };
  h.poll();
  EXPECT_EQ(exchanges, 1);
  const auto now_s =
      std::chrono::duration_cast<std::chrono::seconds>(h.ctx.manual_clock.now().time_since_epoch())
          .count();
  const auto dot = jwt.find('.');
  const std::string payload = base64urlDecode(jwt.substr(dot + 1, jwt.rfind('.') - dot - 1));
  EXPECT_NE(payload.find("\"iat\":" + std::to_string(now_s - 60)), std::string::npos) << payload;
  EXPECT_NE(payload.find("\"exp\":" + std::to_string(now_s + 540)), std::string::npos);
  EXPECT_NE(payload.find("\"iss\":\"4242\""), std::string::npos);
  EXPECT_EQ(base64urlDecode(jwt.substr(0, dot)), R"({"alg":"RS256","typ":"JWT"})");
  h.advance(std::chrono::minutes(54));
  h.poll();
  EXPECT_EQ(exchanges, 1);  // 6 minutes left: still good
  h.advance(std::chrono::minutes(1));
  h.poll();
  EXPECT_EQ(exchanges, 2);  // 5 minutes left: refreshed
  bool used_new = false;
  for (const auto& rq : h.ctx.http_client->requests()) {
    for (const auto& x : rq.headers) {
      if (x.name == "Authorization" && x.value == "Bearer ghs_installation_2") used_new = true;
    }
  }
  EXPECT_TRUE(used_new);
  EXPECT_FALSE(h.ctx.log.contains("ghs_installation_"));
}

}  // namespace
}  // namespace appliance::plugins::runner_scaler
