#include "kube_client.h"

#include <Poco/URI.h>
#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <random>
#include <sstream>

namespace appliance::plugins::runner_scaler::kube {

const ResourceType kPods{"/api/v1", "pods", "Pod", true};
const ResourceType kSecrets{"/api/v1", "secrets", "Secret", true};
const ResourceType kEvents{"/api/v1", "events", "Event", true};
const ResourceType kConfigMaps{"/api/v1", "configmaps", "ConfigMap", true};
const ResourceType kNodes{"/api/v1", "nodes", "Node", false};
const ResourceType kLeases{"/apis/coordination.k8s.io/v1", "leases", "Lease", true};
const ResourceType kDeployments{"/apis/apps/v1", "deployments", "Deployment", true};

std::string ResourceType::apiVersion() const {
  if (api_prefix.starts_with("/api/")) return api_prefix.substr(5);
  return api_prefix.substr(6);  // "/apis/"
}

const char* watchEventTypeName(WatchEventType type) {
  switch (type) {
    case WatchEventType::kAdded:
      return "ADDED";
    case WatchEventType::kModified:
      return "MODIFIED";
    case WatchEventType::kDeleted:
      return "DELETED";
    case WatchEventType::kBookmark:
      return "BOOKMARK";
    case WatchEventType::kError:
      return "ERROR";
  }
  return "?";
}

namespace {

std::string encode(const std::string& text) {
  std::string out;
  Poco::URI::encode(text, "!#$&'()*+,/:;=?@[] ", out);
  return out;
}

void addQuery(std::string& query, const char* key, const std::string& value) {
  if (value.empty()) return;
  query += query.empty() ? "" : "&";
  query += key;
  query += "=";
  query += encode(value);
}

std::string fileStamp(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  return std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" +
         std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
}

bool idempotent(const std::string& method) { return method != "POST"; }

// Seconds from a Retry-After header (the delta form; an HTTP date is left to the backoff).
std::optional<std::chrono::milliseconds> retryAfter(const HttpClientResponse& response) {
  auto value = response.header("Retry-After");
  if (!value) return std::nullopt;
  long long seconds = 0;
  auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), seconds);
  if (ec != std::errc() || end != value->data() + value->size() || seconds < 0) {
    return std::nullopt;
  }
  return std::chrono::milliseconds(seconds * 1000);
}

bool retryable(const std::string& method, const HttpClientResponse& response) {
  const int s = response.status;
  if (s == 429) return true;
  if (s < 500) return false;
  if (idempotent(method)) return true;
  return s == 503 || response.header("Retry-After").has_value();
}

// A shallow copy of `object` with apiVersion and kind filled in when it lacks them.
Object withTypeMeta(const ResourceType& type, const Object& object) {
  Object body(new Poco::JSON::Object(*object));
  if (!body->has("apiVersion")) body->set("apiVersion", type.apiVersion());
  if (!body->has("kind")) body->set("kind", type.kind);
  return body;
}

const char* propagationName(Propagation p) {
  switch (p) {
    case Propagation::kBackground:
      return "Background";
    case Propagation::kForeground:
      return "Foreground";
    case Propagation::kOrphan:
      return "Orphan";
    case Propagation::kDefault:
      break;
  }
  return "";
}

}  // namespace

KubeClient::KubeClient(KubeAccess access, HttpClientFactory factory, KubeClientOptions options,
                       const Logger& logger)
    : access_(std::move(access)),
      factory_(std::move(factory)),
      options_(std::move(options)),
      logger_(logger) {}

KubeClient::~KubeClient() { shutdown(); }

