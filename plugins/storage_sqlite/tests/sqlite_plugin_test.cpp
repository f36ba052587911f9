// The storage_sqlite plugin driven through its lifecycle with the SDK's FakeContext.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "appliance/testing/fake_context.h"
#include "sqlite_plugin.h"
#include "temp_dir.h"

namespace appliance::plugins::storage_sqlite {
namespace {

ConfigNode section(const std::string& yaml) {
  Result<ConfigNode> root = ConfigNode::parse(yaml, "test.yaml");
  EXPECT_TRUE(root.isOk()) << root.status().message();
  return root.isOk() ? root->child("storage_sqlite") : ConfigNode();
}

HealthResult healthOf(appliance::testing::FakeContext& context) {
  auto results = context.health_checks.run();
  auto it = results.find("storage_sqlite");
  EXPECT_NE(it, results.end()) << "no storage_sqlite health check";
  return it == results.end() ? HealthResult{false, "missing"} : it->second;
}

TEST(SqlitePlugin, ProvidesTheTaskStoreOnTheDefaultPathUnderTheDataFolder) {
  TempDir dir;
  appliance::testing::FakeContext context("storage_sqlite");
  context.runtime_info.data_dir = dir.file("data");
  SqlitePlugin plugin;
  ASSERT_TRUE(plugin.configure(section("storage_sqlite:\n  readers: 2\n")).isOk());
  ASSERT_TRUE(plugin.init(context).isOk());

  std::shared_ptr<TaskStore> store = context.services().find<TaskStore>();
  ASSERT_NE(store, nullptr);
  EXPECT_FALSE(healthOf(context).healthy) << "healthy before start";

  ASSERT_TRUE(plugin.start().isOk());
  EXPECT_TRUE(std::filesystem::exists(dir.file("data/appliance.db")));
  HealthResult health = healthOf(context);
  EXPECT_TRUE(health.healthy) << health.message;

  NewTask task;
  task.title = "through the service";
  task.content = "c";
  task.due_date = "2030-01-01";
  task.request_at = 1'700'000'000'000'000;  // the context's clock: inside the retention window
  Result<Task> created = store->create(task);
  ASSERT_TRUE(created.isOk()) << created.status().message();
  // created_at comes from the context's clock.
  EXPECT_EQ(created->created_at, 1'700'000'000'000'000);

  plugin.stop(std::chrono::steady_clock::now() + std::chrono::seconds(5));
  EXPECT_FALSE(healthOf(context).healthy) << "healthy after stop";
  EXPECT_EQ(store->get(created->id).status().code(), StatusCode::kUnavailable);
}

TEST(SqlitePlugin, ProvidesTheKvStoreInTheSameFileAndPurgesExpiredEntries) {
  TempDir dir;
  appliance::testing::FakeContext context("storage_sqlite");
  context.runtime_info.data_dir = dir.file("data");
  SqlitePlugin plugin;
  ASSERT_TRUE(plugin.configure(section("storage_sqlite:\n  readers: 1\n")).isOk());
  ASSERT_TRUE(plugin.init(context).isOk());
  std::shared_ptr<KvStore> kv = context.services().find<KvStore>();
  ASSERT_NE(kv, nullptr);
  EXPECT_EQ(kv.get(), plugin.kvStore().get());
  EXPECT_EQ(kv->get("ns", "k").status().code(), StatusCode::kUnavailable) << "before start";
  ASSERT_TRUE(plugin.start().isOk());

  const Timestamp now = 1'700'000'000'000'000;  // the context's manual clock
  ASSERT_TRUE(kv->put("ns", "forever", "x").isOk());
  ASSERT_TRUE(kv->put("ns", "brief", "x", kKvAnyVersion, now + 1'000'000).isOk());
  auto rows = [&] {
    auto count = plugin.kvStore()->list("ns", "");
    return count.isOk() ? count->size() : 99;
  };
  EXPECT_EQ(rows(), 2u);
  context.manual_clock.advance(std::chrono::seconds(2));
  EXPECT_EQ(rows(), 1u) << "expired: invisible at once";
  // The row itself goes once it has been expired for the purge margin.
  EXPECT_EQ(plugin.kvStore()->purgeExpired().value(), 0);
  context.manual_clock.advance(SqliteKvStore::kKvPurgeMargin);
  ASSERT_TRUE(context.timers.fire("storage_sqlite.kv_purge"));
  EXPECT_EQ(plugin.kvStore()->purgeExpired().value(), 0) << "the timer purged it already";
  EXPECT_TRUE(kv->get("ns", "forever").value().has_value());

  plugin.stop(std::chrono::steady_clock::now() + std::chrono::seconds(5));
  EXPECT_EQ(kv->put("ns", "late", "x").status().code(), StatusCode::kUnavailable);
}

TEST(SqlitePlugin, ConfiguredPathWins) {
  TempDir dir;
  appliance::testing::FakeContext context("storage_sqlite");
  context.runtime_info.data_dir = dir.file("data");
  SqlitePlugin plugin;
  ASSERT_TRUE(plugin
                  .configure(section("storage_sqlite:\n  path: " + dir.file("x/tasks.db") +
                                     "\n  synchronous: normal\n"))
                  .isOk());
  ASSERT_TRUE(plugin.init(context).isOk());
  ASSERT_TRUE(plugin.start().isOk());
  EXPECT_TRUE(std::filesystem::exists(dir.file("x/tasks.db")));
  EXPECT_FALSE(std::filesystem::exists(dir.file("data/appliance.db")));
  EXPECT_TRUE(context.log.contains(dir.file("x/tasks.db")));
  plugin.stop(std::chrono::steady_clock::now());
}

TEST(SqlitePlugin, StartFailsWithThePathWhenTheFileCannotBeCreated) {
  TempDir dir;
  std::ofstream(dir.file("blocker")) << "not a folder";
  appliance::testing::FakeContext context("storage_sqlite");
  SqlitePlugin plugin;
  const std::string path = dir.file("blocker/tasks.db");
  ASSERT_TRUE(plugin.configure(section("storage_sqlite:\n  path: " + path + "\n")).isOk());
  ASSERT_TRUE(plugin.init(context).isOk());
  Status status = plugin.start();
  ASSERT_FALSE(status.isOk());
  EXPECT_NE(status.message().find(path), std::string::npos) << status.message();
  EXPECT_FALSE(healthOf(context).healthy);
}

TEST(SqlitePlugin, ConfigureRejectsAnUnknownKey) {
  SqlitePlugin plugin;
  Status status = plugin.configure(section("storage_sqlite:\n  pathh: x.db\n"));
  ASSERT_FALSE(status.isOk());
  EXPECT_NE(status.message().find("test.yaml:2"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("pathh"), std::string::npos) << status.message();
}

TEST(SqlitePlugin, PurgesExpiredTombstonesOnItsTimerAndCountsThem) {
  TempDir dir;
  appliance::testing::FakeContext context("storage_sqlite");
  context.runtime_info.data_dir = dir.path();
  SqlitePlugin plugin;
  ASSERT_TRUE(plugin.configure(section("storage_sqlite:\n  tombstone_retention: 1h\n")).isOk());
  ASSERT_TRUE(plugin.init(context).isOk());
  ASSERT_TRUE(plugin.start().isOk());
  std::shared_ptr<TaskStore> store = context.services().find<TaskStore>();

  const Timestamp now = 1'700'000'000'000'000;  // the context's manual clock
  NewTask task;
  task.title = "short-lived";
  task.content = "c";
  task.due_date = "2030-01-01";
  task.request_at = now;
  Result<Task> created = store->create(task);
  ASSERT_TRUE(created.isOk()) << created.status().message();
  ASSERT_TRUE(store->remove(created->id, now + 1).isOk());

  ASSERT_TRUE(context.timers.fire("storage_sqlite.purge"));
  EXPECT_EQ(context.metricValue("appliance_sqlite_tombstones_purged_total"), 0.0)
      << "purged before the retention window passed";
  context.manual_clock.advance(std::chrono::hours(1) + kPurgeMargin + std::chrono::seconds(1));
  ASSERT_TRUE(context.timers.fire("storage_sqlite.purge"));
  EXPECT_EQ(context.metricValue("appliance_sqlite_tombstones_purged_total"), 1.0);
  EXPECT_TRUE(context.log.contains("purged expired tombstones"));

  // The purged task cannot come back: its late replay is refused.
  Result<Task> replay = store->create(task);
  EXPECT_EQ(replay.status().code(), StatusCode::kConflict) << replay.status().message();

  ASSERT_TRUE(context.timers.fire("storage_sqlite.wal"));
  EXPECT_GT(context.metricValue("appliance_sqlite_wal_bytes").value_or(0), 0.0);
  plugin.stop(std::chrono::steady_clock::now() + std::chrono::seconds(5));
}

TEST(SqlitePlugin, ZeroRetentionHasNoPurgeTimer) {
  TempDir dir;
  appliance::testing::FakeContext context("storage_sqlite");
  context.runtime_info.data_dir = dir.path();
  SqlitePlugin plugin;
  ASSERT_TRUE(plugin.configure(section("storage_sqlite:\n  tombstone_retention: 0\n")).isOk());
  ASSERT_TRUE(plugin.init(context).isOk());
  EXPECT_FALSE(context.timers.fire("storage_sqlite.purge"));
}

}  // namespace
}  // namespace appliance::plugins::storage_sqlite
