#include <gtest/gtest.h>

#include <string>

#include "appliance/config.h"
#include "sqlite_config.h"

namespace appliance::plugins::storage_sqlite {
namespace {

// The storage_sqlite section of `yaml` (file name "test.yaml", so errors say "test.yaml:N").
ConfigNode section(const std::string& yaml) {
  Result<ConfigNode> root = ConfigNode::parse(yaml, "test.yaml");
  EXPECT_TRUE(root.isOk()) << root.status().message();
  return root.isOk() ? root->child("storage_sqlite") : ConfigNode();
}

TEST(SqliteConfig, DefaultsWhenTheSectionIsAbsent) {
  Result<SqliteConfig> config = parseConfig(section("other: 1\n"));
  ASSERT_TRUE(config.isOk()) << config.status().message();
  EXPECT_EQ(config->path, "");
  EXPECT_EQ(config->busy_timeout, std::chrono::milliseconds(5000));
  EXPECT_EQ(config->synchronous, Synchronous::kFull);
  EXPECT_EQ(config->readers, 4);
  EXPECT_EQ(config->cache_kib, 512);
  EXPECT_EQ(config->tombstone_retention, std::chrono::hours(24 * 30));
  EXPECT_EQ(config->wal_checkpoint_bytes, 16 << 20);
}

TEST(SqliteConfig, ReadsEveryKey) {
  Result<SqliteConfig> config = parseConfig(
      section("storage_sqlite:\n  path: /var/lib/appliance/tasks.db\n  busy_timeout: 250ms\n"
              "  synchronous: normal\n  readers: 8\n  cache_kib: 4096\n"));
  ASSERT_TRUE(config.isOk()) << config.status().message();
  EXPECT_EQ(config->path, "/var/lib/appliance/tasks.db");
  EXPECT_EQ(config->busy_timeout, std::chrono::milliseconds(250));
  EXPECT_EQ(config->synchronous, Synchronous::kNormal);
  EXPECT_EQ(config->readers, 8);
  EXPECT_EQ(config->cache_kib, 4096);
}

TEST(SqliteConfig, ReadsRetentionAndWalBound) {
  Result<SqliteConfig> config = parseConfig(
      section("storage_sqlite:\n  tombstone_retention: 48h\n  wal_checkpoint_bytes: 4194304\n"));
  ASSERT_TRUE(config.isOk()) << config.status().message();
  EXPECT_EQ(config->tombstone_retention, std::chrono::hours(48));
  EXPECT_EQ(config->wal_checkpoint_bytes, 4194304);

  config =
      parseConfig(section("storage_sqlite:\n  tombstone_retention: 0\n"
                          "  wal_checkpoint_bytes: 0\n"));
  ASSERT_TRUE(config.isOk()) << config.status().message();
  EXPECT_EQ(config->tombstone_retention.count(), 0);
  EXPECT_EQ(config->wal_checkpoint_bytes, 0);
}

TEST(SqliteConfig, RetentionAndWalBoundAreChecked) {
  Result<SqliteConfig> config =
      parseConfig(section("storage_sqlite:\n  tombstone_retention: a month\n"));
  ASSERT_FALSE(config.isOk());
  EXPECT_NE(config.status().message().find("tombstone_retention"), std::string::npos)
      << config.status().message();
  config = parseConfig(section("storage_sqlite:\n  wal_checkpoint_bytes: 4096\n"));
  ASSERT_FALSE(config.isOk());
  EXPECT_NE(config.status().message().find("test.yaml:2"), std::string::npos)
      << config.status().message();
  EXPECT_NE(config.status().message().find("1 MiB"), std::string::npos)
      << config.status().message();
  EXPECT_FALSE(parseConfig(section("storage_sqlite:\n  wal_checkpoint_bytes: -1\n")).isOk());
}

TEST(SqliteConfig, DefaultPathIsUnderTheDataFolder) {
  SqliteConfig config;
  EXPECT_EQ(resolvedPath(config, "/srv/data"), "/srv/data/appliance.db");
  EXPECT_EQ(resolvedPath(config, "/srv/data/"), "/srv/data/appliance.db");
  EXPECT_EQ(resolvedPath(config, ""), "./data/appliance.db");
  config.path = "custom/tasks.db";
  EXPECT_EQ(resolvedPath(config, "/srv/data"), "custom/tasks.db");
}

TEST(SqliteConfig, UnknownKeyIsRejectedWithFileAndLine) {
  Result<SqliteConfig> config =
      parseConfig(section("storage_sqlite:\n  path: x.db\n  readrs: 2\n"));
  ASSERT_FALSE(config.isOk());
  EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(config.status().message().find("test.yaml:3"), std::string::npos)
      << config.status().message();
  EXPECT_NE(config.status().message().find("readrs"), std::string::npos)
      << config.status().message();
}

TEST(SqliteConfig, SynchronousMustBeAKnownMode) {
  Result<SqliteConfig> config = parseConfig(section("storage_sqlite:\n  synchronous: fast\n"));
  ASSERT_FALSE(config.isOk());
  const std::string message = config.status().message();
  EXPECT_NE(message.find("test.yaml:2"), std::string::npos) << message;
  EXPECT_NE(message.find("synchronous"), std::string::npos) << message;
  EXPECT_NE(message.find("normal"), std::string::npos) << message;
  EXPECT_NE(message.find("extra"), std::string::npos) << message;
}

TEST(SqliteConfig, ReadersMustBeInRange) {
  EXPECT_FALSE(parseConfig(section("storage_sqlite:\n  readers: 0\n")).isOk());
  EXPECT_FALSE(parseConfig(section("storage_sqlite:\n  readers: 65\n")).isOk());
  EXPECT_FALSE(parseConfig(section("storage_sqlite:\n  cache_kib: 1\n")).isOk());
  EXPECT_FALSE(parseConfig(section("storage_sqlite:\n  readers: many\n")).isOk());
  EXPECT_TRUE(parseConfig(section("storage_sqlite:\n  readers: 1\n")).isOk());
}

TEST(SqliteConfig, BusyTimeoutMustBeADuration) {
  Result<SqliteConfig> config = parseConfig(section("storage_sqlite:\n  busy_timeout: soon\n"));
  ASSERT_FALSE(config.isOk());
  EXPECT_NE(config.status().message().find("busy_timeout"), std::string::npos)
      << config.status().message();
}

TEST(SqliteConfig, JournalModeCannotBeSet) {
  Result<SqliteConfig> config = parseConfig(section("storage_sqlite:\n  journal_mode: delete\n"));
  ASSERT_FALSE(config.isOk());
  const std::string message = config.status().message();
  EXPECT_NE(message.find("test.yaml:2"), std::string::npos) << message;
  EXPECT_NE(message.find("WAL"), std::string::npos) << message;
}

TEST(SqliteConfig, InMemoryPathIsRejected) {
  Result<SqliteConfig> config = parseConfig(section("storage_sqlite:\n  path: \":memory:\"\n"));
  ASSERT_FALSE(config.isOk());
  EXPECT_NE(config.status().message().find("path"), std::string::npos) << config.status().message();
}

TEST(SqliteConfig, EveryErrorIsReportedAtOnce) {
  Result<SqliteConfig> config =
      parseConfig(section("storage_sqlite:\n  readers: 0\n  synchronous: fast\n  colour: blue\n"));
  ASSERT_FALSE(config.isOk());
  const std::string message = config.status().message();
  EXPECT_NE(message.find("test.yaml:2"), std::string::npos) << message;
  EXPECT_NE(message.find("test.yaml:3"), std::string::npos) << message;
  EXPECT_NE(message.find("test.yaml:4"), std::string::npos) << message;
}

}  // namespace
}  // namespace appliance::plugins::storage_sqlite
