#include "scaleset/actions_client.h"

#include <Poco/Crypto/RSAKey.h>
#include <Poco/Exception.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JWT/Signer.h>
#include <Poco/JWT/Token.h>
#include <Poco/Timestamp.h>

#include <algorithm>
#include <cctype>
#include <sstream>

namespace appliance::plugins::runner_scaler::scaleset {
namespace {

constexpr const char* kApiVersion = "api-version=6.0-preview";

bool retryableStatus(int status) { return status == 429 || (status >= 500 && status != 501); }

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// Seconds from Retry-After (delta-seconds only; an HTTP date falls back to the backoff).
std::optional<std::chrono::seconds> retryAfter(const HttpClientResponse& r) {
  auto v = r.header("Retry-After");
  if (!v || v->empty() || !std::all_of(v->begin(), v->end(), ::isdigit)) return std::nullopt;
  return std::chrono::seconds(std::stoll(std::string(*v)));
}

// The string field `key` of a JSON object body (BOM stripped), "" when absent or unparsable.
std::string jsonField(std::string_view body, const std::string& key) {
  try {
    Poco::JSON::Parser parser;
    auto v = parser.parse(std::string(stripBom(body)));
    auto o = v.extract<Poco::JSON::Object::Ptr>();
    return o->has(key) ? o->getValue<std::string>(key) : std::string();
  } catch (const Poco::Exception&) {
    return {};
  } catch (const std::exception&) {
    return {};
  }
}

std::string urlWithoutQuery(const std::string& url) { return url.substr(0, url.find('?')); }

}  // namespace

bool RealSleeper::sleepFor(std::chrono::milliseconds d) {
  std::unique_lock lock(mutex_);
  cv_.wait_for(lock, d, [&] { return interrupted_; });
  return !interrupted_;
}

void RealSleeper::interrupt() {
  {
    std::lock_guard lock(mutex_);
    interrupted_ = true;
  }
  cv_.notify_all();
}

bool RealSleeper::interrupted() const {
  std::lock_guard lock(mutex_);
  return interrupted_;
}

std::string withApiVersion(std::string url) {
  if (contains(url, "api-version=")) return url;
  url += (url.find('?') == std::string::npos) ? '?' : '&';
  return url + kApiVersion;
}

Status validate(const ActionsClientOptions& o) {
  auto url = parseConfigUrl(o.config_url);
  if (!url) return url.status();
  bool app = !o.auth.app_client_id.empty() || o.auth.app_installation_id != 0 ||
             !o.auth.app_private_key_pem.empty();
  if (app == !o.auth.pat.empty()) {
    return Status::invalid(
        "scale_set auth: set either a token (PAT or installation token) or app_client_id, "
        "app_installation_id and app_private_key, not both and not neither");
  }
  if (app) {
    if (o.auth.app_client_id.empty() || o.auth.app_installation_id <= 0 ||
        o.auth.app_private_key_pem.empty()) {
      return Status::invalid(
          "scale_set auth: a GitHub App needs app_client_id, app_installation_id > 0 and "
          "app_private_key (PEM)");
    }
    try {
      std::istringstream key(o.auth.app_private_key_pem);
      Poco::Crypto::RSAKey rsa(static_cast<std::istream*>(nullptr), &key);
    } catch (const Poco::Exception& e) {
      return Status::invalid("scale_set auth: app_private_key is not a PEM RSA private key (" +
                             std::string(e.className()) + ")");
    }
  }
  return Status::ok();
}

ActionsClient::ActionsClient(ActionsClientOptions options, std::shared_ptr<HttpClient> api,
                             std::shared_ptr<HttpClient> poll, const Clock& clock, Sleeper& sleeper,
                             const Logger& logger)
    : options_(std::move(options)),
      api_(std::move(api)),
      poll_(std::move(poll)),
      clock_(clock),
      sleeper_(sleeper),
      logger_(logger) {
  auto url = parseConfigUrl(options_.config_url);
  if (url) config_url_ = url.value();  // validate() reports a bad one before construction
  api_base_ = options_.api_base.empty() ? apiBaseFor(config_url_) : options_.api_base;
  while (!api_base_.empty() && api_base_.back() == '/') api_base_.pop_back();
}

Result<HttpClientResponse> ActionsClient::sendWithRetry(HttpClient& client,
                                                        const HttpClientRequest& request) {
  std::chrono::seconds backoff{1};
  for (int attempt = 0;; ++attempt) {
    auto r = client.send(request);
    std::optional<std::chrono::seconds> wait;
    if (!r) {
      if (sleeper_.interrupted() || contains(r.status().message(), "shut down")) return r;
      if (r.status().code() == StatusCode::kInvalidArgument) return r;
    } else if (!retryableStatus(r.value().status)) {
      return r;
    } else {
      wait = retryAfter(r.value());
    }
    if (attempt >= options_.max_retries) {
      if (!r)
        return Status(r.status().code(), r.status().message() + " (giving up after " +
                                             std::to_string(attempt + 1) + " attempts)");
      return r;
    }
    auto delay = std::min(wait.value_or(backoff), std::chrono::seconds(30));
    logger_.warn("actions service call failed; retrying",
                 {{"endpoint", request.endpoint},
                  {"status", r ? std::to_string(r.value().status) : r.status().message()},
                  {"retry_in_s", static_cast<std::int64_t>(delay.count())}});
    if (!sleeper_.sleepFor(delay)) return Status::unavailable("scale-set client stopped");
    backoff = std::min(backoff * 2, std::chrono::seconds(30));
  }
}

std::vector<HttpHeader> ActionsClient::serviceHeaders(const std::string& bearer) const {
  std::string ua = R"({"system":"appliance-runner-scaler","version":")" + options_.version +
                   R"(","subsystem":"scaleset","kind":"scaleset"})";
  return {{"Authorization", "Bearer " + bearer},
          {"Content-Type", "application/json"},
          {"User-Agent", ua}};
}

