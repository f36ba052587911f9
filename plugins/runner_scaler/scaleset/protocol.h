#pragma once
// Value types and pure parsing for GitHub's runner scale-set protocol (the Actions service
// that ARC's gha-runner-scale-set listener and actions/scaleset talk to). No I/O here: the
// functions turn response bodies into typed values and back, so they can be unit-tested and
// fuzzed alone. See /work/shared/research/scaleset-protocol.md (§ numbers below) and README.md.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/status.h"

namespace appliance::plugins::runner_scaler::scaleset {

// Absolute counts the service attaches to a session and to every message (§4). The scaling
// signal is total_assigned_jobs (waiting + running); never count job messages instead.
struct Statistics {
  std::int64_t total_available_jobs = 0;
  std::int64_t total_acquired_jobs = 0;
  std::int64_t total_assigned_jobs = 0;
  std::int64_t total_running_jobs = 0;
  std::int64_t total_registered_runners = 0;
  std::int64_t total_busy_runners = 0;
  std::int64_t total_idle_runners = 0;
  bool operator==(const Statistics&) const = default;
};

enum class JobEventType { kAvailable, kAssigned, kStarted, kCompleted, kOther };
const char* jobEventTypeName(JobEventType type);

// One entry of a message's double-encoded `body` array (§4). Times are kept as sent.
struct JobEvent {
  JobEventType type = JobEventType::kOther;
  std::string message_type;            // as sent, e.g. "JobAvailable"
  std::int64_t runner_request_id = 0;  // may be 0 since 2025: key on job_id too
  std::string job_id;
  std::string repository_name;
  std::string owner_name;
  std::string job_workflow_ref;
  std::string job_display_name;
  std::int64_t workflow_run_id = 0;
  std::string event_name;
  std::vector<std::string> request_labels;
  std::string queue_time;
  std::string acquire_job_url;  // JobAvailable
  std::int64_t runner_id = 0;   // JobStarted, JobCompleted
  std::string runner_name;      // JobStarted, JobCompleted
  std::string result;           // JobCompleted: "success", "failed", "canceled", ...
};

// A 200 answer of the message queue.
struct QueueMessage {
  std::int64_t message_id = 0;
  std::string message_type;
  Statistics statistics;
  std::vector<JobEvent> jobs;
};

struct Session {
  std::string session_id;
  std::string owner_name;
  std::string message_queue_url;
  std::string message_queue_access_token;  // secret
  Statistics statistics;
};

struct RunnerGroup {
  std::int64_t id = 0;
  std::string name;
};

struct ScaleSet {
  std::int64_t id = 0;
  std::string name;
  std::int64_t runner_group_id = 0;
  std::string runner_group_name;
  std::vector<std::string> labels;
};

// The scale-set record of a runner (§5).
struct RunnerRecord {
  std::int64_t id = 0;
  std::string name;
  std::int64_t runner_scale_set_id = 0;
};

// What generatejitconfig hands out. `encoded_jit_config` is a secret: put it in a Secret,
// never in a log line, a pod spec or an error message.
struct JitConfig {
  RunnerRecord runner;
  std::string encoded_jit_config;
};

// The Actions service's error body {"typeName","message"} (or text); fields may be empty.
struct ServiceError {
  std::string type_name;
  std::string message;
};

// Removes a leading UTF-8 byte-order mark (EF BB BF) the service sometimes sends (§7).
std::string_view stripBom(std::string_view body);

// RFC 3986 percent-encoding of a query value: everything but unreserved characters (§2).
std::string percentEncode(std::string_view value);

// The REST API base for a config URL (§1): https://github.com/org → https://api.github.com,
// https://ghes.example/org → https://ghes.example/api/v3. Other schemes/hosts are kept as is
// (plain http is accepted for tests on 127.0.0.1, where api_base_override is used instead).
struct ConfigUrl {
  std::string url;         // trailing slashes trimmed
  std::string host;        // "github.com"
  std::string scheme;      // "https"
  std::string owner;       // org or owner ("" for an enterprise)
  std::string repo;        // "" unless a repository URL
  std::string enterprise;  // "" unless /enterprises/{ent}
};
Result<ConfigUrl> parseConfigUrl(std::string_view url);
std::string apiBaseFor(const ConfigUrl& url);
// "/orgs/{o}", "/repos/{o}/{r}" or "/enterprises/{e}" + "/actions/runners/registration-token".
std::string registrationTokenPath(const ConfigUrl& url);

// Seconds since the epoch of a JWT's `exp` claim, read without verifying the signature (the
// client only needs to know when to refresh its own token, §1). nullopt if unreadable.
std::optional<std::int64_t> jwtExpiry(std::string_view jwt);

// Parsers: each names the document and the field on failure. None echoes token values.
Result<QueueMessage> parseQueueMessage(std::string_view body);
Result<std::vector<JobEvent>> parseJobEvents(std::string_view body_field);
Result<Statistics> parseStatisticsObject(std::string_view json_object);
Result<Session> parseSession(std::string_view body);
Result<RunnerGroup> parseRunnerGroupList(std::string_view body, std::string_view wanted);
Result<std::optional<ScaleSet>> parseScaleSetList(std::string_view body, std::string_view wanted);
Result<ScaleSet> parseScaleSet(std::string_view body);
Result<std::vector<std::int64_t>> parseAcquiredJobs(std::string_view body);
Result<JitConfig> parseJitConfig(std::string_view body);
Result<std::optional<RunnerRecord>> parseRunnerList(std::string_view body);
ServiceError parseServiceError(std::string_view body);

// Request bodies.
std::string scaleSetBody(const ScaleSet& set);  // labels [{name,type:"System"}], RunnerSetting
std::string sessionBody(std::string_view owner_name);
std::string acquireJobsBody(const std::vector<std::int64_t>& request_ids);
std::string jitConfigBody(std::string_view runner_name, std::string_view work_folder);

}  // namespace appliance::plugins::runner_scaler::scaleset