Result<std::shared_ptr<KubeClient>> KubeClient::create(KubeAccess access, HttpClientFactory factory,
                                                       KubeClientOptions options,
                                                       const Logger& logger) {
  if (!factory) return Status::invalid("kubernetes: no HTTP client factory");
  if (access.server.empty()) return Status::invalid("kubernetes: no API server address");
  if (options.max_attempts < 1) options.max_attempts = 1;
  std::shared_ptr<KubeClient> client(
      new KubeClient(std::move(access), std::move(factory), std::move(options), logger));
  HttpClientOptions http;
  http.name = client->options_.client_name;
  http.connect_timeout = client->options_.connect_timeout;
  http.timeout = client->options_.request_timeout;
  http.ca_file = client->access_.ca_file;
  http.verify_tls = client->access_.verify_tls;
  http.client_cert_file = client->access_.client_cert_file;
  http.client_key_file = client->access_.client_key_file;
  auto made = client->factory_(http);
  if (!made) return Status(made.status().code(), "kubernetes: " + made.status().message());
  client->http_ = made.value();
  if (!client->access_.token_file.empty()) client->token();  // fail early on a missing file
  return client;
}

std::string KubeClient::path(const ResourceType& type, const std::string& ns,
                             const std::string& name, const std::string& subresource) {
  std::string out = type.api_prefix;
  if (type.namespaced && !ns.empty()) out += "/namespaces/" + encode(ns);
  out += "/" + type.plural;
  if (!name.empty()) out += "/" + encode(name);
  if (!subresource.empty()) out += "/" + subresource;
  return out;
}

std::string KubeClient::endpointOf(const ResourceType& type, const std::string& ns, bool named,
                                   const std::string& subresource) const {
  return path(type, type.namespaced && !ns.empty() ? "{namespace}" : "", named ? "{name}" : "",
              subresource);
}