Status ActionsClient::errorFrom(const HttpClientRequest& request,
                                const HttpClientResponse& response) const {
  ServiceError e = parseServiceError(response.body);
  std::string msg = request.method + " " + urlWithoutQuery(request.url) + ": HTTP " +
                    std::to_string(response.status);
  if (!e.type_name.empty()) msg += " " + e.type_name;
  if (!e.message.empty()) msg += ": " + e.message;
  if (auto id = response.header("X-GitHub-Request-Id"))
    msg += " [request " + std::string(*id) + "]";
  if (auto id = response.header("ActivityId")) msg += " [activity " + std::string(*id) + "]";
  switch (response.status) {
    case 404:
      return Status::notFound(msg);
    case 409:
      return Status::conflict(msg);
    case 400:
    case 422:
      return Status::invalid(msg);
    default:
      return retryableStatus(response.status) ? Status::unavailable(msg)
                                              : Status::failedPrecondition(msg);
  }
}

Result<std::string> ActionsClient::installationToken() {
  const auto& a = options_.auth;
  std::string jwt;
  try {
    std::istringstream pem(a.app_private_key_pem);
    Poco::SharedPtr<Poco::Crypto::RSAKey> key(
        new Poco::Crypto::RSAKey(static_cast<std::istream*>(nullptr), &pem));
    Poco::JWT::Token token;
    auto now = std::chrono::duration_cast<std::chrono::seconds>(clock_.now().time_since_epoch());
    auto iat = now - std::chrono::seconds(60);  // clock drift allowance (§1)
    token.setIssuer(a.app_client_id);
    token.setIssuedAt(Poco::Timestamp::fromEpochTime(iat.count()));
    token.setExpiration(Poco::Timestamp::fromEpochTime((iat + std::chrono::minutes(9)).count()));
    Poco::JWT::Signer signer(key);
    jwt = signer.sign(token, Poco::JWT::Signer::ALGO_RS256);
  } catch (const Poco::Exception& e) {
    return Status::invalid("GitHub App JWT: cannot sign with app_private_key (" +
                           std::string(e.className()) + ")");
  }
  HttpClientRequest req;
  req.method = "POST";
  req.url =
      api_base_ + "/app/installations/" + std::to_string(a.app_installation_id) + "/access_tokens";
  req.endpoint = "/app/installations/{id}/access_tokens";
  req.timeout = options_.call_timeout;
  req.headers = {{"Authorization", "Bearer " + jwt},
                 {"Accept", "application/vnd.github+json"},
                 {"Content-Type", "application/vnd.github+json"}};
  auto r = sendWithRetry(*api_, req);
  if (!r) return r.status();
  if (r.value().status != 201) return errorFrom(req, r.value());
  std::string token = jsonField(r.value().body, "token");
  if (token.empty()) return Status::invalid("installation access token: no token in the answer");
  return token;
}

