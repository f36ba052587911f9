#pragma once
// ScaleSetDemandSource: the `demand: scale_set` source of the runner scaler. Per pool it
// creates or adopts a runner scale set, holds one message session and long-polls it on its
// own thread, and hands the scaler a DemandUpdate after the session opens, after every
// message and after every empty (202) poll. The scaler derives its desired count from
// `statistics.total_assigned_jobs` and its policy (min/max/min_idle/schedule/budget), never
// from counting job events; the events say which runner took which job (busy runners).
//
// Lifecycle: start() once, stop() once (it deletes the sessions, then returns). The callback
// runs on the pool's thread; a message is acked after the callback returns, so a crash in
// between redelivers it (at-least-once; statistics are absolute, so replays are harmless).
// Threading: generateJitConfig/removeRunner/setMaxCapacity/status may be called from any
// thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "scaleset/actions_client.h"

namespace appliance::plugins::runner_scaler::scaleset {

struct PoolSpec {
  std::string pool;                      // the scaler's pool name
  std::string scale_set_name;            // what workflows put in runs-on
  std::string runner_group = "default";  // by name; "default" is id 1
  std::vector<std::string> labels;       // empty → the name is the only label
  std::int64_t max_runners = 10;         // X-ScaleSetMaxCapacity (setMaxCapacity updates it)
  std::string work_folder = "_work";     // for generatejitconfig
};

struct DemandUpdate {
  enum class Origin { kSession, kMessage, kIdlePoll };
  std::string pool;
  std::int64_t scale_set_id = 0;
  Origin origin = Origin::kMessage;
  std::int64_t message_id = 0;         // kMessage only
  Statistics statistics;               // absolute; drive the desired count from total_assigned_jobs
  std::vector<JobEvent> jobs;          // in message order
  std::vector<std::int64_t> acquired;  // runnerRequestIds this poll acquired for the set
};

struct SourceOptions {
  std::string owner_name;  // the session's ownerName: host or pod name
  // Session-conflict 409 after a crash (§3): backoff from initial doubling to max, for ever;
  // past `conflict_patience` it logs an error once (the source stays unhealthy, no crash).
  std::chrono::seconds conflict_initial{5};
  std::chrono::seconds conflict_max{30};
  std::chrono::seconds conflict_patience{std::chrono::minutes(10)};
  // Other faults (network, 5xx after the client's retries, bad bodies): same shape.
  std::chrono::seconds error_initial{1};
  std::chrono::seconds error_max{60};
  std::chrono::seconds delete_session_timeout{30};
};

struct PoolStatus {
  bool has_scale_set = false;
  std::int64_t scale_set_id = 0;
  bool has_session = false;
  std::int64_t last_message_id = 0;
  Statistics statistics;
  std::string last_error;  // "" when healthy
  std::uint64_t conflict_retries = 0;
};

class ScaleSetDemandSource {
 public:
  using Callback = std::function<void(const DemandUpdate&)>;

  ScaleSetDemandSource(ActionsClient& client, std::shared_ptr<HttpClient> poll_http,
                       std::vector<PoolSpec> pools, SourceOptions options, Callback callback,
                       Sleeper& sleeper, const Logger& logger);
  ~ScaleSetDemandSource();
  ScaleSetDemandSource(const ScaleSetDemandSource&) = delete;
  ScaleSetDemandSource& operator=(const ScaleSetDemandSource&) = delete;

  // Starts one thread per pool; set-up and sessions happen there, with retries.
  Status start();
  // Interrupts sleeps and the long polls (poll_http->shutdown()), joins, deletes sessions.
  // Both the sleeper and poll_http stay shut afterwards: a source runs once; make a new one
  // (with new ones) after a leadership change. No-op if never started.
  void stop();

  // A JIT config for a new runner of `pool`; kUnavailable until its scale set is known.
  Result<JitConfig> generateJitConfig(const std::string& pool, const std::string& runner_name);
  // Deregisters an idle runner; kConflict while it still runs a job (keep it).
  Status removeRunner(const std::string& pool, std::int64_t runner_id);
  // The pool's current max, sent as X-ScaleSetMaxCapacity from the next poll on.
  void setMaxCapacity(const std::string& pool, std::int64_t max_runners);
  std::optional<PoolStatus> status(const std::string& pool) const;

 private:
  struct PoolRun {
    PoolSpec spec;
    std::atomic<std::int64_t> max_capacity{0};
    std::thread thread;
    mutable std::mutex mutex;  // guards status and session id copies
    PoolStatus status;
    std::optional<Session> session;  // owned by the thread; copied under mutex at stop
  };

  void run(PoolRun& pool);
  Result<ScaleSet> resolveScaleSet(const PoolRun& pool);
  bool setUp(PoolRun& pool);
  bool openSession(PoolRun& pool, Session& session);
  bool pollOnce(PoolRun& pool, Session& session);
  void deliver(PoolRun& pool, DemandUpdate update);
  void noteError(PoolRun& pool, const Status& error);
  PoolRun* find(const std::string& pool) const;

  ActionsClient& client_;
  std::shared_ptr<HttpClient> poll_http_;
  SourceOptions options_;
  Callback callback_;
  Sleeper& sleeper_;
  const Logger& logger_;
  std::vector<std::unique_ptr<PoolRun>> pools_;
  std::atomic<bool> stopping_{false};
  bool started_ = false;
};

}  // namespace appliance::plugins::runner_scaler::scaleset
