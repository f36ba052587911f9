// scaleset_message_bench [--jobs N]: message → DemandUpdate latency of the scale-set source
// against the fake Actions service (tests/fakes/actions_service), through the host's real
// outbound HTTP client. Not a test: it prints numbers (bench/README.md conventions).
//   sequential: enqueue one JobAssigned message, wait for its callback; p50/p99/max over N
//   burst:      enqueue N messages at once; wall time until the last callback
// Also prints the Actions-service calls made per message (poll + ack).

#include <Poco/JSON/Object.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "../tests/fake_service.h"
#include "appliance/logger.h"
#include "outbound_http.h"
#include "scaleset/scale_set_source.h"

namespace ss = appliance::plugins::runner_scaler::scaleset;
using Clock = std::chrono::steady_clock;

namespace {

class QuietLogger : public appliance::Logger {
 public:
  bool enabled(appliance::LogLevel l) const override { return l >= appliance::LogLevel::kWarn; }
  void log(appliance::LogLevel, std::string_view m,
           std::span<const appliance::LogField>) const override {
    std::fprintf(stderr, "log: %.*s\n", static_cast<int>(m.size()), m.data());
  }
};

class SystemClock : public appliance::Clock {
 public:
  std::chrono::system_clock::time_point now() const override {
    return std::chrono::system_clock::now();
  }
  std::chrono::steady_clock::time_point steadyNow() const override {
    return std::chrono::steady_clock::now();
  }
};

struct Counter {
  std::mutex mutex;
  std::condition_variable cv;
  std::size_t messages = 0;
  bool session = false;
};

int totalCalls(const Poco::JSON::Object::Ptr& state, const std::string& prefix) {
  auto calls = state->getObject("calls");
  int n = 0;
  for (const auto& [key, value] : *calls) {
    if (key.rfind(prefix, 0) == 0) n += value.convert<int>();
  }
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t jobs = 1000;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--jobs") == 0) jobs = std::stoul(argv[i + 1]);
  }
  auto module = appliance::host::loadOutboundHttpModule(APPLIANCE_OUTBOUND_HTTP_MODULE);
  if (!module) {
    std::fprintf(stderr, "%s\n", module.status().message().c_str());
    return 1;
  }
  prometheus::Registry registry;
  auto metrics = module.value()->make_metrics(registry);
  auto client = [&](const char* name) {
    appliance::HttpClientOptions o;
    o.name = name;
    return module.value()->make_client(o, metrics, "bench").value();
  };
  auto control = client("control");
  auto api = client("api");
  auto poll = client("poll");
  ss::testing::FakeActionsService fake(control);
  if (!fake.running()) return 1;
  fake.control("settings", R"({"hold": 50.0})");

  SystemClock clock;
  ss::RealSleeper sleeper;
  QuietLogger logger;
  ss::ActionsClientOptions o;
  o.config_url = "https://github.com/acme";
  o.api_base = fake.base();
  o.auth.pat = "ghp_fakepat";
  ss::ActionsClient actions(o, api, poll, clock, sleeper, logger);
  Counter counter;
  ss::PoolSpec pool;
  pool.pool = "seed";
  pool.scale_set_name = "seed-linux";
  ss::SourceOptions options;
  options.owner_name = "bench";
  ss::ScaleSetDemandSource source(
      actions, poll, {pool}, options,
      [&](const ss::DemandUpdate& u) {
        std::lock_guard lock(counter.mutex);
        if (u.origin == ss::DemandUpdate::Origin::kSession) counter.session = true;
        if (u.origin == ss::DemandUpdate::Origin::kMessage) counter.messages++;
        counter.cv.notify_all();
      },
      sleeper, logger);
  if (!source.start()) return 1;
  {
    std::unique_lock lock(counter.mutex);
    counter.cv.wait(lock, [&] { return counter.session; });
  }
  std::string sid = std::to_string(source.status("seed")->scale_set_id);
  std::string body = R"({"scaleSetId":)" + sid +
                     R"(,"jobs":[{"messageType":"JobAssigned","runnerRequestId":1,"jobId":"j"}],)"
                     R"("statistics":{"totalAssignedJobs":1}})";

  auto waitFor = [&](std::size_t n) {
    std::unique_lock lock(counter.mutex);
    counter.cv.wait(lock, [&] { return counter.messages >= n; });
  };
  std::vector<double> micros;
  for (std::size_t i = 1; i <= jobs; ++i) {
    auto start = Clock::now();
    fake.control("enqueue", body);
    waitFor(i);
    micros.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
  }
  std::sort(micros.begin(), micros.end());
  auto pct = [&](double p) { return micros[static_cast<std::size_t>(p * (micros.size() - 1))]; };
  auto before = fake.state();
  auto burst_start = Clock::now();
  for (std::size_t i = 1; i <= jobs; ++i) fake.control("enqueue", body);
  auto enqueued = Clock::now();
  waitFor(2 * jobs);
  auto burst_end = Clock::now();
  auto after = fake.state();
  source.stop();

  std::printf("sequential, %zu messages (enqueue call → callback, incl. the control call):\n",
              jobs);
  std::printf("  p50 %.2f ms  p99 %.2f ms  max %.2f ms\n", pct(0.5) / 1000, pct(0.99) / 1000,
              micros.back() / 1000);
  std::printf("burst, %zu messages: enqueued in %.0f ms, all delivered after %.0f ms\n", jobs,
              std::chrono::duration<double, std::milli>(enqueued - burst_start).count(),
              std::chrono::duration<double, std::milli>(burst_end - burst_start).count());
  int polls = totalCalls(after, "GET /tenant/") - totalCalls(before, "GET /tenant/");
  int deletes = totalCalls(after, "DELETE /tenant/") - totalCalls(before, "DELETE /tenant/");
  std::printf("burst service calls: %d polls, %d acks (%.2f calls/message)\n", polls, deletes,
              static_cast<double>(polls + deletes) / static_cast<double>(jobs));
  return 0;
}