Result<ActionsClient::Admin> ActionsClient::exchangeTokens() {
  std::string credential = options_.auth.pat;
  if (credential.empty()) {
    auto installation = installationToken();
    if (!installation) return installation.status();
    credential = std::move(installation).value();
  }
  HttpClientRequest reg;
  reg.method = "POST";
  reg.url = api_base_ + registrationTokenPath(config_url_);
  reg.endpoint = "/{scope}/actions/runners/registration-token";
  reg.timeout = options_.call_timeout;
  reg.headers = {{"Authorization", "Bearer " + credential},
                 {"Accept", "application/vnd.github+json"},
                 {"Content-Type", "application/vnd.github.v3+json"}};
  auto r = sendWithRetry(*api_, reg);
  if (!r) return r.status();
  if (r.value().status != 201) return errorFrom(reg, r.value());
  std::string registration = jsonField(r.value().body, "token");
  if (registration.empty()) return Status::invalid("registration token: no token in the answer");

  Poco::JSON::Object body;
  body.set("url", config_url_.url);
  body.set("runner_event", "register");
  std::ostringstream out;
  body.stringify(out);
  HttpClientRequest conn;
  conn.method = "POST";
  conn.url = api_base_ + "/actions/runner-registration";
  conn.endpoint = "/actions/runner-registration";
  conn.timeout = options_.call_timeout;
  conn.body = out.str();
  conn.headers = {{"Authorization", "RemoteAuth " + registration},
                  {"Content-Type", "application/json"}};
  // 401/403 here are retried too: a fresh registration token can take a moment (§7).
  for (int attempt = 0;; ++attempt) {
    auto c = sendWithRetry(*api_, conn);
    if (!c) return c.status();
    int s = c.value().status;
    if (s >= 200 && s < 300) {
      Admin admin;
      admin.url = jsonField(c.value().body, "url");
      admin.token = jsonField(c.value().body, "token");
      if (admin.url.empty() || admin.token.empty()) {
        return Status::invalid("runner-registration: the answer lacks url or token");
      }
      if (admin.url.back() != '/') admin.url.push_back('/');
      auto now = clock_.now();
      auto exp = jwtExpiry(admin.token);
      auto expires = exp ? std::chrono::system_clock::time_point(std::chrono::seconds(*exp))
                         : now + std::chrono::minutes(50);
      admin.refresh_at = expires - options_.refresh_before;
      token_exchanges_++;
      logger_.info(
          "scale-set admin connection established",
          {{"service", urlWithoutQuery(admin.url)},
           {"expires_in_s",
            static_cast<std::int64_t>(
                std::chrono::duration_cast<std::chrono::seconds>(expires - now).count())}});
      return admin;
    }
    if ((s != 401 && s != 403) || attempt >= options_.max_retries)
      return errorFrom(conn, c.value());
    if (!sleeper_.sleepFor(std::chrono::milliseconds(500) * (1 << attempt))) {
      return Status::unavailable("scale-set client stopped");
    }
  }
}

Result<ActionsClient::Admin> ActionsClient::adminConnection(bool force) {
  std::lock_guard lock(admin_mutex_);
  if (!force && admin_ && clock_.now() < admin_->refresh_at) return *admin_;
  auto fresh = exchangeTokens();
  if (!fresh) return fresh.status();
  admin_ = fresh.value();
  return fresh;
}

