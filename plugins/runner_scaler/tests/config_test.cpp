#include "config.h"

#include <gtest/gtest.h>

#include <fstream>

#include "test_support.h"

namespace appliance::plugins::runner_scaler {
namespace {

Result<ScalerConfig> parse(const std::string& yaml) {
  auto node = ConfigNode::parse(yaml, "scaler.yaml");
  EXPECT_TRUE(node.isOk());
  return parseConfig(*node);
}

std::string errorOf(const std::string& yaml) {
  auto r = parse(yaml);
  return r.isOk() ? std::string("(no error)") : r.status().message();
}

TEST(Config, ReadsEveryKeyOfTheIssue) {
  const std::string key_file =
      test::tempFile("app.pem", "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n");
  const std::string secret_file = test::tempFile("webhook", "s3cret\n");
  auto c = parse(R"(backend: dry_run
github:
  api_url: https://ghe.example.com/api/v3/
  app: {id: "12", installation_id: "34", private_key_file: )" +
                 key_file + R"(}
  webhook_secret_file: )" +
                 secret_file + R"(
  organization: acme
  poll_interval: 2m
pools:
  - name: linux
    labels: [Linux, terraform, kubernetes, self-hosted]
    min: 2
    max: 10
    min_idle: 1
    scale_down_delay: 10m
    idle_timeout: 1h
    boot_timeout: 15m
    budget: 6000
    budget_time_zone: America/New_York
    cost_per_runner_hour: 0.12
    schedules:
      - {name: working-hours, days: mon-fri, start: "08:00", end: "18:00", time_zone: Europe/Berlin, min: 4, min_idle: 2}
    runner:
      image: ghcr.io/actions/actions-runner:2.321.0
      resources: {requests: {cpu: 500m, memory: 2Gi}, limits: {cpu: "2", memory: 4Gi}}
      work_volume_size: 20Gi
      ephemeral: false
      node_selector: {appliance.io/node-pool: runners}
      tolerations:
        - {key: appliance.io/runners, operator: Equal, value: "true", effect: NoSchedule}
        - {key: spot, operator: Exists, tolerationSeconds: 30}
)");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->github.api_url, "https://ghe.example.com/api/v3");
  EXPECT_EQ(c->github.webhook_secret, "s3cret");
  EXPECT_EQ(c->github.app->id, "12");
  EXPECT_EQ(c->github.poll_interval, std::chrono::minutes(2));
  EXPECT_TRUE(c->github.polling());
  const auto& p = c->pools.at(0);
  EXPECT_EQ(p.labels, (std::vector<std::string>{"kubernetes", "linux", "terraform"}));
  EXPECT_EQ(p.policy.limits.min, 2);
  EXPECT_EQ(p.policy.limits.min_idle, 1);
  EXPECT_EQ(p.policy.scale_down_delay, std::chrono::minutes(10));
  EXPECT_EQ(p.policy.budget_minutes_per_day, 6000);
  EXPECT_EQ(p.budget_zone->name(), "America/New_York");
  ASSERT_EQ(p.policy.schedules.size(), 1u);
  EXPECT_EQ(p.policy.schedules[0].start_minute, 480);
  EXPECT_EQ(*p.policy.schedules[0].min, 4);
  EXPECT_FALSE(p.policy.schedules[0].max);
  EXPECT_EQ(p.runner.requests.at("cpu"), "500m");
  EXPECT_EQ(p.runner.node_selector.at("appliance.io/node-pool"), "runners");
  EXPECT_EQ(p.runner.tolerations.at(1).toleration_seconds, 30);
  EXPECT_FALSE(p.runner.ephemeral);
}

TEST(Config, DefaultsAreTheIssues) {
  auto c = parse("pools: [{name: linux, labels: [linux]}]\n");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->backend, "dry_run");
  EXPECT_EQ(c->github.api_url, "https://api.github.com");
  EXPECT_EQ(c->github.poll_interval, std::chrono::seconds(60));
  EXPECT_EQ(c->pools[0].policy.scale_down_delay, std::chrono::minutes(5));
  EXPECT_EQ(c->pools[0].runner.work_volume_size, "20Gi");
  EXPECT_EQ(c->pools[0].budget_zone->name(), "UTC");
  EXPECT_TRUE(c->pools[0].runner.ephemeral);
  EXPECT_FALSE(c->github.polling());
}

