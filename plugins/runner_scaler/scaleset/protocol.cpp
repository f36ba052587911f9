#include "scaleset/protocol.h"

#include <Poco/Base64Decoder.h>
#include <Poco/Dynamic/Var.h>
#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>

#include <cctype>
#include <sstream>

namespace appliance::plugins::runner_scaler::scaleset {
namespace {

using Poco::JSON::Array;
using Poco::JSON::Object;

// Parses `text` (BOM stripped) as a JSON object; `what` names the document in errors.
Result<Object::Ptr> parseObject(std::string_view text, std::string_view what) {
  text = stripBom(text);
  if (text.empty()) return Status::unavailable(std::string(what) + ": empty body");
  try {
    Poco::JSON::Parser parser;
    Poco::Dynamic::Var value = parser.parse(std::string(text));
    if (value.type() != typeid(Object::Ptr)) {
      return Status::invalid(std::string(what) + ": expected a JSON object");
    }
    return value.extract<Object::Ptr>();
  } catch (const Poco::Exception& e) {
    return Status::invalid(std::string(what) + ": invalid JSON: " + e.message());
  }
}

std::string str(const Object::Ptr& o, const std::string& key) {
  if (!o->has(key) || o->isNull(key)) return {};
  Poco::Dynamic::Var v = o->get(key);
  return v.isString() ? v.extract<std::string>() : v.toString();
}

// Integers may arrive as numbers or numeric strings; anything else reads as 0 and is
// reported by the caller when the field is required.
std::int64_t num(const Object::Ptr& o, const std::string& key) {
  if (!o->has(key) || o->isNull(key)) return 0;
  try {
    return o->get(key).convert<Poco::Int64>();
  } catch (const Poco::Exception&) {
    return 0;
  }
}

Statistics statisticsFrom(const Object::Ptr& o) {
  Statistics s;
  if (!o) return s;
  s.total_available_jobs = num(o, "totalAvailableJobs");
  s.total_acquired_jobs = num(o, "totalAcquiredJobs");
  s.total_assigned_jobs = num(o, "totalAssignedJobs");
  s.total_running_jobs = num(o, "totalRunningJobs");
  s.total_registered_runners = num(o, "totalRegisteredRunners");
  s.total_busy_runners = num(o, "totalBusyRunners");
  s.total_idle_runners = num(o, "totalIdleRunners");
  return s;
}

JobEventType eventType(const std::string& t) {
  if (t == "JobAvailable") return JobEventType::kAvailable;
  if (t == "JobAssigned") return JobEventType::kAssigned;
  if (t == "JobStarted") return JobEventType::kStarted;
  if (t == "JobCompleted") return JobEventType::kCompleted;
  return JobEventType::kOther;
}

JobEvent jobFrom(const Object::Ptr& o) {
  JobEvent e;
  e.message_type = str(o, "messageType");
  e.type = eventType(e.message_type);
  e.runner_request_id = num(o, "runnerRequestId");
  e.job_id = str(o, "jobId");
  e.repository_name = str(o, "repositoryName");
  e.owner_name = str(o, "ownerName");
  e.job_workflow_ref = str(o, "jobWorkflowRef");
  e.job_display_name = str(o, "jobDisplayName");
  e.workflow_run_id = num(o, "workflowRunId");
  e.event_name = str(o, "eventName");
  e.queue_time = str(o, "queueTime");
  e.acquire_job_url = str(o, "acquireJobUrl");
  e.runner_id = num(o, "runnerId");
  e.runner_name = str(o, "runnerName");
  e.result = str(o, "result");
  if (auto labels = o->getArray("requestLabels")) {
    for (std::size_t i = 0; i < labels->size(); ++i)
      e.request_labels.push_back(labels->getElement<std::string>(i));
  }
  return e;
}

std::string stringify(const Poco::Dynamic::Var& v) {
  std::ostringstream out;
  Poco::JSON::Stringifier::condense(v, out);
  return out.str();
}

ScaleSet scaleSetFrom(const Object::Ptr& o) {
  ScaleSet s;
  s.id = num(o, "id");
  s.name = str(o, "name");
  s.runner_group_id = num(o, "runnerGroupId");
  s.runner_group_name = str(o, "runnerGroupName");
  if (auto labels = o->getArray("labels")) {
    for (std::size_t i = 0; i < labels->size(); ++i) {
      if (auto l = labels->getObject(i)) s.labels.push_back(str(l, "name"));
    }
  }
  return s;
}

}  // namespace

const char* jobEventTypeName(JobEventType type) {
  switch (type) {
    case JobEventType::kAvailable:
      return "JobAvailable";
    case JobEventType::kAssigned:
      return "JobAssigned";
    case JobEventType::kStarted:
      return "JobStarted";
    case JobEventType::kCompleted:
      return "JobCompleted";
    case JobEventType::kOther:
      break;
  }
  return "other";
}

std::string_view stripBom(std::string_view body) {
  constexpr std::string_view kBom = "\xEF\xBB\xBF";
  if (body.substr(0, kBom.size()) == kBom) body.remove_prefix(kBom.size());
  return body;
}

std::string percentEncode(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

Result<ConfigUrl> parseConfigUrl(std::string_view text) {
  ConfigUrl u;
  while (!text.empty() && text.back() == '/') text.remove_suffix(1);
  u.url = std::string(text);
  auto scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) {
    return Status::invalid("github config URL '" + u.url +
                           "': expected https://github.com/{org}[/{repo}] or "
                           "https://github.com/enterprises/{enterprise}");
  }
  u.scheme = std::string(text.substr(0, scheme_end));
  std::string_view rest = text.substr(scheme_end + 3);
  auto slash = rest.find('/');
  u.host = std::string(rest.substr(0, slash));
  std::vector<std::string> parts;
  if (slash != std::string_view::npos) {
    std::string_view path = rest.substr(slash + 1);
    while (!path.empty()) {
      auto next = path.find('/');
      parts.emplace_back(path.substr(0, next));
      if (next == std::string_view::npos) break;
      path.remove_prefix(next + 1);
    }
  }
  if (u.host.empty() || parts.empty() || parts.size() > 2 || parts[0].empty()) {
    return Status::invalid("github config URL '" + u.url +
                           "': expected an organization, a repository or an enterprise path");
  }
  if (parts[0] == "enterprises") {
    if (parts.size() != 2)
      return Status::invalid("github config URL '" + u.url + "': no enterprise");
    u.enterprise = parts[1];
  } else {
    u.owner = parts[0];
    if (parts.size() == 2) u.repo = parts[1];
  }
  return u;
}

std::string apiBaseFor(const ConfigUrl& u) {
  const std::string& h = u.host;
  auto endsWith = [&](std::string_view s) {
    return h.size() >= s.size() && h.compare(h.size() - s.size(), s.size(), s) == 0;
  };
  if (h == "github.com" || h == "www.github.com") return "https://api.github.com";
  if (h == "github.localhost" || endsWith(".ghe.com")) return u.scheme + "://api." + h;
  return u.scheme + "://" + h + "/api/v3";
}

std::string registrationTokenPath(const ConfigUrl& u) {
  std::string path;
  if (!u.enterprise.empty()) {
    path = "/enterprises/" + u.enterprise;
  } else if (!u.repo.empty()) {
    path = "/repos/" + u.owner + "/" + u.repo;
  } else {
    path = "/orgs/" + u.owner;
  }
  return path + "/actions/runners/registration-token";
}

std::optional<std::int64_t> jwtExpiry(std::string_view jwt) {
  auto first = jwt.find('.');
  if (first == std::string_view::npos) return std::nullopt;
  auto second = jwt.find('.', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  std::string payload(jwt.substr(first + 1, second - first - 1));
  for (char& c : payload) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  while (payload.size() % 4 != 0) payload.push_back('=');
  try {
    std::istringstream in(payload);
    Poco::Base64Decoder decoder(in);
    std::string json((std::istreambuf_iterator<char>(decoder)), std::istreambuf_iterator<char>());
    auto obj = parseObject(json, "token claims");
    if (!obj || !obj.value()->has("exp")) return std::nullopt;
    return num(obj.value(), "exp");
  } catch (const Poco::Exception&) {
    return std::nullopt;
  }
}

Result<std::vector<JobEvent>> parseJobEvents(std::string_view body_field) {
  std::vector<JobEvent> jobs;
  body_field = stripBom(body_field);
  if (body_field.empty()) return jobs;
  try {
    Poco::JSON::Parser parser;
    Poco::Dynamic::Var value = parser.parse(std::string(body_field));
    if (value.type() != typeid(Array::Ptr)) {
      return Status::invalid("message body: expected a JSON array of job messages");
    }
    auto array = value.extract<Array::Ptr>();
    for (std::size_t i = 0; i < array->size(); ++i) {
      auto o = array->getObject(i);
      if (!o) return Status::invalid("message body[" + std::to_string(i) + "]: not an object");
      jobs.push_back(jobFrom(o));
    }
  } catch (const Poco::Exception& e) {
    return Status::invalid("message body: invalid JSON: " + e.message());
  }
  return jobs;
}

Result<QueueMessage> parseQueueMessage(std::string_view body) {
  auto obj = parseObject(body, "queue message");
  if (!obj) return obj.status();
  const auto& o = obj.value();
  QueueMessage m;
  m.message_id = num(o, "messageId");
  m.message_type = str(o, "messageType");
  if (m.message_id <= 0) return Status::invalid("queue message: missing or bad messageId");
  if (m.message_type != "RunnerScaleSetJobMessages") {
    return Status::invalid("queue message " + std::to_string(m.message_id) +
                           ": unsupported messageType '" + m.message_type + "'");
  }
  m.statistics = statisticsFrom(o->getObject("statistics"));
  // `body` is a string holding a JSON array (double-encoded); tolerate a raw array too.
  if (o->has("body") && !o->isNull("body")) {
    Poco::Dynamic::Var b = o->get("body");
    auto jobs = parseJobEvents(b.isString() ? b.extract<std::string>() : stringify(b));
    if (!jobs) {
      return Status::invalid("queue message " + std::to_string(m.message_id) + ": " +
                             jobs.status().message());
    }
    m.jobs = std::move(jobs).value();
  }
  return m;
}

Result<Statistics> parseStatisticsObject(std::string_view json_object) {
  auto obj = parseObject(json_object, "statistics");
  if (!obj) return obj.status();
  return statisticsFrom(obj.value());
}

Result<Session> parseSession(std::string_view body) {
  auto obj = parseObject(body, "message session");
  if (!obj) return obj.status();
  const auto& o = obj.value();
  Session s;
  s.session_id = str(o, "sessionId");
  s.owner_name = str(o, "ownerName");
  s.message_queue_url = str(o, "messageQueueUrl");
  s.message_queue_access_token = str(o, "messageQueueAccessToken");
  s.statistics = statisticsFrom(o->getObject("statistics"));
  if (s.session_id.empty() || s.message_queue_url.empty() || s.message_queue_access_token.empty()) {
    return Status::invalid(
        "message session: sessionId, messageQueueUrl and messageQueueAccessToken are required");
  }
  return s;
}

Result<RunnerGroup> parseRunnerGroupList(std::string_view body, std::string_view wanted) {
  auto obj = parseObject(body, "runner group list");
  if (!obj) return obj.status();
  auto value = obj.value()->getArray("value");
  std::size_t count = value ? value->size() : 0;
  if (count != 1) {
    return Status::notFound("runner group '" + std::string(wanted) + "': " + std::to_string(count) +
                            " groups match; expected exactly one");
  }
  auto g = value->getObject(0);
  if (!g) return Status::invalid("runner group list: value[0] is not an object");
  return RunnerGroup{num(g, "id"), str(g, "name")};
}

Result<std::optional<ScaleSet>> parseScaleSetList(std::string_view body, std::string_view wanted) {
  auto obj = parseObject(body, "scale set list");
  if (!obj) return obj.status();
  auto value = obj.value()->getArray("value");
  std::size_t count = value ? value->size() : 0;
  if (count == 0) return std::optional<ScaleSet>{};
  if (count > 1) {
    return Status::conflict("scale set '" + std::string(wanted) + "': " + std::to_string(count) +
                            " sets share the name in this runner group");
  }
  auto s = value->getObject(0);
  if (!s) return Status::invalid("scale set list: value[0] is not an object");
  return std::optional<ScaleSet>{scaleSetFrom(s)};
}

Result<ScaleSet> parseScaleSet(std::string_view body) {
  auto obj = parseObject(body, "scale set");
  if (!obj) return obj.status();
  ScaleSet s = scaleSetFrom(obj.value());
  if (s.id <= 0) return Status::invalid("scale set: missing id");
  return s;
}

Result<std::vector<std::int64_t>> parseAcquiredJobs(std::string_view body) {
  auto obj = parseObject(body, "acquired jobs");
  if (!obj) return obj.status();
  std::vector<std::int64_t> ids;
  if (auto value = obj.value()->getArray("value")) {
    for (std::size_t i = 0; i < value->size(); ++i) {
      try {
        ids.push_back(value->get(i).convert<Poco::Int64>());
      } catch (const Poco::Exception&) {
        return Status::invalid("acquired jobs: value[" + std::to_string(i) + "] is not an id");
      }
    }
  }
  return ids;
}

Result<JitConfig> parseJitConfig(std::string_view body) {
  auto obj = parseObject(body, "JIT config");
  if (!obj) return obj.status();
  JitConfig c;
  c.encoded_jit_config = str(obj.value(), "encodedJITConfig");
  if (auto r = obj.value()->getObject("runner")) {
    c.runner = {num(r, "id"), str(r, "name"), num(r, "runnerScaleSetId")};
  }
  if (c.encoded_jit_config.empty() || c.runner.id <= 0) {
    return Status::invalid("JIT config: runner.id and encodedJITConfig are required");
  }
  return c;
}

Result<std::optional<RunnerRecord>> parseRunnerList(std::string_view body) {
  auto obj = parseObject(body, "runner list");
  if (!obj) return obj.status();
  auto value = obj.value()->getArray("value");
  std::size_t count = value ? value->size() : 0;
  if (count == 0) return std::optional<RunnerRecord>{};
  if (count > 1)
    return Status::conflict("runner list: " + std::to_string(count) + " runners share the name");
  auto r = value->getObject(0);
  if (!r) return Status::invalid("runner list: value[0] is not an object");
  return std::optional<RunnerRecord>{
      RunnerRecord{num(r, "id"), str(r, "name"), num(r, "runnerScaleSetId")}};
}

ServiceError parseServiceError(std::string_view body) {
  ServiceError e;
  auto obj = parseObject(body, "error");
  if (obj) {
    e.type_name = str(obj.value(), "typeName");
    e.message = str(obj.value(), "message");
  } else {
    e.message = std::string(stripBom(body).substr(0, 300));
  }
  return e;
}

std::string scaleSetBody(const ScaleSet& set) {
  Object body;
  if (set.id > 0) body.set("id", set.id);
  body.set("name", set.name);
  body.set("runnerGroupId", set.runner_group_id);
  Array labels;
  for (const auto& l : set.labels) {
    Object label;
    label.set("name", l);
    label.set("type", "System");
    labels.add(label);
  }
  body.set("labels", labels);
  Object setting;  // capitalised key, as the service expects (§2)
  setting.set("disableUpdate", true);
  body.set("RunnerSetting", setting);
  return stringify(body);
}

std::string sessionBody(std::string_view owner_name) {
  Object body;
  body.set("sessionId", "00000000-0000-0000-0000-000000000000");
  body.set("ownerName", std::string(owner_name));
  return stringify(body);
}

std::string acquireJobsBody(const std::vector<std::int64_t>& request_ids) {
  Array ids;
  for (auto id : request_ids) ids.add(id);
  return stringify(ids);
}

std::string jitConfigBody(std::string_view runner_name, std::string_view work_folder) {
  Object body;
  body.set("name", std::string(runner_name));
  body.set("workFolder", std::string(work_folder));
  return stringify(body);
}

}  // namespace appliance::plugins::runner_scaler::scaleset
