#pragma once
// ActionsClient: GitHub's runner scale-set protocol over the SDK's HttpClient. It owns the
// credentials chain (PAT or GitHub App → registration token → Actions service URL + admin
// token, refreshed 60 s before the admin token's `exp`), retries transport faults, 429 and
// 5xx (not 501) with 1-2-4-8 s backoff or Retry-After, and re-exchanges the admin token once
// on a 401. Session calls take the caller's Session and refresh it in place on a 401.
//
// Threading: thread-safe; the admin connection is shared under a mutex, a Session belongs to
// the one thread that polls it. Two HttpClients: `api` for every short call, `poll` only for
// the message long poll, so that poll->shutdown() breaks a poll while DELETE session still
// goes out through `api`. Nothing here logs or returns a token or a JIT config in a message.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "appliance/context.h"
#include "appliance/http_client.h"
#include "appliance/logger.h"
#include "scaleset/protocol.h"

namespace appliance::plugins::runner_scaler::scaleset {

// Interruptible waits, injected so tests can run backoffs on a manual clock.
class Sleeper {
 public:
  virtual ~Sleeper() = default;
  // Waits `d`; false when interrupted (then every later call returns false at once).
  virtual bool sleepFor(std::chrono::milliseconds d) = 0;
  virtual void interrupt() = 0;
  virtual bool interrupted() const = 0;
};

class RealSleeper : public Sleeper {
 public:
  bool sleepFor(std::chrono::milliseconds d) override;
  void interrupt() override;
  bool interrupted() const override;

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool interrupted_ = false;
};

// Exactly one of `pat` or the three app_* fields.
struct GitHubAuth {
  std::string pat;
  std::string app_client_id;  // client ID or app ID (the JWT's iss)
  std::int64_t app_installation_id = 0;
  std::string app_private_key_pem;
};

struct ActionsClientOptions {
  std::string config_url;  // https://github.com/{org}[/{repo}] | .../enterprises/{ent}
  std::string api_base;    // "" → derived from config_url (§1); tests point it at the fake
  GitHubAuth auth;
  std::string version = "0";  // for the JSON User-Agent
  std::chrono::milliseconds call_timeout{30000};
  std::chrono::milliseconds poll_timeout{std::chrono::minutes(5)};  // > the ~50 s hold
  int max_retries = 4;                                              // 5 attempts
  std::chrono::seconds refresh_before{60};
};

// Validates options (one auth method, a parsable config URL, a readable App key).
Status validate(const ActionsClientOptions& options);

class ActionsClient {
 public:
  ActionsClient(ActionsClientOptions options, std::shared_ptr<HttpClient> api,
                std::shared_ptr<HttpClient> poll, const Clock& clock, Sleeper& sleeper,
                const Logger& logger);

  // Runs the token exchange now if there is no admin token or it is about to expire.
  Status ensureConnected();

  // "default" is id 1 without a call (§2); otherwise exactly one group must match.
  Result<RunnerGroup> runnerGroupByName(const std::string& name);
  // Gets the set by name in its group; creates it when absent. Labels are not patched on an
  // adopted set (the service keeps them); a mismatch is logged.
  Result<ScaleSet> createOrAdoptScaleSet(const ScaleSet& wanted);
  Status deleteScaleSet(std::int64_t scale_set_id);

  // kConflict with "session conflict" in the message for the 409 a stale session causes.
  Result<Session> createSession(std::int64_t scale_set_id, const std::string& owner_name);
  Result<Session> refreshSession(std::int64_t scale_set_id, const std::string& session_id);
  Status deleteSession(std::int64_t scale_set_id, const std::string& session_id);

  // One long poll: nullopt on 202; kUnavailable (retryable) on an empty 200. A 401 refreshes
  // `session` once and repeats; kNotFound when the session is gone (create a new one).
  Result<std::optional<QueueMessage>> getMessage(Session& session, std::int64_t scale_set_id,
                                                 std::int64_t last_message_id,
                                                 std::int64_t max_capacity);
  Status deleteMessage(Session& session, std::int64_t scale_set_id, std::int64_t message_id);
  Result<std::vector<std::int64_t>> acquireJobs(Session& session, std::int64_t scale_set_id,
                                                const std::vector<std::int64_t>& request_ids);

  // AgentExistsException: a runner of that name in this set is removed and the call repeated
  // once; one in another set is a kConflict naming it.
  Result<JitConfig> generateJitConfig(std::int64_t scale_set_id, const std::string& runner_name,
                                      const std::string& work_folder);
  Result<std::optional<RunnerRecord>> runnerByName(const std::string& name);
  // ok when removed or already gone (AgentNotFoundException); kConflict "busy" while the
  // runner still runs a job (JobStillRunningException): keep it and try later.
  Status removeRunner(std::int64_t runner_id);

  // Counters, for tests and metrics.
  std::uint64_t tokenExchanges() const { return token_exchanges_.load(); }

 private:
  struct Admin {
    std::string url;    // service base, ends with '/'
    std::string token;  // secret
    std::chrono::system_clock::time_point refresh_at;
  };

  Result<Admin> exchangeTokens();
  Result<std::string> installationToken();
  Result<Admin> adminConnection(bool force);
  Result<HttpClientResponse> adminCall(const std::string& method, const std::string& path,
                                       const std::string& body, const std::string& endpoint);
  Result<HttpClientResponse> queueCall(Session& session, std::int64_t scale_set_id,
                                       HttpClientRequest request);
  Result<HttpClientResponse> sendWithRetry(HttpClient& client, const HttpClientRequest& request);
  std::vector<HttpHeader> serviceHeaders(const std::string& bearer) const;
  Status errorFrom(const HttpClientRequest& request, const HttpClientResponse& response) const;

  ActionsClientOptions options_;
  ConfigUrl config_url_;
  std::string api_base_;
  std::shared_ptr<HttpClient> api_;
  std::shared_ptr<HttpClient> poll_;
  const Clock& clock_;
  Sleeper& sleeper_;
  const Logger& logger_;
  std::mutex admin_mutex_;
  std::optional<Admin> admin_;
  std::atomic<std::uint64_t> token_exchanges_{0};
};

// Adds ?api-version=6.0-preview (or &...) when the URL has no api-version yet.
std::string withApiVersion(std::string url);

}  // namespace appliance::plugins::runner_scaler::scaleset
