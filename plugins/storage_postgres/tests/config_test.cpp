#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "postgres_config.h"

namespace appliance::plugins::storage_postgres {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Parses `yaml` (a whole file) and its storage_postgres section, with a fake environment.
Result<PostgresConfig> parse(const std::string& yaml, std::map<std::string, std::string> env = {}) {
  auto root = ConfigNode::parse(yaml, "test.yaml");
  EXPECT_TRUE(root.isOk()) << root.status().message();
  if (!root.isOk()) return root.status();
  auto lookup = [env = std::move(env)](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  return parsePostgresConfig(root->child("storage_postgres"), lookup);
}

std::string errorOf(const Result<PostgresConfig>& result) {
  EXPECT_FALSE(result.isOk());
  return result.isOk() ? std::string() : result.status().message();
}

// A temp file holding `content`, removed with the object.
struct TempFile {
  explicit TempFile(const std::string& content) {
    path = (std::filesystem::temp_directory_path() /
            ("pg_password_" + std::to_string(::getpid()) + "_" + std::to_string(counter++)))
               .string();
    std::ofstream(path) << content;
  }
  ~TempFile() { std::remove(path.c_str()); }
  std::string path;
  static inline int counter = 0;
};

TEST(PostgresConfig, ReadsUrlAndDefaults) {
  auto config = parse("storage_postgres:\n  url: postgresql://app@db:5432/tasks\n");
  ASSERT_TRUE(config.isOk()) << config.status().message();
  EXPECT_EQ(config->url, "postgresql://app@db:5432/tasks");
  EXPECT_EQ(config->url_origin, "storage_postgres.url");
  EXPECT_EQ(config->pool.max, 8);
  EXPECT_EQ(config->pool.min, 1);
  EXPECT_EQ(config->pool.acquire_timeout, std::chrono::seconds(2));
  EXPECT_EQ(config->statement_timeout, std::chrono::seconds(5));
  EXPECT_EQ(config->tombstone_retention, std::chrono::hours(24 * 30));
}

TEST(PostgresConfig, ReadsEveryKey) {
  TempFile password("from-file\n");
  auto config = parse(
      "storage_postgres:\n"
      "  host: db.example\n  port: 6432\n  dbname: tasks\n  user: app\n"
      "  password_file: " +
      password.path +
      "\n"
      "  sslmode: verify-full\n  sslrootcert: /etc/rds-ca.pem\n"
      "  pool:\n    min: 2\n    max: 40\n    acquire_timeout: 750ms\n    idle_timeout: 2m\n"
      "  statement_timeout: 3s\n  connect_timeout: 4s\n  counts_max_age: 10s\n"
      "  application_name: tasks-api\n  tombstone_retention: 168h\n");
  ASSERT_TRUE(config.isOk()) << config.status().message();
  EXPECT_EQ(config->host, "db.example");
  EXPECT_EQ(config->port, "6432");
  EXPECT_EQ(config->sslmode, "verify-full");
  EXPECT_EQ(config->pool.min, 2);
  EXPECT_EQ(config->pool.max, 40);
  EXPECT_EQ(config->pool.acquire_timeout, std::chrono::milliseconds(750));
  EXPECT_EQ(config->pool.idle_timeout, std::chrono::minutes(2));
  EXPECT_EQ(config->statement_timeout, std::chrono::seconds(3));
  EXPECT_EQ(config->connect_timeout, std::chrono::seconds(4));
  EXPECT_EQ(config->counts_max_age, std::chrono::seconds(10));
  EXPECT_EQ(config->application_name, "tasks-api");
  EXPECT_EQ(config->tombstone_retention, std::chrono::hours(168));
  EXPECT_TRUE(config->url.empty());
}

TEST(PostgresConfig, FallsBackToDatabaseUrl) {
  auto config = parse("storage_postgres:\n  pool:\n    max: 4\n",
                      {{"DATABASE_URL", "postgresql://u:pw@h/d"}});
  ASSERT_TRUE(config.isOk()) << config.status().message();
  EXPECT_EQ(config->url, "postgresql://u:pw@h/d");
  EXPECT_EQ(config->url_origin, "DATABASE_URL");
}

TEST(PostgresConfig, ExplicitUrlWinsOverDatabaseUrl) {
  auto config =
      parse("storage_postgres:\n  url: postgresql://a/b\n", {{"DATABASE_URL", "postgresql://c/d"}});
  ASSERT_TRUE(config.isOk());
  EXPECT_EQ(config->url, "postgresql://a/b");
}

TEST(PostgresConfig, RequiresSomewhereToConnect) {
  const std::string error = errorOf(parse("storage_postgres:\n  pool:\n    max: 4\n"));
  EXPECT_THAT(error, HasSubstr("storage_postgres.url"));
  EXPECT_THAT(error, HasSubstr("DATABASE_URL"));
  EXPECT_THAT(error, HasSubstr("test.yaml:"));
}

TEST(PostgresConfig, RejectsUnknownKeysWithTheirLocation) {
  const std::string error = errorOf(
      parse("storage_postgres:\n  url: postgresql://a/b\n  pool:\n    maxx: 3\n  hots: x\n"));
  EXPECT_THAT(error, HasSubstr("test.yaml:4: storage_postgres.pool.maxx: unknown key"));
  EXPECT_THAT(error, HasSubstr("test.yaml:5: storage_postgres.hots: unknown key"));
}

TEST(PostgresConfig, RejectsBadValuesPrecisely) {
  EXPECT_THAT(errorOf(parse("storage_postgres:\n  host: h\n  port: 99999\n")),
              HasSubstr("storage_postgres.port: must be a TCP port"));
  EXPECT_THAT(errorOf(parse("storage_postgres:\n  host: h\n  sslmode: verify\n")),
              HasSubstr("storage_postgres.sslmode: must be one of"));
  EXPECT_THAT(errorOf(parse("storage_postgres:\n  host: h\n  pool:\n    min: 5\n    max: 2\n")),
              HasSubstr("storage_postgres.pool.min: must not exceed pool.max"));
  EXPECT_THAT(errorOf(parse("storage_postgres:\n  host: h\n  pool:\n    acquire_timeout: soon\n")),
              HasSubstr("storage_postgres.pool.acquire_timeout"));
  EXPECT_THAT(errorOf(parse("storage_postgres:\n  host: h\n  tombstone_retention: forever\n")),
              HasSubstr("storage_postgres.tombstone_retention"));
  auto off = parse("storage_postgres:\n  host: h\n  tombstone_retention: 0\n");
  ASSERT_TRUE(off.isOk()) << off.status().message();
  EXPECT_EQ(off->tombstone_retention.count(), 0);
}

TEST(PostgresConfig, RejectsUnreadableOrEmptyPasswordFile) {
  EXPECT_THAT(errorOf(parse("storage_postgres:\n  host: h\n  password_file: /nonexistent/pw\n")),
              HasSubstr("storage_postgres.password_file: cannot read '/nonexistent/pw'"));
  TempFile empty("");
  EXPECT_THAT(errorOf(parse("storage_postgres:\n  host: h\n  password_file: " + empty.path + "\n")),
              HasSubstr("is empty"));
  EXPECT_THAT(errorOf(parse("storage_postgres:\n  host: h\n  password: a\n  password_file: " +
                            empty.path + "\n")),
              HasSubstr("cannot be combined with password"));
}

TEST(PostgresConfig, InvalidUrlErrorNeverShowsThePassword) {
  const std::string error =
      errorOf(parse("storage_postgres:\n  url: \"postgresql://u:hunter2@h:notaport/d?bogus=1\"\n"));
  EXPECT_THAT(error, HasSubstr("storage_postgres.url: is not a valid libpq URI"));
  EXPECT_THAT(error, Not(HasSubstr("hunter2")));
  const std::string from_env = errorOf(parse("storage_postgres:\n  pool:\n    max: 2\n",
                                             {{"DATABASE_URL", "postgresql://u:hunter2@h/d?x=1"}}));
  EXPECT_THAT(from_env, HasSubstr("DATABASE_URL"));
  EXPECT_THAT(from_env, Not(HasSubstr("hunter2")));
}

TEST(ConnectionParams, DescriptionAndScrubHidePasswords) {
  TempFile password("file-secret\n");
  PostgresConfig config;
  config.url = "postgresql://app:url-secret@db/tasks";
  config.password_file = password.path;
  config.sslmode = "verify-full";
  ConnectionParams params(config);
  EXPECT_THAT(params.description(), Not(HasSubstr("url-secret")));
  EXPECT_THAT(params.description(), HasSubstr("postgresql://app:***@db/tasks"));
  EXPECT_THAT(params.description(), HasSubstr("sslmode=verify-full"));
  auto args = params.build();
  ASSERT_TRUE(args.isOk());
  std::map<std::string, std::string> last;  // later keywords win, as in libpq
  for (std::size_t i = 0; args->keywords[i] != nullptr; ++i)
    last[args->keywords[i]] = args->values[i];
  EXPECT_EQ(last["password"], "file-secret");
  EXPECT_EQ(last["sslmode"], "verify-full");
  EXPECT_EQ(last["dbname"], config.url);
  EXPECT_EQ(params.scrub("auth failed for url-secret and file-secret"),
            "auth failed for *** and ***");
}

}  // namespace
}  // namespace appliance::plugins::storage_postgres