std::string KubeClient::token() {
  std::lock_guard lock(mutex_);
  if (access_.token_file.empty()) return access_.token;
  const std::string stamp = fileStamp(access_.token_file);
  if (stamp != token_stamp_ || token_.empty()) {
    std::ifstream in(access_.token_file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    std::string value = text.str();
    while (!value.empty() &&
           (value.back() == '\n' || value.back() == '\r' || value.back() == ' ')) {
      value.pop_back();
    }
    if (in && !value.empty()) {
      token_ = std::move(value);
      token_stamp_ = stamp;
    }
  }
  return token_;
}

void KubeClient::addAuthorization(HttpClientRequest& request) {
  const std::string bearer = token();
  if (!bearer.empty()) request.headers.push_back({"Authorization", "Bearer " + bearer});
}

bool KubeClient::reloadToken() {
  if (access_.token_file.empty()) return false;
  std::string before;
  {
    std::lock_guard lock(mutex_);
    before = token_;
    token_stamp_.clear();
  }
  return token() != before;
}

bool KubeClient::sleepFor(std::chrono::milliseconds delay) {
  std::unique_lock lock(mutex_);
  return !wake_.wait_for(lock, delay, [this] { return shut_down_; });
}

std::chrono::milliseconds KubeClient::backoff(int attempt) const {
  // Exponential with "equal jitter": half fixed, half random, so replicas spread out.
  thread_local std::mt19937 rng(std::random_device{}());
  auto full = options_.initial_backoff * (1LL << std::min(attempt - 1, 20));
  full = std::min<std::chrono::milliseconds>(full, options_.max_backoff);
  std::uniform_int_distribution<long long> jitter(0, std::max<long long>(full.count() / 2, 0));
  return std::chrono::milliseconds(full.count() - full.count() / 2 + jitter(rng));
}

Result<KubeClient::Answer> KubeClient::execute(HttpClientRequest request,
                                               const std::string& where) {
  bool token_retried = false;
  bool retried = false;
  request.headers.push_back({"Accept", "application/json"});
  const std::vector<HttpHeader> base_headers = request.headers;
  for (int attempt = 1;; ++attempt) {
    if (isShutDown()) return Status::unavailable(where + ": kubernetes client shut down");
    request.headers = base_headers;
    addAuthorization(request);
    auto response = http_->send(request);
    std::chrono::milliseconds wait{0};
    if (!response) {
      const bool may_retry =
          idempotent(request.method) && response.status().code() != StatusCode::kInvalidArgument;
      if (!may_retry || attempt >= options_.max_attempts || isShutDown()) {
        return response.status();
      }
      wait = backoff(attempt);
      logger_.debug("kubernetes: request failed, retrying",
                    {{"request", where},
                     {"error", response.status().message()},
                     {"attempt", attempt},
                     {"wait_ms", static_cast<std::int64_t>(wait.count())}});
    } else if (response->status == 401 && !token_retried && reloadToken()) {
      token_retried = true;  // the token rotated under us: once more with the new one
      --attempt;
      continue;
    } else if (retryable(request.method, response.value()) && attempt < options_.max_attempts) {
      wait = std::min(retryAfter(response.value()).value_or(backoff(attempt)),
                      options_.max_retry_after);
      logger_.debug("kubernetes: retrying after a transient answer",
                    {{"request", where},
                     {"status", response->status},
                     {"attempt", attempt},
                     {"wait_ms", static_cast<std::int64_t>(wait.count())}});
    } else {
      if (response->status >= 200 && response->status < 300) {
        return Answer{response->status, std::move(response->body)};
      }
      return apiError(where, response->status, response->body, retried);
    }
    retried = true;
    if (!sleepFor(wait)) return Status::unavailable(where + ": kubernetes client shut down");
  }
}

Status KubeClient::apiError(const std::string& where, int status, const std::string& body,
                            bool retried) const {
  std::string reason;
  std::string message;
  if (auto parsed = parseObject(body, "status")) {
    reason = stringAt(parsed.value(), {"reason"});
    message = stringAt(parsed.value(), {"message"});
  }
  std::string text = "kubernetes " + where + ": " + std::to_string(status);
  if (!reason.empty()) text += " " + reason;
  if (!message.empty()) text += ": " + message;
  if (status == 409 && retried && where.starts_with("POST")) {
    text += " (after a retry: the earlier attempt may have created it)";
  }
  switch (status) {
    case 400:
    case 415:
    case 422:
      return Status::invalid(text);
    case 401:
      return Status::failedPrecondition(text + " (check the service-account token or kubeconfig)");
    case 403:
      return Status::failedPrecondition(text + " (check the service account's RBAC rules)");
    case 404:
      return Status::notFound(text);
    case 409:
      return Status::conflict(text);
    default:
      break;
  }
  if (status == 429 || status >= 500) return Status::unavailable(text);
  return Status::internal(text);
}

Result<Object> KubeClient::call(const std::string& method, const std::string& path,
                                const std::string& query, const std::string& endpoint,
                                std::string body, std::string content_type) {
  HttpClientRequest request;
  request.method = method;
  request.url = access_.server + path + (query.empty() ? "" : "?" + query);
  request.endpoint = endpoint;
  request.body = std::move(body);
  if (!content_type.empty()) request.headers.push_back({"Content-Type", content_type});
  const std::string where = method + " " + path;
  auto answer = execute(std::move(request), where);
  if (!answer) return answer.status();
  return parseObject(answer->body, "kubernetes " + where + ": response");
}

Result<Object> KubeClient::get(const ResourceType& type, const std::string& ns,
                               const std::string& name, const std::string& subresource) {
  return call("GET", path(type, ns, name, subresource), "",
              endpointOf(type, ns, true, subresource));
}

Result<ObjectList> KubeClient::list(const ResourceType& type, const std::string& ns,
                                    const ListOptions& options) {
  ObjectList out;
  std::string continue_token;
  do {
    std::string query;
    addQuery(query, "labelSelector", options.label_selector);
    addQuery(query, "fieldSelector", options.field_selector);
    addQuery(query, "resourceVersion", options.resource_version);
    if (options.limit > 0) addQuery(query, "limit", std::to_string(options.limit));
    addQuery(query, "continue", continue_token);
    auto page = call("GET", path(type, ns), query, endpointOf(type, ns, false, ""));
    if (!page) return page.status();
    if (Array items = arrayAt(page.value(), {"items"})) {
      for (std::size_t i = 0; i < items->size(); ++i) {
        if (Object item = items->getObject(static_cast<unsigned>(i))) out.items.push_back(item);
      }
    }
    out.resource_version = stringAt(page.value(), {"metadata", "resourceVersion"});
    continue_token = stringAt(page.value(), {"metadata", "continue"});
  } while (!continue_token.empty());
  return out;
}

Result<Object> KubeClient::create(const ResourceType& type, const std::string& ns,
                                  const Object& object) {
  if (object.isNull()) return Status::invalid("kubernetes create " + type.plural + ": no object");
  return call("POST", path(type, ns), "", endpointOf(type, ns, false, ""),
              toJson(withTypeMeta(type, object)), "application/json");
}

Result<Object> KubeClient::replace(const ResourceType& type, const std::string& ns,
                                   const std::string& name, const Object& object,
                                   const std::string& subresource) {
  if (object.isNull()) return Status::invalid("kubernetes replace " + type.plural + ": no object");
  return call("PUT", path(type, ns, name, subresource), "", endpointOf(type, ns, true, subresource),
              toJson(withTypeMeta(type, object)), "application/json");
}

Result<Object> KubeClient::mergePatch(const ResourceType& type, const std::string& ns,
                                      const std::string& name, const Object& patch,
                                      const std::string& subresource) {
  if (patch.isNull()) return Status::invalid("kubernetes patch " + type.plural + ": no patch");
  return call("PATCH", path(type, ns, name, subresource), "",
              endpointOf(type, ns, true, subresource), toJson(patch),
              "application/merge-patch+json");
}

Result<Object> KubeClient::remove(const ResourceType& type, const std::string& ns,
                                  const std::string& name, const DeleteOptions& options) {
  Object body(new Poco::JSON::Object);
  body->set("kind", "DeleteOptions");
  body->set("apiVersion", "v1");
  if (options.propagation != Propagation::kDefault) {
    body->set("propagationPolicy", propagationName(options.propagation));
  }
  if (!options.uid.empty() || !options.resource_version.empty()) {
    Object pre(new Poco::JSON::Object);
    if (!options.uid.empty()) pre->set("uid", options.uid);
    if (!options.resource_version.empty()) pre->set("resourceVersion", options.resource_version);
    body->set("preconditions", pre);
  }
  return call("DELETE", path(type, ns, name), "", endpointOf(type, ns, true, ""), toJson(body),
              "application/json");
}

Result<std::shared_ptr<HttpClient>> KubeClient::watchChannel() {
  HttpClientOptions http;
  http.name = options_.client_name;
  http.connect_timeout = options_.connect_timeout;
  http.timeout = options_.watch_idle_timeout;
  http.ca_file = access_.ca_file;
  http.verify_tls = access_.verify_tls;
  http.client_cert_file = access_.client_cert_file;
  http.client_key_file = access_.client_key_file;
  auto made = factory_(http);
  if (!made) return made.status();
  std::lock_guard lock(mutex_);
  if (shut_down_) {
    made.value()->shutdown();
    return Status::unavailable("kubernetes client shut down");
  }
  watch_channels_.push_back(made.value());
  return made.value();
}

void KubeClient::releaseWatchChannel(const std::shared_ptr<HttpClient>& channel) {
  std::lock_guard lock(mutex_);
  std::erase(watch_channels_, channel);
}

void KubeClient::shutdown() {
  std::vector<std::shared_ptr<HttpClient>> channels;
  std::shared_ptr<HttpClient> http;
  {
    std::lock_guard lock(mutex_);
    if (shut_down_) return;
    shut_down_ = true;
    channels.swap(watch_channels_);
    http = http_;
  }
  wake_.notify_all();
  if (http) http->shutdown();
  for (auto& channel : channels) channel->shutdown();
}

bool KubeClient::isShutDown() const {
  std::lock_guard lock(mutex_);
  return shut_down_;
}

}  // namespace appliance::plugins::runner_scaler::kube
