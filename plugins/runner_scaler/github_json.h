#pragma once
// Reading GitHub's JSON: a workflow_job webhook payload and the REST listings of runs and
// jobs. Untrusted input: every function returns an error (never throws) on a malformed body.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/status.h"
#include "jobs.h"

namespace appliance::plugins::runner_scaler {

// A `workflow_job` webhook body -> the job it reports ("action" gives the status).
Result<JobObservation> parseWorkflowJobEvent(std::string_view body);
// GET /repos/{o}/{r}/actions/runs -> run ids ("workflow_runs"[].id).
Result<std::vector<std::int64_t>> parseRunIds(std::string_view body);
// GET .../runs/{id}/jobs -> its jobs ("jobs"[]), each with status, labels, run_id.
Result<std::vector<JobObservation>> parseJobs(std::string_view body, const std::string& repository);
// GET /orgs/{org}/repos -> full names.
Result<std::vector<std::string>> parseRepositoryNames(std::string_view body);
// POST /app/installations/{id}/access_tokens -> token and expires_at (UTC micros).
struct InstallationToken {
  std::string token;
  std::int64_t expires_at_us = 0;
};
Result<InstallationToken> parseInstallationToken(std::string_view body);

}  // namespace appliance::plugins::runner_scaler
