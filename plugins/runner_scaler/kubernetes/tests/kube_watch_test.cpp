// Watching pods: events in order, resumption after dropped connections with nothing missed
// or repeated, 410 Gone followed by a relist.
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>

#include "kube_test_support.h"
#include "resource_watch.h"

namespace appliance::plugins::runner_scaler::kube {
namespace {

using namespace std::chrono_literals;

// What a ResourceWatch delivered, for assertions.
struct Recorder {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::pair<std::string, std::string>> events;  // (type, name)
  std::vector<std::string> versions;
  std::vector<std::set<std::string>> syncs;  // names in each on_sync

  ResourceWatchHandlers handlers() {
    ResourceWatchHandlers h;
    h.on_sync = [this](const ObjectList& state) {
      std::lock_guard lock(mutex);
      std::set<std::string> names;
      for (const auto& item : state.items) names.insert(nameOf(item));
      syncs.push_back(std::move(names));
      changed.notify_all();
    };
    h.on_event = [this](const WatchEvent& e) {
      std::lock_guard lock(mutex);
      events.emplace_back(watchEventTypeName(e.type), nameOf(e.object));
      versions.push_back(resourceVersionOf(e.object));
      changed.notify_all();
    };
    return h;
  }
  bool waitFor(const std::function<bool()>& done, std::chrono::seconds timeout = 20s) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, timeout, done);
  }
};

ResourceWatchOptions podWatch(const std::string& selector = "app=runner") {
  ResourceWatchOptions options;
  options.type = kPods;
  options.ns = "ci";
  options.label_selector = selector;
  options.retry_delay = 50ms;
  options.max_retry_delay = 400ms;
  return options;
}

TEST_F(KubeFakeTest, AWatchDeliversChangesInOrderAfterTheInitialList) {
  auto kube = client();
  ASSERT_TRUE(kube);
  ASSERT_TRUE(kube->create(kPods, "ci", makePod("before", R"({"app":"runner"})")));
  Recorder seen;
  ResourceWatch watch(kube, podWatch(), seen.handlers(), log_);
  watch.start();
  ASSERT_TRUE(seen.waitFor([&] { return seen.syncs.size() == 1; }));
  EXPECT_EQ(seen.syncs[0], std::set<std::string>{"before"});

  ASSERT_TRUE(kube->create(kPods, "ci", makePod("a", R"({"app":"runner"})")));
  ASSERT_TRUE(kube->create(kPods, "ci", makePod("web", R"({"app":"web"})")));  // not selected
  auto patch = parseObject(R"({"status":{"phase":"Running"}})", "p");
  ASSERT_EQ(server_.control("POST", "/_fake/objects/pods/ci/a", toJson(patch.value())), 200);
  ASSERT_TRUE(kube->remove(kPods, "ci", "before"));
  ASSERT_TRUE(seen.waitFor([&] { return seen.events.size() >= 3; }));
  watch.stop();
  const std::vector<std::pair<std::string, std::string>> expected{
      {"ADDED", "a"}, {"MODIFIED", "a"}, {"DELETED", "before"}};
  EXPECT_EQ(seen.events, expected);
}

TEST_F(KubeFakeTest, ADroppedWatchResumesWithoutMissingOrRepeatingAnEvent) {
  auto kube = client();
  ASSERT_TRUE(kube);
  Recorder seen;
  ResourceWatch watch(kube, podWatch(), seen.handlers(), log_);
  watch.start();
  ASSERT_TRUE(seen.waitFor([&] { return seen.syncs.size() == 1; }));
  constexpr int kPodsToMake = 40;
  for (int i = 0; i < kPodsToMake; ++i) {
    ASSERT_TRUE(kube->create(kPods, "ci", makePod("p" + std::to_string(i), R"({"app":"runner"})")));
    if (i % 8 == 3) server_.dropWatches();  // mid-stream, while events keep coming
  }
  ASSERT_TRUE(seen.waitFor([&] { return seen.events.size() >= kPodsToMake; }))
      << "got " << seen.events.size();
  std::this_thread::sleep_for(300ms);  // anything repeated would arrive now
  watch.stop();
  std::map<std::string, int> added;
  for (const auto& [type, name] : seen.events) {
    EXPECT_EQ(type, "ADDED");
    ++added[name];
  }
  EXPECT_EQ(added.size(), static_cast<std::size_t>(kPodsToMake));
  for (const auto& [name, times] : added) EXPECT_EQ(times, 1) << name;
  for (std::size_t i = 1; i < seen.versions.size(); ++i) {
    EXPECT_LT(std::stoll(seen.versions[i - 1]), std::stoll(seen.versions[i]));
  }
  const auto stats = watch.stats();
  EXPECT_GE(stats.resumes, 1u);
  EXPECT_EQ(stats.lists, 1u);  // resumed from versions, never relisted
  EXPECT_EQ(stats.gone, 0u);
}