Status ActionsClient::ensureConnected() {
  auto a = adminConnection(false);
  return a ? Status::ok() : a.status();
}

Result<HttpClientResponse> ActionsClient::adminCall(const std::string& method,
                                                    const std::string& path,
                                                    const std::string& body,
                                                    const std::string& endpoint) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto admin = adminConnection(attempt > 0);
    if (!admin) return admin.status();
    HttpClientRequest req;
    req.method = method;
    req.url = withApiVersion(admin.value().url + path);
    req.endpoint = endpoint;
    req.timeout = options_.call_timeout;
    req.body = body;
    req.headers = serviceHeaders(admin.value().token);
    auto r = sendWithRetry(*api_, req);
    if (!r || r.value().status != 401 || attempt > 0) return r;
    logger_.info("admin token rejected (401); exchanging tokens again", {{"endpoint", endpoint}});
  }
  return Status::internal("unreachable");
}

Result<RunnerGroup> ActionsClient::runnerGroupByName(const std::string& name) {
  if (name.empty() || name == "default" || name == "Default") return RunnerGroup{1, "Default"};
  std::string path = "_apis/runtime/runnergroups/?groupName=" + percentEncode(name);
  auto r = adminCall("GET", path, "", "/_apis/runtime/runnergroups");
  if (!r) return r.status();
  if (r.value().status != 200)
    return Status::notFound("runner group '" + name + "': HTTP " +
                            std::to_string(r.value().status));
  return parseRunnerGroupList(r.value().body, name);
}

Result<ScaleSet> ActionsClient::createOrAdoptScaleSet(const ScaleSet& wanted) {
  std::string path =
      "_apis/runtime/runnerscalesets?runnerGroupId=" + std::to_string(wanted.runner_group_id) +
      "&name=" + percentEncode(wanted.name);
  auto found = adminCall("GET", path, "", "/_apis/runtime/runnerscalesets");
  if (!found) return found.status();
  if (found.value().status != 200) {
    HttpClientRequest req{"GET", path, {}, {}, {}, {}};
    return errorFrom(req, found.value());
  }
  auto existing = parseScaleSetList(found.value().body, wanted.name);
  if (!existing) return existing.status();
  if (existing.value()) {
    ScaleSet set = *existing.value();
    auto sorted = [](std::vector<std::string> v) {
      std::sort(v.begin(), v.end());
      return v;
    };
    if (!wanted.labels.empty() && sorted(set.labels) != sorted(wanted.labels)) {
      logger_.warn("adopted scale set has other labels than configured; keeping the service's",
                   {{"scale_set", set.name}, {"scale_set_id", set.id}});
    }
    logger_.info("adopted scale set", {{"scale_set", set.name}, {"scale_set_id", set.id}});
    return set;
  }
  auto created = adminCall("POST", "_apis/runtime/runnerscalesets", scaleSetBody(wanted),
                           "/_apis/runtime/runnerscalesets");
  if (!created) return created.status();
  if (created.value().status != 200 && created.value().status != 201) {
    HttpClientRequest req{"POST", "_apis/runtime/runnerscalesets", {}, {}, {}, {}};
    return errorFrom(req, created.value());
  }
  auto set = parseScaleSet(created.value().body);
  if (set) logger_.info("created scale set", {{"scale_set", set->name}, {"scale_set_id", set->id}});
  return set;
}

Status ActionsClient::deleteScaleSet(std::int64_t id) {
  std::string path = "_apis/runtime/runnerscalesets/" + std::to_string(id);
  auto r = adminCall("DELETE", path, "", "/_apis/runtime/runnerscalesets/{id}");
  if (!r) return r.status();
  if (r.value().status == 204 || r.value().status == 200) return Status::ok();
  return errorFrom({"DELETE", path, {}, {}, {}, {}}, r.value());
}

