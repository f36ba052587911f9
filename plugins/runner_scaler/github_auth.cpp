#include "github_auth.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cctype>
#include <fstream>
#include <iterator>

#include "appliance/time.h"
#include "github_json.h"

namespace appliance::plugins::runner_scaler {
namespace {

constexpr auto kTokenRefreshMargin = std::chrono::minutes(5);

std::string base64url(std::string_view in) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    for (int s : {18, 12, 6, 0}) out.push_back(kAlphabet[(v >> s) & 63]);
  }
  if (i + 1 == in.size()) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16;
    for (int s : {18, 12}) out.push_back(kAlphabet[(v >> s) & 63]);
  } else if (i + 2 == in.size()) {
    const unsigned v =
        (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    for (int s : {18, 12, 6}) out.push_back(kAlphabet[(v >> s) & 63]);
  }
  return out;
}

bool readFile(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  while (!out.empty() && std::isspace(static_cast<unsigned char>(out.back()))) out.pop_back();
  return !out.empty();
}

TimePoint fromMicros(std::int64_t us) { return TimePoint{std::chrono::microseconds{us}}; }

}  // namespace

Result<std::string> makeAppJwt(const std::string& app_id, const std::string& pem,
                               std::chrono::sys_seconds now) {
  const auto t = now.time_since_epoch().count();
  const std::string header = base64url(R"({"alg":"RS256","typ":"JWT"})");
  const std::string payload =
      base64url("{\"iat\":" + std::to_string(t - 60) + ",\"exp\":" + std::to_string(t + 540) +
                ",\"iss\":\"" + app_id + "\"}");
  const std::string input = header + "." + payload;
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = bio ? PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr) : nullptr;
  BIO_free(bio);
  if (!key) return Status::invalid("the GitHub App private key is not a readable PEM key");
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::size_t size = 0;
  std::string sig;
  bool ok = ctx && EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
            EVP_DigestSign(ctx, nullptr, &size,
                           reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  if (ok) {
    sig.resize(size);
    ok = EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &size,
                        reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
    sig.resize(size);
  }
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  if (!ok) return Status::internal("cannot sign the GitHub App JWT (is the key RSA?)");
  return input + "." + base64url(sig);
}

GitHubCredentials::GitHubCredentials(GitHubConfig config, std::shared_ptr<HttpClient> client,
                                     std::shared_ptr<ScalerMetrics> metrics, const Logger& logger,
                                     const Clock& clock)
    : config_(std::move(config)),
      client_(std::move(client)),
      metrics_(std::move(metrics)),
      logger_(logger),
      clock_(clock) {
  reload();
}

void GitHubCredentials::reload() {
  std::lock_guard lock(cred_mutex_);
  if (!config_.token_file.empty()) {
    std::error_code ec;
    const auto mtime = std::filesystem::last_write_time(config_.token_file, ec);
    std::string token;
    if (!ec && mtime == pat_mtime_ && !pat_.empty()) return;
    if (readFile(config_.token_file, token)) {
      if (!pat_.empty() && token != pat_)
        logger_.info("GitHub token file changed; using the new token");
      pat_ = std::move(token);
      pat_mtime_ = mtime;
    } else {
      logger_.warn("cannot read the GitHub token file; keeping the previous token",
                   {{"file", config_.token_file}});
    }
  }
  if (config_.app) {
    std::string pem;
    if (readFile(config_.app->private_key_file, pem)) app_key_pem_ = std::move(pem);
  }
}

void GitHubCredentials::invalidate() {
  std::lock_guard lock(token_mutex_);
  installation_token_.clear();
}

std::optional<std::int64_t> GitHubCredentials::expiresAtUs() const {
  std::lock_guard lock(token_mutex_);
  if (installation_token_.empty()) return std::nullopt;
  return installation_expires_us_;
}

Status GitHubCredentials::refreshInstallationToken(TimePoint now) {
  std::string pem;
  {
    std::lock_guard lock(cred_mutex_);
    pem = app_key_pem_;
  }
  auto jwt = makeAppJwt(config_.app->id, pem, std::chrono::floor<std::chrono::seconds>(now));
  if (!jwt.isOk()) return jwt.status();
  HttpClientRequest rq;
  rq.method = "POST";
  rq.url =
      config_.api_url + "/app/installations/" + config_.app->installation_id + "/access_tokens";
  rq.endpoint = "/app/installations/{id}/access_tokens";
  rq.headers = {{"Accept", "application/vnd.github+json"},
                {"X-GitHub-Api-Version", "2022-11-28"},
                {"Authorization", "Bearer " + *jwt}};
  auto r = client_->send(rq);
  if (metrics_) metrics_->githubRequest(rq.endpoint, r.isOk() ? r->status : 0);
  if (!r.isOk()) return r.status();
  if (r->status != 201 && r->status != 200) {
    return Status::unavailable("POST " + rq.endpoint + " answered " + std::to_string(r->status));
  }
  auto token = parseInstallationToken(r->body);
  if (!token.isOk()) return token.status();
  installation_token_ = token->token;
  installation_expires_us_ = token->expires_at_us;
  logger_.info("GitHub App installation token refreshed",
               {{"expires_at", formatTimestamp(token->expires_at_us)}});
  return Status::ok();
}

Result<std::string> GitHubCredentials::authorization() {
  if (!config_.app) {
    std::lock_guard lock(cred_mutex_);
    if (pat_.empty()) return Status::failedPrecondition("no GitHub token");
    return "Bearer " + pat_;
  }
  std::lock_guard lock(token_mutex_);
  const TimePoint now = clock_.now();
  if (installation_token_.empty() ||
      now + kTokenRefreshMargin >= fromMicros(installation_expires_us_)) {
    if (Status s = refreshInstallationToken(now); !s.isOk()) return s;
  }
  return "Bearer " + installation_token_;
}

}  // namespace appliance::plugins::runner_scaler