TEST_F(KubeFakeTest, AVersionOutOfTheServersHistoryIsGoneAndTheWatchRelists) {
  auto kube = client();
  ASSERT_TRUE(kube);
  Recorder seen;
  ResourceWatch watch(kube, podWatch(), seen.handlers(), log_);
  watch.start();
  ASSERT_TRUE(seen.waitFor([&] { return seen.syncs.size() == 1; }));
  ASSERT_TRUE(kube->create(kPods, "ci", makePod("seen", R"({"app":"runner"})")));
  ASSERT_TRUE(seen.waitFor([&] { return seen.events.size() == 1; }));

  // The watch is cut and cannot come back while a pod is created and the server forgets its
  // history (an etcd compaction): when it does, its version is too old.
  server_.failNext(503, 1000, "", "GET", "/pods");
  server_.dropWatches();
  std::this_thread::sleep_for(200ms);
  ASSERT_TRUE(kube->create(kPods, "ci", makePod("missed", R"({"app":"runner"})")));
  server_.compact();
  server_.control("DELETE", "/_fake/fail");

  ASSERT_TRUE(seen.waitFor([&] { return seen.syncs.size() == 2; }));
  EXPECT_EQ(seen.syncs[1], (std::set<std::string>{"missed", "seen"}));
  ASSERT_TRUE(kube->create(kPods, "ci", makePod("after", R"({"app":"runner"})")));
  ASSERT_TRUE(seen.waitFor([&] { return seen.events.back().second == "after"; }));
  watch.stop();
  const auto stats = watch.stats();
  EXPECT_EQ(stats.gone, 1u);
  EXPECT_EQ(stats.lists, 2u);
}

TEST_F(KubeFakeTest, OneWatchCallReportsGoneTimeoutAndCancellation) {
  auto kube = client();
  ASSERT_TRUE(kube);
  auto x = kube->create(kPods, "ci", makePod("x"));
  ASSERT_TRUE(x);
  ASSERT_TRUE(kube->create(kPods, "ci", makePod("y")));
  server_.compact();  // history now starts after y
  WatchOptions old;
  old.resource_version = resourceVersionOf(x.value());
  WatchEnd gone = kube->watch(kPods, "ci", old, [](const WatchEvent&) { return true; });
  EXPECT_EQ(gone.reason, WatchEnd::kGone);
  EXPECT_NE(gone.error.message().find("410 Expired"), std::string::npos) << gone.error.message();

  WatchOptions brief;
  brief.timeout_seconds = 1;
  int added = 0;
  WatchEnd timed_out = kube->watch(kPods, "ci", brief, [&](const WatchEvent& e) {
    added += e.type == WatchEventType::kAdded;
    return true;
  });
  EXPECT_EQ(timed_out.reason, WatchEnd::kClosed);
  EXPECT_TRUE(timed_out.error.isOk()) << timed_out.error.message();
  EXPECT_EQ(added, 2);  // no version: the current state arrives as ADDED events
  EXPECT_FALSE(timed_out.resource_version.empty());

  WatchOptions long_one;
  long_one.canceller = std::make_shared<WatchCanceller>();
  std::thread canceller([&] {
    std::this_thread::sleep_for(300ms);
    long_one.canceller->cancel();
  });
  const auto started = std::chrono::steady_clock::now();
  WatchEnd cancelled = kube->watch(kPods, "ci", long_one, [](const WatchEvent&) { return true; });
  canceller.join();
  EXPECT_EQ(cancelled.reason, WatchEnd::kStopped);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 20s);  // not the 300 s server timeout
}

}  // namespace
}  // namespace appliance::plugins::runner_scaler::kube

namespace appliance::plugins::runner_scaler::kube {
namespace {

TEST_F(KubeFakeTest, AQuietWatchPastTheIdleTimeoutResumesWithoutComplaint) {
  ASSERT_EQ(server_.control("POST", "/_fake/config", R"({"bookmark_interval":1000})"), 200);
  KubeClientOptions options = fastOptions();
  options.watch_idle_timeout = std::chrono::milliseconds(300);
  auto kube = client(options);
  ASSERT_TRUE(kube);
  Recorder seen;
  ResourceWatch watch(kube, podWatch(), seen.handlers(), log_);
  watch.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  ASSERT_TRUE(kube->create(kPods, "ci", makePod("late", R"({"app":"runner"})")));
  ASSERT_TRUE(seen.waitFor([&] { return seen.events.size() == 1; }));
  watch.stop();
  EXPECT_GE(watch.stats().resumes, 2u);
  EXPECT_EQ(watch.stats().failures, 0u);
  EXPECT_EQ(watch.stats().lists, 1u);
  for (const auto& line : log_.lines()) EXPECT_NE(line.level, LogLevel::kWarn) << line.message;
}

}  // namespace
}  // namespace appliance::plugins::runner_scaler::kube