TEST(Config, RejectsBadInputWithLocationAndFix) {
  struct Case {
    std::string yaml, expected;
  } cases[] = {
      {"pools: []\n", "at least one runner pool"},
      {"backend: nomad\npools: [{name: a}]\n", "backend"},
      {"pools: [{name: a, min: 5, max: 2}]\n", "must not exceed max"},
      {"pools: [{name: a, min_idle: 5, max: 2}]\n", "min_idle"},
      {"pools: [{name: Bad_Name}]\n", "DNS label"},
      {"pools: [{name: a}, {name: a}]\n", "used twice"},
      {"pools: [{name: a, labels: [x, X]}]\n", "twice"},
      {"pools: [{name: a, colour: red}]\n", "colour"},
      {"pools: [{name: a, schedules: [{name: w, days: mon-funday}]}]\n", "day-of-week"},
      {"pools: [{name: a, schedules: [{name: w, start: \"25:00\"}]}]\n", "HH:MM"},
      {"pools: [{name: a, schedules: [{name: w, time_zone: Mars/Base}]}]\n", "IANA"},
      {"pools: [{name: a, budget_time_zone: Mars/Base}]\n", "budget_time_zone: "},
      {"pools: [{name: a, runner: {ephemeral: sometimes}}]\n", "ephemeral"},
      {"pools: [{name: a, runner: {work_volume_size: twenty}}]\n", "quantity"},
      {"pools: [{name: a, runner: {resources: {requests: {gpu: \"1\"}}}}]\n", "unknown resource"},
      {"pools: [{name: a, runner: {tolerations: [{key: k, operator: Sometimes}]}}]\n", "operator"},
      {"github: {token_file: /nonexistent/token}\npools: [{name: a}]\n",
       "cannot read /nonexistent/token"},
      {"github: {repositories: [not-a-repo]}\npools: [{name: a}]\n", "owner/name"},
      {"github: {repositories: [a/b], organization: o}\npools: [{name: a}]\n", "not both"},
      {"github: {api_url: ftp://x}\npools: [{name: a}]\n", "http(s) URL"},
      {"github: {app: {id: abc, installation_id: \"1\", private_key_file: /nonexistent}}\npools: "
       "[{name: a}]\n",
       "must be a number"},
  };
  for (const auto& c : cases) {
    const std::string error = errorOf(c.yaml);
    EXPECT_NE(error.find(c.expected), std::string::npos) << c.yaml << " -> " << error;
    EXPECT_NE(error.find("scaler.yaml:"), std::string::npos) << error;
  }
}

TEST(Config, SecretsDoNotAppearInErrors) {
  const std::string error = errorOf(
      "github: {webhook_secret: hunter2-very-secret, webhook_secret_file: /nonexistent}\n"
      "pools: [{name: a}]\n");
  EXPECT_EQ(error.find("hunter2"), std::string::npos) << error;
}

TEST(Config, TheShippedEnvironmentsParse) {
  // config/local.yaml's pool and the dev/prod seed pools (1-3, 2-10) stay valid.
  for (const char* yaml :
       {"pools: [{name: default, labels: [linux, terraform, kubernetes], min: 1, max: 3}]\n",
        "pools: [{name: default, labels: [linux, terraform, kubernetes], min: 2, max: 10}]\n"}) {
    EXPECT_TRUE(parse(yaml).isOk()) << yaml;
  }
}

TEST(Config, CronDays) {
  EXPECT_EQ(*parseDays("mon-fri"),
            (std::array<bool, 7>{false, true, true, true, true, true, false}));
  EXPECT_EQ(*parseDays("sat,sun"),
            (std::array<bool, 7>{true, false, false, false, false, false, true}));
  EXPECT_EQ(*parseDays("5-7"), (std::array<bool, 7>{true, false, false, false, false, true, true}));
  EXPECT_FALSE(parseDays("fri-mon"));
  EXPECT_FALSE(parseDays(""));
  EXPECT_EQ(*parseClock("24:00"), 1440);
  EXPECT_FALSE(parseClock("8:00"));
}

}  // namespace
}  // namespace appliance::plugins::runner_scaler
