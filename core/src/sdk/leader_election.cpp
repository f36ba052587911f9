#include "appliance/leader_election.h"

#include <charconv>
#include <mutex>

namespace appliance {
namespace {

Timestamp micros(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

// "holder_len:holder acquired renewed duration transitions" — the holder is length-prefixed
// so any identity round-trips.
std::string encodeLease(const LeaseRecord& r) {
  return std::to_string(r.holder.size()) + ":" + r.holder + " " + std::to_string(r.acquired_at) +
         " " + std::to_string(r.renewed_at) + " " + std::to_string(r.duration_seconds) + " " +
         std::to_string(r.transitions);
}

template <class T>
bool readNumber(std::string_view& in, T& out) {
  while (!in.empty() && in.front() == ' ') in.remove_prefix(1);
  auto [end, ec] = std::from_chars(in.data(), in.data() + in.size(), out);
  if (ec != std::errc()) return false;
  in.remove_prefix(static_cast<std::size_t>(end - in.data()));
  return true;
}

std::optional<LeaseRecord> decodeLease(std::string_view in) {
  LeaseRecord r;
  std::size_t holder_len = 0;
  if (!readNumber(in, holder_len) || in.empty() || in.front() != ':') return std::nullopt;
  in.remove_prefix(1);
  if (in.size() < holder_len) return std::nullopt;
  r.holder = std::string(in.substr(0, holder_len));
  in.remove_prefix(holder_len);
  if (!readNumber(in, r.acquired_at) || !readNumber(in, r.renewed_at) ||
      !readNumber(in, r.duration_seconds) || !readNumber(in, r.transitions)) {
    return std::nullopt;
  }
  return r;
}

}  // namespace

KvLeaseBackend::KvLeaseBackend(std::shared_ptr<KvStore> store, std::string ns, std::string key)
    : store_(std::move(store)), ns_(std::move(ns)), key_(std::move(key)) {}

Result<std::optional<LeaseRecord>> KvLeaseBackend::read() {
  auto entry = store_->get(ns_, key_);
  if (!entry) return entry.status();
  if (!entry.value()) return std::optional<LeaseRecord>{};
  auto record = decodeLease(entry.value()->value);
  if (!record) {
    return Status::internal("lease " + describe() + " holds a value that is not a lease record");
  }
  record->version = std::to_string(entry.value()->version);
  return std::optional<LeaseRecord>{std::move(*record)};
}

Result<LeaseRecord> KvLeaseBackend::write(const LeaseRecord& record,
                                          const std::string& expected_version) {
  std::uint64_t expected = kKvMustNotExist;
  if (!expected_version.empty()) {
    auto [end, ec] = std::from_chars(expected_version.data(),
                                     expected_version.data() + expected_version.size(), expected);
    if (ec != std::errc() || end != expected_version.data() + expected_version.size()) {
      return Status::invalid("lease version '" + expected_version + "' is not a kv version");
    }
  }
  auto version = store_->put(ns_, key_, encodeLease(record), expected, 0);
  if (!version) return version.status();
  LeaseRecord stored = record;
  stored.version = std::to_string(version.value());
  return stored;
}

std::string KvLeaseBackend::describe() const { return "kv_store:" + ns_ + "/" + key_; }

struct LeaderElector::State {
  State(PluginContext& c, std::shared_ptr<LeaseBackend> b, LeaderElectionOptions o)
      : ctx(c), backend(std::move(b)), options(std::move(o)) {}

  PluginContext& ctx;
  std::shared_ptr<LeaseBackend> backend;
  LeaderElectionOptions options;
  std::mutex tick_mutex;  // one step at a time (timer and tests)
  mutable std::mutex mutex;
  bool leading = false;
  bool stopped = false;
  std::chrono::steady_clock::time_point valid_until{};
  std::string holder;
  std::string version;   // of the record we last wrote or read
  bool failing = false;  // a backend error was logged; log the recovery once
  std::vector<TimerId> timers;

  bool isLeader() const {
    std::lock_guard lock(mutex);
    return leading && ctx.clock().steadyNow() < valid_until;
  }

  void setLeading(bool now_leading, std::chrono::steady_clock::time_point until,
                  const std::string& new_holder, const std::string& new_version) {
    bool changed = false;
    {
      std::lock_guard lock(mutex);
      changed = leading != now_leading;
      leading = now_leading;
      valid_until = until;
      holder = new_holder;
      version = new_version;
    }
    if (!changed) return;
    const LogField fields[] = {
        {"lease", backend->describe()}, {"identity", options.identity}, {"holder", new_holder}};
    ctx.logger().log(
        LogLevel::kInfo,
        now_leading ? "leader election: became leader" : "leader election: lost leadership",
        fields);
    if (options.on_change) options.on_change(now_leading);
  }

