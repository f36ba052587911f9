// POST /webhooks/github and GET /runners through FakeContext: signatures, dedupe, events,
// label matching, and the scaling that follows, on a manual clock.
#include <gtest/gtest.h>

#include <fstream>

#include "appliance/testing/in_memory_kv_store.h"
#include "test_support.h"

namespace appliance::plugins::runner_scaler {
namespace {

using test::baseConfig;
using test::Harness;
using test::jobEvent;
using test::signedHeaders;

const std::vector<std::string> kLinux = {"self-hosted", "Linux", "terraform", "kubernetes"};

TEST(Signature, GitHubsDocumentedTestVector) {
  EXPECT_EQ(hmacSha256Hex("It's a Secret to Everybody", "Hello, World!"),
            "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
  EXPECT_TRUE(
      verifySignature("It's a Secret to Everybody", "Hello, World!",
                      "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"));
  EXPECT_FALSE(
      verifySignature("It's a Secret to Everybody", "Hello, World",
                      "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"));
  EXPECT_FALSE(
      verifySignature("wrong", "Hello, World!",
                      "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"));
  EXPECT_FALSE(
      verifySignature("It's a Secret to Everybody", "Hello, World!",
                      "sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"));
  EXPECT_FALSE(verifySignature("It's a Secret to Everybody", "Hello, World!", "sha256=7571"));
  EXPECT_FALSE(verifySignature("", "", "sha256=" + hmacSha256Hex("", "")));
}

TEST(Webhook, RefusesUnsignedWrongAndTruncatedDeliveriesWithoutCountingThem) {
  Harness h(baseConfig());
  const std::string body = jobEvent("queued", 11, kLinux);
  auto unsigned_rs =
      h.ctx.router.call("POST", "/webhooks/github", body, {{"X-GitHub-Event", "workflow_job"}});
  EXPECT_EQ(unsigned_rs.status, 401);
  auto wrong = h.ctx.router.call("POST", "/webhooks/github", body,
                                 signedHeaders(body, "d1", "workflow_job", "not the secret"));
  EXPECT_EQ(wrong.status, 401);
  auto headers = signedHeaders(body, "d2");
  auto truncated =
      h.ctx.router.call("POST", "/webhooks/github", body.substr(0, body.size() - 5), headers);
  EXPECT_EQ(truncated.status, 401);
  h.step();
  EXPECT_EQ(h.metric("appliance_jobs_queued", {{"pool", "linux"}}), 0);
  EXPECT_EQ(h.metric("appliance_webhook_deliveries_total", {{"result", "unsigned"}}), 1);
  EXPECT_EQ(h.metric("appliance_webhook_deliveries_total", {{"result", "bad_signature"}}), 2);
  // A refused delivery id is not remembered: the genuine delivery still counts.
  EXPECT_EQ(h.ctx.router.call("POST", "/webhooks/github", body, headers).status, 202);
  h.step();
  EXPECT_EQ(h.metric("appliance_jobs_queued", {{"pool", "linux"}}), 1);
}

TEST(Webhook, ARotatedSecretFileIsPickedUpOnReload) {
  const std::string file = test::tempFile("webhook_secret", "first-secret\n");
  Harness h(std::string("github: {webhook_secret_file: ") + file + "}\n" +
            "pools: [{name: linux, labels: [linux]}]\n");
  const std::string body = jobEvent("queued", 1, {"linux"});
  auto with = [&](const std::string& secret, const std::string& id) {
    return h.ctx.router
        .call("POST", "/webhooks/github", body, signedHeaders(body, id, "workflow_job", secret))
        .status;
  };
  EXPECT_EQ(with("first-secret", "r1"), 202);
  std::ofstream(file) << "second-secret\n";
  EXPECT_EQ(with("second-secret", "r2"), 401);  // not before the reload
  h.ctx.reload();
  EXPECT_EQ(with("second-secret", "r3"), 202);
  EXPECT_EQ(with("first-secret", "r4"), 401);
  std::ofstream(file) << "";  // emptied: keep the current secret
  h.ctx.reload();
  EXPECT_EQ(with("second-secret", "r5"), 202);
  EXPECT_FALSE(h.ctx.log.contains("second-secret"));
}

TEST(Webhook, PingOtherEventsAndBadJson) {
  Harness h(baseConfig());
  EXPECT_EQ(h.send(R"({"zen":"Keep it logically awesome."})", "p1", "ping").status, 200);
  EXPECT_EQ(h.send(R"({"action":"opened"})", "p2", "pull_request").status, 202);
  EXPECT_EQ(h.send("{not json", "p3").status, 400);
  EXPECT_EQ(h.send(R"({"action":"exploded","workflow_job":{"id":1}})", "p4").status, 400);
  EXPECT_EQ(h.metric("appliance_webhook_deliveries_total", {{"result", "ping"}}), 1);
  EXPECT_EQ(h.metric("appliance_webhook_deliveries_total", {{"result", "ignored"}}), 1);
  EXPECT_EQ(h.metric("appliance_webhook_deliveries_total", {{"result", "invalid"}}), 2);
}

TEST(Webhook, BodiesOver25MBAreRefusedWith413) {
  Harness h(baseConfig());
  const std::string big(25u * 1024 * 1024 + 1, 'x');
  EXPECT_EQ(h.ctx.router.call("POST", "/webhooks/github", big, signedHeaders(big, "big")).status,
            413);
}

TEST(Webhook, DeduplicatesOnDeliveryIdAndKeepsTheSetBounded) {
  Harness h(baseConfig("", "dedupe_deliveries: 100\n"));
  const std::string body = jobEvent("queued", 21, kLinux);
  EXPECT_EQ(h.send(body, "same").status, 202);
  EXPECT_EQ(h.send(body, "same").status, 200);
  EXPECT_EQ(h.metric("appliance_webhook_deliveries_total", {{"result", "duplicate"}}), 1);
  // The same job under a new delivery id is still one job (keyed by job id).
  EXPECT_EQ(h.send(body, "other").status, 202);
  h.step();
  EXPECT_EQ(h.metric("appliance_jobs_queued", {{"pool", "linux"}}), 1);
  for (int k = 0; k < 150; ++k) h.plugin.scaler()->rememberDelivery("fill-" + std::to_string(k));
  EXPECT_TRUE(h.plugin.scaler()->rememberDelivery("same"));  // forgotten: oldest went first
}

TEST(Webhook, LabelsPickTheMostSpecificPoolAndUnmatchedJobsAreLoggedOnce) {
  Harness h(baseConfig());
  h.send(jobEvent("queued", 31, {"self-hosted", "LINUX"}), "a");  // both fit: gpu has fewer
  h.send(jobEvent("queued", 32, {"linux", "terraform"}), "b");
  h.send(jobEvent("queued", 33, {"self-hosted", "GPU", "linux"}), "c");
  h.send(jobEvent("queued", 34, {"ubuntu-latest"}), "d");
  h.send(jobEvent("queued", 35, {"ubuntu-latest"}), "e");
  h.step();
  EXPECT_EQ(h.metric("appliance_jobs_queued", {{"pool", "gpu"}}), 2);
  EXPECT_EQ(h.metric("appliance_jobs_queued", {{"pool", "linux"}}), 1);
  EXPECT_EQ(h.metric("appliance_jobs_unmatched"), 2);
  int logged = 0;
  for (const auto& line : h.ctx.log.lines()) {
    if (line.message.find("matches no runner pool") != std::string::npos) {
      ++logged;
      EXPECT_EQ(line.fields.at("labels"), "ubuntu-latest");
    }
  }
  EXPECT_EQ(logged, 1);
}

TEST(Scaling, ABurstScalesUpOnceAndRunnersBootThenServe) {
  Harness h(baseConfig());
  for (int k = 0; k < 7; ++k) {
    EXPECT_EQ(h.send(jobEvent("queued", 100 + k, kLinux), "burst-" + std::to_string(k)).status,
              202);
  }
  h.step();
  EXPECT_EQ(h.metric("appliance_runners_desired", {{"pool", "linux"}}), 7);
  EXPECT_EQ(h.metric("appliance_runners_booting", {{"pool", "linux"}}), 7);
  EXPECT_EQ(h.metric("appliance_scale_events_total",
                     {{"pool", "linux"}, {"direction", "up"}, {"reason", "demand"}}),
            1);
  EXPECT_TRUE(h.ctx.log.contains("scale_up demand=7 current=0 desired=7 pool=linux"));
  h.advance(std::chrono::seconds(20));
  h.step();
  EXPECT_EQ(h.metric("appliance_runners_idle", {{"pool", "linux"}}), 7);
  for (int k = 0; k < 3; ++k)
    h.send(jobEvent("in_progress", 100 + k, kLinux), "s" + std::to_string(k));
  h.step();
  EXPECT_EQ(h.metric("appliance_runners_busy", {{"pool", "linux"}}), 3);
  EXPECT_EQ(h.metric("appliance_jobs_in_progress", {{"pool", "linux"}}), 3);
  EXPECT_EQ(h.metric("appliance_job_queue_wait_seconds", {{"pool", "linux"}}), 3);  // samples
}

TEST(Scaling, NoScaleDownBeforeTheDelayAndNeverABusyRunner) {
  Harness h(baseConfig());
  for (int k = 0; k < 3; ++k) h.send(jobEvent("queued", 200 + k, kLinux), "q" + std::to_string(k));
  h.step();
  h.advance(std::chrono::seconds(20));
  h.send(jobEvent("in_progress", 200, kLinux), "s0");
  h.send(jobEvent("completed", 201, kLinux), "c1");
  h.send(jobEvent("completed", 202, kLinux), "c2");
  h.step();
  EXPECT_EQ(h.metric("appliance_runners_current", {{"pool", "linux"}}), 3);
  h.advance(std::chrono::seconds(299));
  h.step();
  EXPECT_EQ(h.metric("appliance_runners_current", {{"pool", "linux"}}), 3);
  h.advance(std::chrono::seconds(1));
  h.step();
  EXPECT_EQ(h.metric("appliance_runners_current", {{"pool", "linux"}}), 1);
  EXPECT_EQ(h.metric("appliance_runners_busy", {{"pool", "linux"}}), 1);
  h.advance(std::chrono::hours(2));
  h.step();
  EXPECT_EQ(h.metric("appliance_runners_busy", {{"pool", "linux"}}), 1);  // still running
  h.send(jobEvent("completed", 200, kLinux), "c0");
  h.step();
  h.advance(std::chrono::minutes(5));
  h.step();
  EXPECT_EQ(h.metric("appliance_runners_current", {{"pool", "linux"}}), 0);
  EXPECT_GT(h.metric("appliance_job_duration_seconds", {{"pool", "linux"}}), 0);
}

TEST(Scaling, BudgetExhaustionStopsGrowthLogsAndCounts) {
  Harness h(baseConfig("    budget: 10\n    cost_per_runner_hour: 0.6\n"));
  for (int k = 0; k < 2; ++k) h.send(jobEvent("queued", 300 + k, kLinux), "q" + std::to_string(k));
  h.step();
  h.advance(std::chrono::minutes(5));  // 2 runners x 5 min = the whole budget
  h.step();
  EXPECT_EQ(h.metric("appliance_runner_minutes_total", {{"pool", "linux"}}), 10);
  EXPECT_NEAR(h.metric("appliance_runner_cost_dollars_total", {{"pool", "linux"}}), 0.1, 1e-9);
  h.send(jobEvent("queued", 302, kLinux), "q2");
  h.step();
  EXPECT_EQ(h.metric("appliance_runners_current", {{"pool", "linux"}}), 2);
  EXPECT_EQ(h.metric("appliance_runner_budget_exhausted", {{"pool", "linux"}}), 1);
  EXPECT_EQ(h.metric("appliance_scale_events_total",
                     {{"pool", "linux"}, {"direction", "hold"}, {"reason", "budget_exhausted"}}),
            1);
  EXPECT_TRUE(h.ctx.log.contains("runner-minutes spent; no new runners"));
  h.step();  // the same hold is not logged or counted again
  EXPECT_EQ(h.metric("appliance_scale_events_total",
                     {{"pool", "linux"}, {"direction", "hold"}, {"reason", "budget_exhausted"}}),
            1);
}

TEST(Scaling, TheBudgetDayEndsAtMidnightInBudgetTimeZone) {
  // The manual clock starts on Tuesday 2023-11-14 22:13:20 UTC: 23:13:20 in Berlin (UTC+1),
  // so Berlin's Wednesday begins at 23:00 UTC, UTC's an hour later.
  for (const std::string zone : {"Europe/Berlin", "UTC"}) {
    Harness h(baseConfig("    budget: 10\n    budget_time_zone: " + zone + "\n"));
    for (int k = 0; k < 2; ++k)
      h.send(jobEvent("queued", 310 + k, kLinux), "q" + std::to_string(k));
    h.step();
    h.advance(std::chrono::minutes(5));  // 2 runners x 5 min = the whole budget
    h.step();
    h.send(jobEvent("queued", 312, kLinux), "q2");
    h.step();
    EXPECT_EQ(h.metric("appliance_runner_budget_exhausted", {{"pool", "linux"}}), 1) << zone;
    h.advance(std::chrono::minutes(41) + std::chrono::seconds(30));  // 22:59:50 UTC
    h.step();
    h.advance(std::chrono::seconds(30));  // 23:00:20 UTC: 30 s of 2 runners on the new day
    h.step();
    const bool berlin = zone == "Europe/Berlin";
    EXPECT_EQ(h.metric("appliance_runner_budget_exhausted", {{"pool", "linux"}}), berlin ? 0 : 1)
        << zone;
    EXPECT_EQ(h.metric("appliance_runners_current", {{"pool", "linux"}}), berlin ? 3 : 2) << zone;
  }
}

TEST(Scaling, ScheduleSwitchesLimitsAtItsBoundary) {
  // The manual clock starts on Tuesday 2023-11-14 22:13:20 UTC.
  Harness h(baseConfig(
      "    schedules:\n      - {name: late, days: tue, start: \"22:15\", end: \"23:00\", "
      "time_zone: UTC, min: 2}\n"));
  h.step();
  EXPECT_EQ(h.metric("appliance_runners_desired", {{"pool", "linux"}}), 0);
  h.advance(std::chrono::seconds(99));
  h.step();
  EXPECT_EQ(h.metric("appliance_runners_desired", {{"pool", "linux"}}), 0);
  h.advance(std::chrono::seconds(1));
  h.step();
  EXPECT_EQ(h.metric("appliance_runners_desired", {{"pool", "linux"}}), 2);
  EXPECT_EQ(h.metric("appliance_runners_current", {{"pool", "linux"}}), 2);
  const auto rs = h.ctx.router.call("GET", "/runners");
  EXPECT_NE(rs.body.find("\"schedule\":\"late\""), std::string::npos) << rs.body;
  h.advance(std::chrono::minutes(45));
  h.step();
  EXPECT_EQ(h.metric("appliance_runners_desired", {{"pool", "linux"}}), 0);
}

TEST(Scaling, AbsoluteStatisticsFromASourceReplaceThePerJobCount) {
  // Part 2's scale-set source reports totalAssignedJobs; the policy is the same.
  Harness h(baseConfig());
  h.send(jobEvent("queued", 800, kLinux), "q");
  h.plugin.scaler()->statistics("linux", JobDemand{4, 2});
  h.plugin.scaler()->statistics("no-such-pool", JobDemand{9, 9});
  h.step();
  EXPECT_EQ(h.metric("appliance_jobs_queued", {{"pool", "linux"}}), 4);
  EXPECT_EQ(h.metric("appliance_jobs_in_progress", {{"pool", "linux"}}), 2);
  EXPECT_EQ(h.metric("appliance_runners_desired", {{"pool", "linux"}}), 6);
}

TEST(Runners, JsonByDefaultHtmlForBrowsers) {
  Harness h(baseConfig());
  h.send(jobEvent("queued", 400, kLinux), "q");
  h.step();
  const auto json = h.ctx.router.call("GET", "/runners");
  EXPECT_EQ(json.status, 200);
  EXPECT_EQ(json.content_type, "application/json");
  for (const char* part : {"\"backend\":\"dry_run\"", "\"name\":\"linux\"",
                           "\"demand\":{\"queued\":1,\"in_progress\":0}", "\"desired\":1",
                           "\"booting\":1", "\"decisions\":[{", "scale_up demand=1",
                           "\"limits\":{\"min\":0,\"max\":10,\"min_idle\":0}"}) {
    EXPECT_NE(json.body.find(part), std::string::npos) << part << "\n" << json.body;
  }
  const auto html = h.ctx.router.call("GET", "/runners", "", {{"Accept", "text/html,*/*"}});
  EXPECT_EQ(html.content_type, "text/html; charset=utf-8");
  EXPECT_NE(html.body.find("<h2>linux</h2>"), std::string::npos);
}

TEST(Runners, RecentDecisionsAreBounded) {
  Harness h(baseConfig("", "recent_decisions: 3\n"));
  for (int k = 0; k < 6; ++k) {
    h.send(jobEvent("queued", 500 + k, kLinux), "q" + std::to_string(k));
    h.step();
  }
  const auto body = h.ctx.router.call("GET", "/runners").body;
  std::size_t count = 0;
  for (auto pos = body.find("\"action\":"); pos != std::string::npos;
       pos = body.find("\"action\":", pos + 1)) {
    ++count;
  }
  EXPECT_EQ(count, 3u);
}

TEST(Persistence, StateSurvivesARestartThroughKvStore) {
  testing::ManualClock kv_clock;  // the harnesses' clocks start at the same instant
  auto kv = std::make_shared<testing::InMemoryKvStore>(&kv_clock);
  {
    Harness h(baseConfig("    budget: 1000\n"));
    h.plugin.scaler()->attachStore(kv);
    h.send(jobEvent("queued", 600, kLinux), "once");
    h.send(jobEvent("in_progress", 601, kLinux), "twice");
    h.step();
    h.advance(std::chrono::minutes(3));
    h.step();
  }
  Harness h(baseConfig("    budget: 1000\n"));
  h.advance(std::chrono::minutes(3));
  h.plugin.scaler()->attachStore(kv);
  EXPECT_EQ(h.send(jobEvent("queued", 600, kLinux), "once").status, 200);  // remembered
  h.step();
  EXPECT_EQ(h.metric("appliance_jobs_queued", {{"pool", "linux"}}), 1);
  EXPECT_EQ(h.metric("appliance_jobs_in_progress", {{"pool", "linux"}}), 1);
  const auto body = h.ctx.router.call("GET", "/runners").body;
  EXPECT_NE(body.find("\"used_minutes\":6"), std::string::npos) << body;
}

TEST(Persistence, WithoutKvStoreTheRealStartLogsOnceAndRuns) {
  Harness h(baseConfig());
  ASSERT_TRUE(h.plugin.start().isOk());
  EXPECT_TRUE(h.ctx.log.contains("no kv_store service"));
  h.plugin.stop(std::chrono::steady_clock::now() + std::chrono::seconds(5));
}

TEST(Secrets, NeverLogged) {
  Harness h(baseConfig());
  h.send(jobEvent("queued", 700, kLinux), "x");
  h.step();
  EXPECT_FALSE(h.ctx.log.contains(test::kSecret));
}

}  // namespace
}  // namespace appliance::plugins::runner_scaler
