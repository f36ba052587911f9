#include "github_json.h"

#include <Poco/JSON/Parser.h>

#include "appliance/time.h"

namespace appliance::plugins::runner_scaler {
namespace {

using Poco::JSON::Array;
using Poco::JSON::Object;

Result<Object::Ptr> parseObject(std::string_view body) {
  try {
    Poco::JSON::Parser parser;
    auto value = parser.parse(std::string(body));
    auto obj = value.extract<Object::Ptr>();
    if (!obj) return Status::invalid("body is not a JSON object");
    return obj;
  } catch (const Poco::Exception& e) {
    return Status::invalid("body is not JSON: " + e.message());
  } catch (const std::exception& e) {
    return Status::invalid(std::string("body is not a JSON object: ") + e.what());
  }
}

// GitHub's times are after 1970 and long before 2200; outside that, system_clock's nanosecond
// time_point would overflow (it spans 1678-2262), so such a value counts as absent.
bool plausibleTime(Timestamp ts) {
  constexpr Timestamp kYear2200 = 7'258'118'400'000'000;
  return ts >= 0 && ts < kYear2200;
}

std::optional<TimePoint> timeField(const Object::Ptr& o, const std::string& key) {
  if (!o->has(key) || o->isNull(key)) return std::nullopt;
  auto ts = parseTimestamp(o->getValue<std::string>(key));
  if (!ts.isOk() || !plausibleTime(*ts)) return std::nullopt;
  return TimePoint{std::chrono::microseconds{*ts}};
}

JobObservation readJob(const Object::Ptr& job, JobStatus status, const std::string& repository) {
  JobObservation obs;
  obs.id = job->getValue<std::int64_t>("id");
  obs.run_id = job->has("run_id") ? job->getValue<std::int64_t>("run_id") : 0;
  obs.repository = repository;
  obs.status = status;
  if (auto labels = job->getArray("labels")) {
    for (std::size_t k = 0; k < labels->size(); ++k)
      obs.labels.push_back(labels->getElement<std::string>(k));
  }
  if (job->has("runner_name") && !job->isNull("runner_name")) {
    obs.runner_name = job->getValue<std::string>("runner_name");
  }
  obs.created_at = timeField(job, "created_at");
  obs.started_at = timeField(job, "started_at");
  obs.completed_at = timeField(job, "completed_at");
  // GitHub sets started_at on queued jobs too (to created_at); only trust it once running.
  if (status == JobStatus::kQueued || status == JobStatus::kWaiting) obs.started_at.reset();
  return obs;
}

}  // namespace

Result<JobObservation> parseWorkflowJobEvent(std::string_view body) {
  auto root = parseObject(body);
  if (!root.isOk()) return root.status();
  try {
    const Object::Ptr& o = *root;
    const auto action = parseJobStatus(o->optValue<std::string>("action", ""));
    if (!action) return Status::invalid("workflow_job action is missing or unknown");
    auto job = o->getObject("workflow_job");
    if (!job || !job->has("id")) return Status::invalid("workflow_job.id is missing");
    std::string repo;
    if (auto r = o->getObject("repository")) repo = r->optValue<std::string>("full_name", "");
    return readJob(job, *action, repo);
  } catch (const std::exception& e) {
    return Status::invalid(std::string("malformed workflow_job payload: ") + e.what());
  }
}

Result<std::vector<std::int64_t>> parseRunIds(std::string_view body) {
  auto root = parseObject(body);
  if (!root.isOk()) return root.status();
  try {
    std::vector<std::int64_t> out;
    auto runs = (*root)->getArray("workflow_runs");
    if (!runs) return Status::invalid("no workflow_runs array");
    for (std::size_t k = 0; k < runs->size(); ++k)
      out.push_back(runs->getObject(k)->getValue<std::int64_t>("id"));
    return out;
  } catch (const std::exception& e) {
    return Status::invalid(std::string("malformed runs listing: ") + e.what());
  }
}

Result<std::vector<JobObservation>> parseJobs(std::string_view body,
                                              const std::string& repository) {
  auto root = parseObject(body);
  if (!root.isOk()) return root.status();
  try {
    std::vector<JobObservation> out;
    auto jobs = (*root)->getArray("jobs");
    if (!jobs) return Status::invalid("no jobs array");
    for (std::size_t k = 0; k < jobs->size(); ++k) {
      auto job = jobs->getObject(k);
      const auto status = parseJobStatus(job->optValue<std::string>("status", ""));
      if (!status) continue;  // statuses GitHub may add later
      out.push_back(readJob(job, *status, repository));
    }
    return out;
  } catch (const std::exception& e) {
    return Status::invalid(std::string("malformed jobs listing: ") + e.what());
  }
}

Result<std::vector<std::string>> parseRepositoryNames(std::string_view body) {
  try {
    Poco::JSON::Parser parser;
    auto arr = parser.parse(std::string(body)).extract<Array::Ptr>();
    std::vector<std::string> out;
    for (std::size_t k = 0; k < arr->size(); ++k)
      out.push_back(arr->getObject(k)->getValue<std::string>("full_name"));
    return out;
  } catch (const std::exception& e) {
    return Status::invalid(std::string("malformed repository listing: ") + e.what());
  }
}

Result<InstallationToken> parseInstallationToken(std::string_view body) {
  auto root = parseObject(body);
  if (!root.isOk()) return root.status();
  try {
    InstallationToken t;
    t.token = (*root)->getValue<std::string>("token");
    auto ts = parseTimestamp((*root)->getValue<std::string>("expires_at"));
    if (!ts.isOk() || !plausibleTime(*ts) || t.token.empty())
      return Status::invalid("installation token without token or a valid expires_at");
    t.expires_at_us = *ts;
    return t;
  } catch (const std::exception& e) {
    return Status::invalid("malformed installation token answer");
  }
}

}  // namespace appliance::plugins::runner_scaler