  void tick() {
    std::lock_guard step(tick_mutex);
    {
      std::lock_guard lock(mutex);
      if (stopped) return;
    }
    const auto started = ctx.clock().steadyNow();
    const Timestamp now = micros(ctx.clock().now());
    const auto lease_until = started + options.lease_duration;
    // Leadership that ran out without a renewal (isLeader() has said false since) is a loss,
    // reported before anything else, so on_change follows isLeader(): a renewal below is then
    // a new gain, and another holder found below changes nothing more.
    bool lapsed = false;
    std::string last_holder;
    {
      std::lock_guard lock(mutex);
      lapsed = leading && started >= valid_until;
      last_holder = holder;
    }
    if (lapsed) setLeading(false, {}, last_holder, "");
    auto current = backend->read();
    if (!current) return onError(current.status());
    LeaseRecord next;
    std::string expected;
    if (!current.value()) {
      next = LeaseRecord{options.identity, now, now, options.lease_duration.count(), 0, {}};
    } else {
      const LeaseRecord& seen = *current.value();
      expected = seen.version;
      const bool expired =
          seen.holder.empty() || seen.renewed_at + seen.duration_seconds * 1'000'000 < now;
      if (seen.holder == options.identity) {
        next = seen;  // renew
        next.renewed_at = now;
        next.duration_seconds = options.lease_duration.count();
      } else if (expired) {
        next = LeaseRecord{options.identity,     now, now, options.lease_duration.count(),
                           seen.transitions + 1, {}};
      } else {
        recovered();
        return setLeading(false, {}, seen.holder, seen.version);
      }
    }
    auto written = backend->write(next, expected);
    if (!written) {
      if (written.status().code() == StatusCode::kConflict) {
        recovered();  // another candidate moved first; read who on the next tick
        return setLeading(false, {}, "", "");
      }
      return onError(written.status());
    }
    recovered();
    setLeading(true, lease_until, options.identity, written.value().version);
  }

  void onError(const Status& status) {
    bool log_it = false;
    {
      std::lock_guard lock(mutex);
      log_it = !failing;
      failing = true;
    }
    if (log_it) {
      const LogField fields[] = {{"lease", backend->describe()}, {"error", status.message()}};
      ctx.logger().log(LogLevel::kWarn, "leader election: lease backend failed", fields);
    }
    // Keep leading only while the last renewal is still valid.
    bool still_valid = false;
    std::string last_holder;
    std::string last_version;
    {
      std::lock_guard lock(mutex);
      still_valid = leading && ctx.clock().steadyNow() < valid_until;
      last_holder = holder;
      last_version = version;
    }
    if (!still_valid) setLeading(false, {}, last_holder, last_version);
  }

  void recovered() {
    bool log_it = false;
    {
      std::lock_guard lock(mutex);
      log_it = failing;
      failing = false;
    }
    if (log_it) {
      const LogField fields[] = {{"lease", backend->describe()}};
      ctx.logger().log(LogLevel::kInfo, "leader election: lease backend answers again", fields);
    }
  }

  void release() {
    std::lock_guard step(tick_mutex);
    std::string expected;
    bool was_leading = false;
    {
      std::lock_guard lock(mutex);
      if (stopped) return;
      stopped = true;
      was_leading = leading && ctx.clock().steadyNow() < valid_until;
      expected = version;
    }
    if (was_leading) {
      LeaseRecord released{"", 0, 0, options.lease_duration.count(), 0, {}};
      if (auto current = backend->read();
          current && current.value() && current.value()->holder == options.identity) {
        released.transitions = current.value()->transitions;
        released.acquired_at = current.value()->acquired_at;
        (void)backend->write(released, current.value()->version);
      }
    }
    setLeading(false, {}, "", "");
  }
};

LeaderElector::LeaderElector(std::shared_ptr<State> state) : state_(std::move(state)) {}

LeaderElector::~LeaderElector() = default;

Result<std::shared_ptr<LeaderElector>> LeaderElector::start(PluginContext& ctx,
                                                            std::shared_ptr<LeaseBackend> backend,
                                                            LeaderElectionOptions options) {
  if (!backend) return Status::invalid("leader election: no lease backend");
  if (options.name.empty()) return Status::invalid("leader election: options.name is required");
  if (options.identity.empty()) options.identity = ctx.runtime().instance_id;
  if (options.identity.empty()) {
    return Status::invalid("leader election: no identity (set options.identity or HOSTNAME)");
  }
  if (options.renew_period.count() <= 0 || options.renew_period >= options.lease_duration) {
    return Status::invalid("leader election '" + options.name +
                           "': renew_period must be > 0 and shorter than lease_duration");
  }
  auto state = std::make_shared<State>(ctx, std::move(backend), std::move(options));
  std::weak_ptr<State> weak = state;
  auto run = [weak] {
    if (auto s = weak.lock()) s->tick();
  };
  state->timers.push_back(
      ctx.scheduler().after(state->options.name + "-first", std::chrono::milliseconds(0), run));
  state->timers.push_back(ctx.scheduler().every(
      state->options.name,
      std::chrono::duration_cast<std::chrono::milliseconds>(state->options.renew_period), run));
  return std::shared_ptr<LeaderElector>(new LeaderElector(std::move(state)));
}

bool LeaderElector::isLeader() const { return state_->isLeader(); }

std::string LeaderElector::holder() const {
  std::lock_guard lock(state_->mutex);
  return state_->holder;
}

void LeaderElector::tick() { state_->tick(); }

void LeaderElector::stop() {
  for (TimerId id : state_->timers) state_->ctx.scheduler().cancel(id);
  state_->timers.clear();
  state_->release();
}

}  // namespace appliance
