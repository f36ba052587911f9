#include "rest_runner_registrar.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <sstream>

#include "github_poller.h"  // nextLink

namespace appliance::plugins::runner_scaler {
namespace {

Poco::JSON::Object::Ptr parse(std::string_view body) {
  try {
    Poco::JSON::Parser parser;
    auto v = parser.parse(std::string(body));
    return v.extract<Poco::JSON::Object::Ptr>();
  } catch (const std::exception&) {
    return nullptr;
  }
}

// GitHub's error `message` (never the rest of the body).
std::string githubMessage(const std::string& body) {
  auto o = parse(body);
  if (!o || !o->has("message")) return "";
  try {
    std::string m = o->getValue<std::string>("message");
    if (m.size() > 200) m.resize(200);
    return ": " + m;
  } catch (const std::exception&) {
    return "";
  }
}

std::int64_t intOf(const Poco::JSON::Object::Ptr& o, const std::string& key) {
  try {
    return o && o->has(key) ? o->getValue<std::int64_t>(key) : 0;
  } catch (const std::exception&) {
    return 0;
  }
}

std::string stringOf(const Poco::JSON::Object::Ptr& o, const std::string& key) {
  try {
    return o && o->has(key) && o->get(key).isString() ? o->getValue<std::string>(key) : "";
  } catch (const std::exception&) {
    return "";
  }
}

}  // namespace

Result<RunnerRegistration> parseJitConfigResponse(std::string_view body) {
  auto o = parse(body);
  if (!o) return Status::invalid("generate-jitconfig answer is not a JSON object");
  auto runner = o->getObject("runner");
  RunnerRegistration r;
  r.runner_id = intOf(runner, "id");
  r.runner_name = stringOf(runner, "name");
  r.encoded_jit_config = stringOf(o, "encoded_jit_config");
  if (r.runner_id <= 0) return Status::invalid("generate-jitconfig answer has no runner.id");
  if (r.encoded_jit_config.empty()) {
    return Status::invalid("generate-jitconfig answer has no encoded_jit_config");
  }
  return r;
}

Result<std::vector<RegisteredRunner>> parseRunnerList(std::string_view body) {
  auto o = parse(body);
  if (!o) return Status::invalid("runner list is not a JSON object");
  auto runners = o->getArray("runners");
  if (!runners) return Status::invalid("runner list has no runners array");
  std::vector<RegisteredRunner> out;
  for (std::size_t i = 0; i < runners->size(); ++i) {
    auto r = runners->getObject(static_cast<unsigned>(i));
    if (!r) continue;
    RegisteredRunner x;
    x.id = intOf(r, "id");
    x.name = stringOf(r, "name");
    x.online = stringOf(r, "status") == "online";
    try {
      x.busy = r->has("busy") && r->getValue<bool>("busy");
    } catch (const std::exception&) {
      x.busy = false;
    }
    if (x.id > 0) out.push_back(std::move(x));
  }
  return out;
}

RestRunnerRegistrar::RestRunnerRegistrar(RestRegistrarOptions options,
                                         std::shared_ptr<HttpClient> client,
                                         std::shared_ptr<GitHubCredentials> credentials,
                                         std::shared_ptr<ScalerMetrics> metrics,
                                         const Logger& logger)
    : options_(std::move(options)),
      client_(std::move(client)),
      credentials_(std::move(credentials)),
      metrics_(std::move(metrics)),
      logger_(logger) {}

std::string RestRunnerRegistrar::scopePath() const {
  return options_.organization.empty() ? "/repos/" + options_.repository
                                       : "/orgs/" + options_.organization;
}

Result<HttpClientResponse> RestRunnerRegistrar::send(const std::string& method,
                                                     const std::string& url,
                                                     const std::string& endpoint,
                                                     const std::string& body) {
  credentials_->reload();
  auto auth = credentials_->authorization();
  if (!auth.isOk()) return auth.status();
  HttpClientRequest rq;
  rq.method = method;
  rq.url = url;
  rq.endpoint = endpoint;
  rq.body = body;
  rq.headers = {{"Accept", "application/vnd.github+json"},
                {"X-GitHub-Api-Version", "2022-11-28"},
                {"Authorization", *auth}};
  if (!body.empty()) rq.headers.push_back({"Content-Type", "application/json"});
  auto r = client_->send(rq);
  if (metrics_) metrics_->githubRequest(endpoint, r.isOk() ? r->status : 0);
  if (r.isOk() && r->status == 401) credentials_->invalidate();
  return r;
}

Result<RunnerRegistration> RestRunnerRegistrar::registerRunner(const PoolConfig& pool,
                                                               const std::string& runner_name) {
  Poco::JSON::Object body;
  body.set("name", runner_name);
  body.set("runner_group_id", options_.runner_group_id);
  Poco::JSON::Array labels;
  labels.add("self-hosted");
  for (const auto& l : pool.labels) labels.add(l);
  body.set("labels", labels);
  body.set("work_folder", options_.work_folder);
  std::ostringstream text;
  body.stringify(text);
  const std::string endpoint = (options_.organization.empty() ? "/repos/{repo}" : "/orgs/{org}") +
                               std::string("/actions/runners/generate-jitconfig");
  auto r = send("POST", options_.api_url + scopePath() + "/actions/runners/generate-jitconfig",
                endpoint, text.str());
  if (!r.isOk()) return r.status();
  if (r->status != 201 && r->status != 200) {
    const std::string what = "POST " + endpoint + " for runner " + runner_name + " answered " +
                             std::to_string(r->status) + githubMessage(r->body);
    if (r->status == 409) return Status::conflict(what);
    if (r->status == 401 || r->status == 403 || r->status == 404) {
      return Status::failedPrecondition(what);
    }
    if (r->status == 422) return Status::invalid(what);
    return Status::unavailable(what);
  }
  auto reg = parseJitConfigResponse(r->body);
  if (!reg.isOk()) return reg.status();
  if (reg->runner_name.empty()) reg->runner_name = runner_name;
  return reg;
}

Status RestRunnerRegistrar::deregisterRunner(const PoolConfig& /*pool*/, std::int64_t runner_id) {
  const std::string endpoint = (options_.organization.empty() ? "/repos/{repo}" : "/orgs/{org}") +
                               std::string("/actions/runners/{id}");
  auto r = send("DELETE",
                options_.api_url + scopePath() + "/actions/runners/" + std::to_string(runner_id),
                endpoint, "");
  if (!r.isOk()) return r.status();
  if (r->status == 204 || r->status == 200 || r->status == 404) return Status::ok();
  const std::string what = "DELETE " + endpoint + " (runner " + std::to_string(runner_id) +
                           ") answered " + std::to_string(r->status) + githubMessage(r->body);
  if (r->status == 422) return Status::failedPrecondition(what + " (busy; kept)");
  if (r->status == 401 || r->status == 403) return Status::failedPrecondition(what);
  return Status::unavailable(what);
}

Result<std::vector<RegisteredRunner>> RestRunnerRegistrar::listRunners(const PoolConfig&) {
  const std::string endpoint = (options_.organization.empty() ? "/repos/{repo}" : "/orgs/{org}") +
                               std::string("/actions/runners");
  std::string url = options_.api_url + scopePath() + "/actions/runners?per_page=100";
  std::vector<RegisteredRunner> all;
  for (int page = 0; !url.empty() && page < 100; ++page) {
    auto r = send("GET", url, endpoint, "");
    if (!r.isOk()) return r.status();
    if (r->status != 200) {
      return Status::unavailable("GET " + endpoint + " answered " + std::to_string(r->status) +
                                 githubMessage(r->body));
    }
    auto runners = parseRunnerList(r->body);
    if (!runners.isOk()) return runners.status();
    for (auto& x : *runners) all.push_back(std::move(x));
    url = nextLink(r->header("Link").value_or(""));
  }
  return all;
}

}  // namespace appliance::plugins::runner_scaler