Result<Session> ActionsClient::createSession(std::int64_t id, const std::string& owner) {
  std::string path = "_apis/runtime/runnerscalesets/" + std::to_string(id) + "/sessions";
  auto r =
      adminCall("POST", path, sessionBody(owner), "/_apis/runtime/runnerscalesets/{id}/sessions");
  if (!r) return r.status();
  if (r.value().status == 200 || r.value().status == 201) return parseSession(r.value().body);
  ServiceError e = parseServiceError(r.value().body);
  if (r.value().status == 409 && contains(e.type_name, "SessionConflict")) {
    return Status::conflict("session conflict: scale set " + std::to_string(id) +
                            " already has an active session (" + e.message + ")");
  }
  return errorFrom({"POST", path, {}, {}, {}, {}}, r.value());
}

Result<Session> ActionsClient::refreshSession(std::int64_t id, const std::string& session_id) {
  std::string path =
      "_apis/runtime/runnerscalesets/" + std::to_string(id) + "/sessions/" + session_id;
  auto r = adminCall("PATCH", path, "", "/_apis/runtime/runnerscalesets/{id}/sessions/{session}");
  if (!r) return r.status();
  if (r.value().status == 200) return parseSession(r.value().body);
  return errorFrom({"PATCH", path, {}, {}, {}, {}}, r.value());
}

Status ActionsClient::deleteSession(std::int64_t id, const std::string& session_id) {
  std::string path =
      "_apis/runtime/runnerscalesets/" + std::to_string(id) + "/sessions/" + session_id;
  auto r = adminCall("DELETE", path, "", "/_apis/runtime/runnerscalesets/{id}/sessions/{session}");
  if (!r) return r.status();
  if (r.value().status == 204 || r.value().status == 200 || r.value().status == 404) {
    return Status::ok();
  }
  return errorFrom({"DELETE", path, {}, {}, {}, {}}, r.value());
}

Result<HttpClientResponse> ActionsClient::queueCall(Session& session, std::int64_t id,
                                                    HttpClientRequest request) {
  bool is_poll = request.method == "GET";
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto headers = serviceHeaders(session.message_queue_access_token);
    headers.insert(headers.end(), request.headers.begin(), request.headers.end());
    HttpClientRequest req = request;
    req.headers = std::move(headers);
    auto r = sendWithRetry(is_poll ? *poll_ : *api_, req);
    if (!r || r.value().status != 401 || attempt > 0) return r;
    logger_.info("message queue token rejected (401); refreshing the session",
                 {{"scale_set_id", id}, {"endpoint", request.endpoint}});
    auto fresh = refreshSession(id, session.session_id);
    if (!fresh) return fresh.status();
    session = std::move(fresh).value();
  }
  return Status::internal("unreachable");
}

Result<std::optional<QueueMessage>> ActionsClient::getMessage(Session& session, std::int64_t id,
                                                              std::int64_t last_message_id,
                                                              std::int64_t max_capacity) {
  HttpClientRequest req;
  // The queue URL already carries sessionId and api-version; use it as given ([SS]).
  req.url = session.message_queue_url;
  if (last_message_id > 0) {
    req.url += (req.url.find('?') == std::string::npos ? "?" : "&");
    req.url += "lastMessageId=" + std::to_string(last_message_id);
  }
  req.endpoint = "{messageQueueUrl}";
  req.timeout = options_.poll_timeout;
  req.headers = {
      {"Accept", "application/json; api-version=6.0-preview"},
      {"X-ScaleSetMaxCapacity", std::to_string(std::max<std::int64_t>(0, max_capacity))}};
  auto r = queueCall(session, id, std::move(req));
  if (!r) return r.status();
  const auto& resp = r.value();
  if (resp.status == 202) return std::optional<QueueMessage>{};
  if (resp.status == 200) {
    if (stripBom(resp.body).empty()) {
      return Status::unavailable("message queue answered 200 with an empty body; polling again");
    }
    auto m = parseQueueMessage(resp.body);
    if (!m) return m.status();
    return std::optional<QueueMessage>{std::move(m).value()};
  }
  return errorFrom({"GET", session.message_queue_url, {}, {}, {}, {}}, resp);
}

