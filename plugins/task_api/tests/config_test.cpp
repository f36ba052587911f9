#include "config.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace appliance::plugins::task_api {
namespace {

Result<TaskApiConfig> parse(const std::string& yaml) { return parseConfig(test::yamlNode(yaml)); }

TEST(TaskApiConfig, Defaults) {
  Result<TaskApiConfig> config = parse("auth: {tokens: [a-token-0123456789abcdef]}\n");
  ASSERT_TRUE(config.isOk()) << config.status().message();
  EXPECT_TRUE(config->auth.enabled);
  EXPECT_EQ(config->list.default_limit, 100u);
  EXPECT_EQ(config->list.max_limit, 1000u);
  EXPECT_EQ(config->metrics_refresh, std::chrono::seconds(15));
  EXPECT_TRUE(config->docs_enabled);
  EXPECT_TRUE(config->docs_dir.empty());
}

TEST(TaskApiConfig, EveryKey) {
  Result<TaskApiConfig> config = parse(
      "auth:\n  enabled: false\n"
      "list:\n  default_limit: 20\n  max_limit: 50\n"
      "metrics_refresh: 30s\n"
      "docs:\n  enabled: false\n  dir: /opt/docs\n");
  ASSERT_TRUE(config.isOk()) << config.status().message();
  EXPECT_FALSE(config->auth.enabled);
  EXPECT_EQ(config->list.default_limit, 20u);
  EXPECT_EQ(config->list.max_limit, 50u);
  EXPECT_EQ(config->metrics_refresh, std::chrono::seconds(30));
  EXPECT_FALSE(config->docs_enabled);
  EXPECT_EQ(config->docs_dir, "/opt/docs");
}

TEST(TaskApiConfig, DefaultLimitMayNotExceedMaxLimit) {
  Result<TaskApiConfig> config =
      parse("auth: {enabled: false}\nlist:\n  default_limit: 200\n  max_limit: 100\n");
  ASSERT_FALSE(config.isOk());
  EXPECT_NE(config.status().message().find("test.yaml:"), std::string::npos)
      << config.status().message();
  EXPECT_NE(config.status().message().find("must not exceed list.max_limit (100)"),
            std::string::npos)
      << config.status().message();
}

TEST(TaskApiConfig, RejectsOutOfRangeValues) {
  EXPECT_FALSE(parse("auth: {enabled: false}\nlist: {max_limit: 0}\n").isOk());
  EXPECT_FALSE(parse("auth: {enabled: false}\nmetrics_refresh: 10ms\n").isOk());
  EXPECT_FALSE(parse("auth: {enabled: maybe}\n").isOk());
}

TEST(TaskApiConfig, RejectsUnknownKeysAtEveryLevel) {
  for (const char* yaml :
       {"auth: {enabled: false}\nlisten: 0.0.0.0:80\n", "auth: {enabled: false, token: x}\n",
        "auth: {enabled: false}\nlist: {limit: 5}\n",
        "auth: {enabled: false}\ndocs: {path: /x}\n"}) {
    Result<TaskApiConfig> config = parse(yaml);
    ASSERT_FALSE(config.isOk()) << yaml;
    EXPECT_NE(config.status().message().find("unknown key"), std::string::npos)
        << config.status().message();
  }
}

TEST(TaskApiConfig, AuthEnabledByDefaultNeedsASource) {
  Result<TaskApiConfig> config = parse("list: {default_limit: 10}\n");
  ASSERT_FALSE(config.isOk());
  EXPECT_NE(config.status().message().find("no token source is configured"), std::string::npos)
      << config.status().message();
}

}  // namespace
}  // namespace appliance::plugins::task_api