Status ActionsClient::deleteMessage(Session& session, std::int64_t id, std::int64_t message_id) {
  const std::string& q = session.message_queue_url;
  auto qpos = q.find('?');
  HttpClientRequest req;
  req.method = "DELETE";
  req.url = q.substr(0, qpos) + "/" + std::to_string(message_id) +
            (qpos == std::string::npos ? "" : q.substr(qpos));
  req.endpoint = "{messageQueueUrl}/{messageId}";
  req.timeout = options_.call_timeout;
  auto r = queueCall(session, id, req);
  if (!r) return r.status();
  if (r.value().status == 204 || r.value().status == 200) return Status::ok();
  return errorFrom(req, r.value());
}

Result<std::vector<std::int64_t>> ActionsClient::acquireJobs(
    Session& session, std::int64_t id, const std::vector<std::int64_t>& request_ids) {
  auto admin = adminConnection(false);
  if (!admin) return admin.status();
  HttpClientRequest req;
  req.method = "POST";
  req.url = withApiVersion(admin.value().url + "_apis/runtime/runnerscalesets/" +
                           std::to_string(id) + "/acquirejobs");
  req.endpoint = "/_apis/runtime/runnerscalesets/{id}/acquirejobs";
  req.timeout = options_.call_timeout;
  req.body = acquireJobsBody(request_ids);
  auto r = queueCall(session, id, req);  // the queue token, not the admin token (§4)
  if (!r) return r.status();
  if (r.value().status != 200) return errorFrom(req, r.value());
  return parseAcquiredJobs(r.value().body);
}

Result<JitConfig> ActionsClient::generateJitConfig(std::int64_t id, const std::string& name,
                                                   const std::string& work_folder) {
  std::string path = "_apis/runtime/runnerscalesets/" + std::to_string(id) + "/generatejitconfig";
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto r = adminCall("POST", path, jitConfigBody(name, work_folder),
                       "/_apis/runtime/runnerscalesets/{id}/generatejitconfig");
    if (!r) return r.status();
    if (r.value().status == 200 || r.value().status == 201) return parseJitConfig(r.value().body);
    ServiceError e = parseServiceError(r.value().body);
    if (!contains(e.type_name, "AgentExistsException") || attempt > 0) {
      return errorFrom({"POST", path, {}, {}, {}, {}}, r.value());
    }
    auto existing = runnerByName(name);
    if (!existing) return existing.status();
    if (!existing.value() || existing.value()->runner_scale_set_id != id) {
      return Status::conflict("runner name '" + name + "' is taken by a runner outside scale set " +
                              std::to_string(id) + "; pick another name");
    }
    logger_.info("runner name already registered in this scale set; removing the stale record",
                 {{"runner", name}, {"runner_id", existing.value()->id}});
    if (Status removed = removeRunner(existing.value()->id); !removed) return removed;
  }
  return Status::internal("unreachable");
}

Result<std::optional<RunnerRecord>> ActionsClient::runnerByName(const std::string& name) {
  std::string path = "_apis/distributedtask/pools/0/agents?agentName=" + percentEncode(name);
  auto r = adminCall("GET", path, "", "/_apis/distributedtask/pools/0/agents");
  if (!r) return r.status();
  if (r.value().status != 200) return errorFrom({"GET", path, {}, {}, {}, {}}, r.value());
  return parseRunnerList(r.value().body);
}

Status ActionsClient::removeRunner(std::int64_t runner_id) {
  std::string path = "_apis/distributedtask/pools/0/agents/" + std::to_string(runner_id);
  auto r = adminCall("DELETE", path, "", "/_apis/distributedtask/pools/0/agents/{id}");
  if (!r) return r.status();
  int s = r.value().status;
  if (s == 204 || s == 200) return Status::ok();
  ServiceError e = parseServiceError(r.value().body);
  if (s == 404 || contains(e.type_name, "AgentNotFoundException")) return Status::ok();
  if (contains(e.type_name, "JobStillRunningException")) {
    return Status::conflict("runner " + std::to_string(runner_id) +
                            " is busy (JobStillRunningException); keep it and try later");
  }
  return errorFrom({"DELETE", path, {}, {}, {}, {}}, r.value());
}

}  // namespace appliance::plugins::runner_scaler::scaleset
