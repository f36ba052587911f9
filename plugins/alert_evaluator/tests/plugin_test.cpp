// The loadable plugin through FakeContext: config validation, the scrape source, the
// evaluation loop and its metrics, the Alertmanager notifier (batches, endsAt, resend,
// resolved window, retries, drops), persisted state and its restore, and the HTTP views.
#include "plugin/alert_evaluator_plugin.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "appliance/testing/fake_context.h"
#include "appliance/testing/in_memory_kv_store.h"
#include "plugin/notifier.h"
#include "plugin/scraper.h"
#include "promql/evaluator.h"
#include "promql/parser.h"

namespace appliance::plugins::alert_evaluator {
namespace {

using namespace std::chrono_literals;
using appliance::testing::FakeContext;
using appliance::testing::InMemoryKvStore;

constexpr const char* kRules = R"(groups:
  - name: demo
    interval: 30s
    rules:
      - alert: FooHigh
        expr: foo > 0
        for: 1m
        labels:
          severity: page
        annotations:
          summary: "foo is {{ $value }} on {{ $labels.instance }}"
)";

struct Posted {
  std::string url;
  std::string body;
};

class PluginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("alert_evaluator_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    writeFile("rules.yaml", kRules);
    ctx_.manual_clock.set(
        std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000)));
    ctx_.http_client->setHandler(handler());
  }
  appliance::testing::FakeHttpClient::Handler handler() {
    return [this](const HttpClientRequest& r) -> Result<HttpClientResponse> {
      std::lock_guard lock(mutex_);
      HttpClientResponse response;
      if (r.url.find("/metrics") != std::string::npos) {
        if (target_down_) return Status::unavailable("connect refused");
        response.status = 200;
        response.body = metrics_;
        return response;
      }
      posted_.push_back({r.url, r.body});
      response.status = am_status_;
      return response;
    };
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string writeFile(const std::string& name, const std::string& text) {
    const auto path = dir_ / name;
    std::ofstream(path) << text;
    return path.string();
  }

  std::string baseConfig(const std::string& extra = "") {
    return "alert_evaluator:\n  rule_files: [" + (dir_ / "rules.yaml").string() +
           "]\n  scrape:\n    targets: [http://target:9100/metrics]\n    interval: 30s\n"
           "  alertmanager:\n    urls: [http://am1:9093, http://am2:9093/]\n    resend_delay: "
           "1m\n" +
           extra;
  }

  Status configure(AlertEvaluatorPlugin& plugin, const std::string& yaml) {
    auto root = ConfigNode::parse(yaml, (dir_ / "test.yaml").string());
    EXPECT_TRUE(root.isOk()) << root.status().message();
    return plugin.configure(root->child("alert_evaluator"));
  }

  std::unique_ptr<AlertEvaluatorPlugin> startPlugin(FakeContext& ctx, const std::string& yaml) {
    auto plugin = std::make_unique<AlertEvaluatorPlugin>();
    Status s = configure(*plugin, yaml);
    EXPECT_TRUE(s.isOk()) << s.message();
    s = plugin->init(ctx);
    EXPECT_TRUE(s.isOk()) << s.message();
    s = plugin->start();
    EXPECT_TRUE(s.isOk()) << s.message();
    return plugin;
  }

  void setMetrics(std::string text) {
    std::lock_guard lock(mutex_);
    metrics_ = std::move(text);
  }
  std::vector<Posted> takePosted() {
    std::lock_guard lock(mutex_);
    return std::exchange(posted_, {});
  }
  // One scrape and one evaluation at the current time, then the notifier's flush.
  void step(AlertEvaluatorPlugin& plugin, std::chrono::seconds advance = 0s) {
    ctx_.manual_clock.advance(advance);
    plugin.scrapeAll();
    plugin.evaluateGroup(0);
    plugin.flushNotifications();
  }

  static Poco::JSON::Array::Ptr parseArray(const std::string& body) {
    Poco::JSON::Parser parser;
    return parser.parse(body).extract<Poco::JSON::Array::Ptr>();
  }
  static Poco::JSON::Object::Ptr parseObject(const std::string& body) {
    Poco::JSON::Parser parser;
    return parser.parse(body).extract<Poco::JSON::Object::Ptr>();
  }

  std::filesystem::path dir_;
  FakeContext ctx_{"alert_evaluator"};
  std::mutex mutex_;
  std::string metrics_ = "foo 1\n";
  bool target_down_ = false;
  int am_status_ = 200;
  std::vector<Posted> posted_;
};

// --- Configuration -------------------------------------------------------------------------

TEST_F(PluginTest, RuleFilesAreRequired) {
  AlertEvaluatorPlugin plugin;
  const Status s = configure(plugin, "alert_evaluator:\n  evaluation_interval: 1m\n");
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("alert_evaluator.rule_files: is required"), std::string::npos)
      << s.message();
}

TEST_F(PluginTest, StrictConfigErrorsNameTheKey) {
  AlertEvaluatorPlugin plugin;
  const Status s = configure(plugin, baseConfig("  source: prometheus\n  bogus: 1\n"
                                                "  external_labels: {\"bad-name\": x}\n"
                                                "  webhook:\n    urls: [ftp://x]\n"));
  ASSERT_FALSE(s.isOk());
  const std::string& m = s.message();
  EXPECT_NE(m.find("alert_evaluator.prometheus.url: is required with source: prometheus"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("alert_evaluator.bogus: unknown key"), std::string::npos) << m;
  EXPECT_NE(m.find("'bad-name' is not a valid label name"), std::string::npos) << m;
  EXPECT_NE(m.find("'ftp://x' is not an http:// or https:// URL"), std::string::npos) << m;
  EXPECT_NE(m.find("test.yaml:"), std::string::npos) << m;
}

TEST_F(PluginTest, BadRuleFileStopsStartUpWithFileLineColumnGroupAndRule) {
  writeFile(
      "rules.yaml",
      "groups:\n  - name: g1\n    rules:\n      - alert: Broken\n        expr: rate(foo[5m]\n");
  AlertEvaluatorPlugin plugin;
  const Status s = configure(plugin, baseConfig());
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find((dir_ / "rules.yaml").string() +
                             ":5:15: group \"g1\", rule \"Broken\", could not parse expression"),
            std::string::npos)
      << s.message();
}

TEST_F(PluginTest, RelativeRuleFilesResolveAgainstTheConfigFile) {
  AlertEvaluatorPlugin plugin;
  const Status s = configure(plugin, "alert_evaluator:\n  rule_files: [rules.yaml]\n");
  ASSERT_TRUE(s.isOk()) << s.message();
  ASSERT_EQ(plugin.config().loaded.size(), 1u);
  EXPECT_EQ(plugin.config().rule_files[0], (dir_ / "rules.yaml").string());
}

TEST_F(PluginTest, UnknownGroupOverrideIsRefusedAtInit) {
  AlertEvaluatorPlugin plugin;
  ASSERT_TRUE(
      configure(plugin,
                baseConfig("  groups:\n    nope:\n      missing_evaluations_to_resolve: 3\n"))
          .isOk());
  const Status s = plugin.init(ctx_);
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("alert_evaluator.groups.nope"), std::string::npos) << s.message();
}

// --- Scraping ------------------------------------------------------------------------------

TEST(Scraper, TargetLabelsStalenessAndFailedTargets) {
  promql::SeriesStore store;
  ScrapeTarget target;
  target.url = "http://h:1/metrics";
  target.labels = promql::Labels({{"job", "j"}, {"instance", "h:1"}});
  auto outcome = [](const std::string& text) {
    ScrapeOutcome o;
    o.parsed = exposition::parse(text);
    return o;
  };
  applyScrape(store, target, outcome("a{job=\"inner\"} 1\nb 2\n"), 1000);
  const promql::Evaluator ev(store);
  auto count = [&](const std::string& q, std::int64_t t) {
    auto parsed = promql::parseExpr(q);
    EXPECT_TRUE(parsed.ok());
    return ev.evaluate(*parsed.expr, t).value.vector.size();
  };
  EXPECT_EQ(count("a{job=\"j\",exported_job=\"inner\",instance=\"h:1\"}", 1000), 1u);
  EXPECT_EQ(count("up{job=\"j\"} == 1", 1000), 1u);
  EXPECT_EQ(count("scrape_samples_scraped == 2", 1000), 1u);
  // b vanishes: stale at once, not after the 5-minute lookback.
  applyScrape(store, target, outcome("a{job=\"inner\"} 1\n"), 2000);
  EXPECT_EQ(count("b", 2000), 0u);
  EXPECT_EQ(count("a", 2000), 1u);
  // The target fails: every series it exposed goes stale, up is 0.
  ScrapeOutcome failed;
  failed.error = "connect refused";
  applyScrape(store, target, std::move(failed), 3000);
  EXPECT_EQ(count("a", 3000), 0u);
  EXPECT_EQ(count("up == 0", 3000), 1u);
}

// fetchTarget's outcome: the text validated (no samples kept), applyScrape reads it again
// into the store. The store ends up as with the parsed samples handed over.
TEST(Scraper, ValidatedTextAppendsLikeParsedSamples) {
  const std::string first = "a{job=\"inner\",x=\"1\"} 1\nb 2\nc 3 500\n";
  const std::string second = "a{job=\"inner\",x=\"1\"} 4\n";
  promql::SeriesStore kept_store, streamed_store;
  ScrapeTarget kept_target, streamed_target;
  kept_target.labels = streamed_target.labels = promql::Labels({{"job", "j"}, {"instance", "h:1"}});
  auto apply = [](promql::SeriesStore& store, ScrapeTarget& target, const std::string& text,
                  bool streamed, std::int64_t ts) {
    ScrapeOutcome o;
    if (streamed) {
      o.parsed = exposition::parse(text, [](exposition::ParsedSample&) {});
      EXPECT_TRUE(o.parsed.samples.empty());
      o.body = text;
    } else {
      o.parsed = exposition::parse(text);
    }
    return applyScrape(store, target, std::move(o), ts);
  };
  EXPECT_EQ(apply(kept_store, kept_target, first, false, 1000), 3u);
  EXPECT_EQ(apply(streamed_store, streamed_target, first, true, 1000), 3u);
  EXPECT_EQ(apply(kept_store, kept_target, second, false, 2000), 1u);
  EXPECT_EQ(apply(streamed_store, streamed_target, second, true, 2000), 1u);
  EXPECT_EQ(streamed_target.last_series, kept_target.last_series);
  ASSERT_EQ(streamed_store.seriesCount(), kept_store.seriesCount());
  for (const char* q :
       {"a{exported_job=\"inner\",job=\"j\"}", "b", "c", "up", "scrape_samples_scraped"}) {
    for (std::int64_t t : {500, 1000, 2000}) {
      auto parsed = promql::parseExpr(q);
      ASSERT_TRUE(parsed.ok()) << q;
      const auto k = promql::Evaluator(kept_store).evaluate(*parsed.expr, t).value.vector;
      const auto s = promql::Evaluator(streamed_store).evaluate(*parsed.expr, t).value.vector;
      ASSERT_EQ(s.size(), k.size()) << q << " at " << t;
      for (std::size_t i = 0; i < s.size(); ++i) {
        EXPECT_EQ(s[i].labels, k[i].labels) << q << " at " << t;
        EXPECT_EQ(s[i].v, k[i].v) << q << " at " << t;
      }
    }
  }
  auto b_at_2000 = promql::parseExpr("b");
  EXPECT_TRUE(
      promql::Evaluator(streamed_store).evaluate(*b_at_2000.expr, 2000).value.vector.empty());
  auto scraped = promql::parseExpr("scrape_samples_scraped");
  const auto v = promql::Evaluator(streamed_store).evaluate(*scraped.expr, 2000).value.vector;
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].v, 1);
}

TEST(Scraper, HonorLabelsKeepsScrapedValues) {
  promql::SeriesStore store;
  ScrapeTarget target;
  target.labels = promql::Labels({{"job", "j"}, {"instance", "h:1"}});
  target.honor_labels = true;
  ScrapeOutcome o;
  o.parsed = exposition::parse("a{job=\"inner\"} 1\n");
  applyScrape(store, target, std::move(o), 1000);
  auto parsed = promql::parseExpr("a{job=\"inner\",instance=\"h:1\"}");
  EXPECT_EQ(promql::Evaluator(store).evaluate(*parsed.expr, 1000).value.vector.size(), 1u);
}

TEST_F(PluginTest, SampleLimitFailsTheScrape) {
  auto plugin = startPlugin(ctx_, baseConfig().replace(baseConfig().find("    interval: 30s"), 0,
                                                       "    sample_limit: 1\n"));
  setMetrics("foo 1\nbar 2\n");
  step(*plugin);
  const auto json = plugin->alertsJson();
  EXPECT_EQ(json.find("FooHigh"), std::string::npos) << json;
}

TEST_F(PluginTest, ScrapesTheTargetWithTheHttpClient) {
  auto plugin = startPlugin(ctx_, baseConfig());
  step(*plugin);
  bool scraped = false;
  for (const auto& r : ctx_.http_client->requests()) {
    if (r.url == "http://target:9100/metrics") scraped = true;
  }
  EXPECT_TRUE(scraped);
  EXPECT_EQ(ctx_.http_client_options.at(0).name, "alert_evaluator");
}

// --- The loop, the notifier -------------------------------------------------------------

TEST_F(PluginTest, PendingFiringResolvedWithAlertmanagerPayloads) {
  auto plugin = startPlugin(ctx_, baseConfig("  external_labels: {cluster: c1}\n"));
  const std::int64_t t0 = 1'700'000'000'000;
  step(*plugin);
  EXPECT_TRUE(takePosted().empty()) << "nothing is sent for pending alerts";
  EXPECT_EQ(ctx_.metricValue("ALERTS", {{"alertname", "FooHigh"},
                                        {"alertstate", "pending"},
                                        {"instance", "target:9100"},
                                        {"job", "appliance"},
                                        {"severity", "page"}}),
            1.0);
  step(*plugin, 30s);
  EXPECT_TRUE(takePosted().empty());
  step(*plugin, 30s);  // t0 + 60s: for elapsed
  auto posted = takePosted();
  ASSERT_EQ(posted.size(), 2u) << "one POST per Alertmanager";
  EXPECT_EQ(posted[0].url, "http://am1:9093/api/v2/alerts");
  EXPECT_EQ(posted[1].url, "http://am2:9093/api/v2/alerts");
  auto arr = parseArray(posted[0].body);
  ASSERT_EQ(arr->size(), 1u);
  auto alert = arr->getObject(0);
  EXPECT_EQ(alert->getObject("labels")->getValue<std::string>("alertname"), "FooHigh");
  EXPECT_EQ(alert->getObject("labels")->getValue<std::string>("cluster"), "c1");
  EXPECT_EQ(alert->getObject("annotations")->getValue<std::string>("summary"),
            "foo is 1 on target:9100");
  EXPECT_EQ(alert->getValue<std::string>("startsAt"), rfc3339(t0));
  // endsAt = now + 4 * max(resend_delay 1m, interval 30s)
  EXPECT_EQ(alert->getValue<std::string>("endsAt"), rfc3339(t0 + 60'000 + 4 * 60'000));
  EXPECT_NE(alert->getValue<std::string>("generatorURL").find("/graph?g0.expr=foo%20%3E%200"),
            std::string::npos);
  EXPECT_EQ(ctx_.metricValue("ALERTS", {{"alertname", "FooHigh"},
                                        {"alertstate", "firing"},
                                        {"instance", "target:9100"},
                                        {"job", "appliance"},
                                        {"severity", "page"}}),
            1.0);
  EXPECT_EQ(ctx_.metricValue("ALERTS_FOR_STATE", {{"alertname", "FooHigh"},
                                                  {"instance", "target:9100"},
                                                  {"job", "appliance"},
                                                  {"severity", "page"}}),
            static_cast<double>(t0 / 1000));
  EXPECT_EQ(
      ctx_.metricValue("appliance_notifications_sent_total", {{"alertmanager", "http://am1:9093"}}),
      1.0);

  step(*plugin, 30s);  // t0 + 90s: last sent 30s ago, resend_delay 1m
  EXPECT_TRUE(takePosted().empty());
  step(*plugin, 30s);  // t0 + 120s: 60s since the last send, not yet past it
  EXPECT_TRUE(takePosted().empty());
  step(*plugin, 30s);  // t0 + 150s: resent
  EXPECT_EQ(takePosted().size(), 2u);

  setMetrics("foo 0\n");
  step(*plugin, 30s);  // t0 + 180s: resolved, sent at once with endsAt = the resolve time
  posted = takePosted();
  ASSERT_EQ(posted.size(), 2u);
  alert = parseArray(posted[0].body)->getObject(0);
  EXPECT_EQ(alert->getValue<std::string>("endsAt"), rfc3339(t0 + 180'000));
  EXPECT_FALSE(ctx_.metricValue("ALERTS", {{"alertname", "FooHigh"},
                                           {"alertstate", "firing"},
                                           {"instance", "target:9100"},
                                           {"job", "appliance"},
                                           {"severity", "page"}})
                   .has_value());
  // Resolved alerts are re-sent every resend_delay for 15 minutes, then never again.
  int resends = 0;
  for (int i = 0; i < 40; ++i) {
    step(*plugin, 30s);
    if (!takePosted().empty()) ++resends;
  }
  // Every 90s: an evaluation every 30s, and a resend once *more* than resend_delay (1m) has
  // passed, as Prometheus's needsSending does; 15 minutes hold 10 of them.
  EXPECT_EQ(resends, 10);
  step(*plugin, 30s);
  EXPECT_TRUE(takePosted().empty());
}

TEST_F(PluginTest, MissingEvaluationsToResolveRidesOutAFailedScrape) {
  auto plugin = startPlugin(
      ctx_, baseConfig("  groups:\n    demo:\n      missing_evaluations_to_resolve: 2\n"));
  step(*plugin);
  step(*plugin, 60s);
  ASSERT_NE(plugin->alertsJson().find("\"state\":\"firing\""), std::string::npos);
  // Past the start-up hold (which keeps restored alerts through the first scrape interval).
  target_down_ = true;
  step(*plugin, 30s);
  EXPECT_NE(plugin->alertsJson().find("\"state\":\"firing\""), std::string::npos)
      << "one failed scrape must not resolve";
  step(*plugin, 30s);
  EXPECT_EQ(plugin->alertsJson().find("FooHigh"), std::string::npos)
      << "the second missing evaluation resolves";
}

TEST(Notifier, BatchesOfAtMost64PerAlertmanager) {
  appliance::testing::CapturingLogger log;
  prometheus::Registry registry;
  auto client = std::make_shared<appliance::testing::FakeHttpClient>();
  client->setHandler([](const HttpClientRequest&) -> Result<HttpClientResponse> {
    HttpClientResponse r;
    r.status = 200;
    return r;
  });
  Notifier notifier(client, log, registry, {"http://am:9093"}, {}, 1000, 64, 1s);
  std::vector<NotifyAlert> alerts(150);
  for (std::size_t i = 0; i < alerts.size(); ++i) {
    alerts[i].labels = promql::Labels({{"alertname", "A"}, {"i", std::to_string(i)}});
  }
  notifier.enqueue(alerts);
  notifier.flush(std::chrono::steady_clock::now());
  const auto requests = client->requests();
  ASSERT_EQ(requests.size(), 3u);
  Poco::JSON::Parser parser;
  std::vector<std::size_t> sizes;
  for (const auto& r : requests) {
    sizes.push_back(parser.parse(r.body).extract<Poco::JSON::Array::Ptr>()->size());
    parser.reset();
    EXPECT_EQ(r.method, "POST");
  }
  EXPECT_EQ(sizes, (std::vector<std::size_t>{64, 64, 22}));
}

TEST(Notifier, FullQueueDropsOldestAndCountsThem) {
  appliance::testing::FakeContext ctx;
  auto client = ctx.http_client;
  Notifier notifier(client, ctx.log, ctx.metrics(), {"http://am:9093"}, {}, 10, 64, 1s);
  notifier.enqueue(std::vector<NotifyAlert>(25));
  EXPECT_EQ(notifier.queued(), 10u);
  EXPECT_EQ(ctx.metricValue("appliance_notifications_dropped_total",
                            {{"alertmanager", "http://am:9093"}}),
            15.0);
}

TEST(Notifier, RetriesWithBackoffThenDrops) {
  appliance::testing::FakeContext ctx;
  int calls = 0;
  ctx.http_client->setHandler([&](const HttpClientRequest&) -> Result<HttpClientResponse> {
    ++calls;
    HttpClientResponse r;
    r.status = 503;
    return r;
  });
  Notifier notifier(ctx.http_client, ctx.log, ctx.metrics(), {"http://am:9093"}, {}, 10, 64, 1s);
  notifier.enqueue(std::vector<NotifyAlert>(2));
  auto now = std::chrono::steady_clock::now();
  notifier.flush(now);
  EXPECT_EQ(calls, 1);
  notifier.flush(now + 500ms);  // backoff 1s not over
  EXPECT_EQ(calls, 1);
  notifier.flush(now + 1s);
  EXPECT_EQ(calls, 2);
  notifier.flush(now + 3s);  // backoff 2s
  EXPECT_EQ(calls, 3);
  notifier.flush(now + 7s);  // backoff 4s, the last retry
  EXPECT_EQ(calls, 4);
  EXPECT_EQ(notifier.queued(), 0u);
  const std::map<std::string, std::string> am{{"alertmanager", "http://am:9093"}};
  EXPECT_EQ(ctx.metricValue("appliance_notifications_errors_total", am), 4.0);
  EXPECT_EQ(ctx.metricValue("appliance_notifications_dropped_total", am), 2.0);
  EXPECT_EQ(ctx.metricValue("appliance_notifications_sent_total", am), 0.0);
}

TEST_F(PluginTest, EvaluationMetricsAndErrorsOnTheRule) {
  writeFile("rules.yaml",
            "groups:\n  - name: demo\n    rules:\n      - record: dup\n        expr: foo * 0\n"
            "        labels: {exported_instance: same}\n");
  setMetrics("foo{instance=\"x\"} 1\nfoo{instance=\"y\"} 2\n");
  auto plugin = startPlugin(ctx_, baseConfig());
  step(*plugin);
  const std::string group = (dir_ / "rules.yaml").string() + ";demo";
  EXPECT_EQ(ctx_.metricValue("appliance_rule_evaluations_total", {{"rule_group", group}}), 1.0);
  EXPECT_EQ(ctx_.metricValue("appliance_rule_evaluation_failures_total", {{"rule_group", group}}),
            1.0);
  EXPECT_EQ(ctx_.metricValue("appliance_rule_group_last_evaluation_timestamp_seconds",
                             {{"rule_group", group}}),
            1'700'000'000.0);
  auto rules = parseObject(plugin->rulesJson());
  auto rule =
      rules->getObject("data")->getArray("groups")->getObject(0)->getArray("rules")->getObject(0);
  EXPECT_EQ(rule->getValue<std::string>("health"), "err");
  EXPECT_NE(rule->getValue<std::string>("lastError").find("same labelset"), std::string::npos);
  EXPECT_EQ(rule->getValue<std::string>("type"), "recording");
}

// --- HTTP views ------------------------------------------------------------------------------

TEST_F(PluginTest, RoutesServePrometheusShapes) {
  auto plugin = startPlugin(ctx_, baseConfig());
  auto before = parseObject(ctx_.router.call("GET", "/api/v1/rules").body);
  auto rule0 =
      before->getObject("data")->getArray("groups")->getObject(0)->getArray("rules")->getObject(0);
  EXPECT_EQ(rule0->getValue<std::string>("health"), "unknown");
  EXPECT_EQ(rule0->getValue<std::string>("lastEvaluation"), "0001-01-01T00:00:00Z");
  step(*plugin);
  const HttpResponse rules = ctx_.router.call("GET", "/api/v1/rules");
  ASSERT_EQ(rules.status, 200);
  auto root = parseObject(rules.body);
  EXPECT_EQ(root->getValue<std::string>("status"), "success");
  auto group = root->getObject("data")->getArray("groups")->getObject(0);
  EXPECT_EQ(group->getValue<std::string>("name"), "demo");
  EXPECT_EQ(group->getValue<double>("interval"), 30.0);
  auto rule = group->getArray("rules")->getObject(0);
  EXPECT_EQ(rule->getValue<std::string>("name"), "FooHigh");
  EXPECT_EQ(rule->getValue<std::string>("state"), "pending");
  EXPECT_EQ(rule->getValue<std::string>("health"), "ok");
  EXPECT_EQ(rule->getValue<double>("duration"), 60.0);
  EXPECT_EQ(rule->getValue<std::string>("type"), "alerting");
  EXPECT_EQ(rule->getValue<std::string>("query"), "foo > 0");
  EXPECT_EQ(rule->getObject("annotations")->getValue<std::string>("summary"),
            "foo is {{ $value }} on {{ $labels.instance }}");
  auto alert = rule->getArray("alerts")->getObject(0);
  EXPECT_EQ(alert->getValue<std::string>("value"), "1e+00");
  EXPECT_EQ(alert->getValue<std::string>("activeAt"), "2023-11-14T22:13:20.000Z");
  EXPECT_EQ(ctx_.router.call("GET", "/api/v1/rules?type=record").body.find("FooHigh"),
            std::string::npos);
  EXPECT_EQ(ctx_.router.call("GET", "/api/v1/rules?type=bogus").status, 400);

  auto alerts = parseObject(ctx_.router.call("GET", "/api/v1/alerts").body);
  auto a = alerts->getObject("data")->getArray("alerts")->getObject(0);
  EXPECT_EQ(a->getValue<std::string>("state"), "pending");
  EXPECT_EQ(a->getObject("labels")->getValue<std::string>("severity"), "page");

  const HttpResponse html = ctx_.router.call("GET", "/alerts");
  EXPECT_EQ(html.status, 200);
  EXPECT_EQ(html.content_type, "text/html; charset=utf-8");
  EXPECT_NE(html.body.find("FooHigh"), std::string::npos);
  EXPECT_NE(html.body.find("foo &gt; 0"), std::string::npos);
}

// --- Persistence ----------------------------------------------------------------------------

TEST_F(PluginTest, PendingAndFiringSurviveARestart) {
  writeFile("rules.yaml", std::string(kRules) +
                              "      - alert: BarHigh\n        expr: bar > 0\n        for: 2m\n");
  auto kv = std::make_shared<InMemoryKvStore>(&ctx_.manual_clock);
  ASSERT_TRUE(ctx_.service_registry.provide<KvStore>(kv).isOk());
  const std::int64_t t0 = 1'700'000'000'000;
  {
    auto plugin = startPlugin(ctx_, baseConfig());
    step(*plugin);       // FooHigh pending since t0
    step(*plugin, 60s);  // FooHigh firing at t0 + 60s
    setMetrics("foo 1\nbar 1\n");
    step(*plugin, 30s);  // BarHigh pending since t0 + 90s
    ASSERT_NE(plugin->alertsJson().find("BarHigh"), std::string::npos);
    plugin->stop(std::chrono::steady_clock::now() + 1s);
  }
  auto saved = kv->list(kKvNamespace, "alert/");
  ASSERT_TRUE(saved.isOk());
  EXPECT_EQ(saved->size(), 2u);
  takePosted();

  // A new process 30s later: state comes back before the first evaluation.
  FakeContext ctx2{"alert_evaluator"};
  ctx2.manual_clock.set(ctx_.manual_clock.now() + 30s);
  ctx2.http_client->setHandler(handler());  // the first one was shut down by stop()
  ASSERT_TRUE(ctx2.service_registry.provide<KvStore>(kv).isOk());
  auto plugin = startPlugin(ctx2, baseConfig());
  auto alerts = parseObject(plugin->alertsJson())->getObject("data")->getArray("alerts");
  ASSERT_EQ(alerts->size(), 2u);
  // The target is down right after the restart: the firing alert is held, not resolved.
  target_down_ = true;
  ctx2.manual_clock.advance(1s);
  plugin->scrapeAll();
  plugin->evaluateGroup(0);
  plugin->flushNotifications();
  for (const auto& p : takePosted()) {
    auto arr = parseArray(p.body);
    for (std::size_t i = 0; i < arr->size(); ++i) {
      const std::string ends =
          arr->getObject(static_cast<unsigned>(i))->getValue<std::string>("endsAt");
      EXPECT_GT(ends, rfc3339(ctx2.manual_clock.now().time_since_epoch() / 1ms))
          << "a restored firing alert must not be sent as resolved";
    }
  }
  EXPECT_NE(plugin->alertsJson().find("\"state\":\"firing\""), std::string::npos);
  target_down_ = false;
  // t0 + 150s: BarHigh (active since t0 + 90s, for 2m) is still pending...
  ctx2.manual_clock.set(
      std::chrono::system_clock::time_point(std::chrono::milliseconds(t0 + 150'000)));
  plugin->scrapeAll();
  plugin->evaluateGroup(0);
  auto bar = [&] {
    auto arr = parseObject(plugin->alertsJson())->getObject("data")->getArray("alerts");
    for (std::size_t i = 0; i < arr->size(); ++i) {
      auto a = arr->getObject(static_cast<unsigned>(i));
      if (a->getObject("labels")->getValue<std::string>("alertname") == "BarHigh") return a;
    }
    return Poco::JSON::Object::Ptr();
  };
  ASSERT_TRUE(bar()) << plugin->alertsJson() << plugin->rulesJson();
  EXPECT_EQ(bar()->getValue<std::string>("state"), "pending");
  EXPECT_EQ(bar()->getValue<std::string>("activeAt"), rfc3339(t0 + 90'000));
  // ...and fires at t0 + 210s, its original activeAt + for, not 2m after the restart.
  ctx2.manual_clock.set(
      std::chrono::system_clock::time_point(std::chrono::milliseconds(t0 + 210'000)));
  plugin->scrapeAll();
  plugin->evaluateGroup(0);
  EXPECT_EQ(bar()->getValue<std::string>("state"), "firing");
}

TEST_F(PluginTest, RunsWithoutKvStoreAndSaysSo) {
  auto plugin = startPlugin(ctx_, baseConfig());
  EXPECT_TRUE(ctx_.log.contains("kv_store service is not running"));
  step(*plugin);
  EXPECT_NE(plugin->alertsJson().find("FooHigh"), std::string::npos);
}

TEST_F(PluginTest, KvOutageIsCountedAndRetried) {
  auto kv = std::make_shared<InMemoryKvStore>(&ctx_.manual_clock);
  ASSERT_TRUE(ctx_.service_registry.provide<KvStore>(kv).isOk());
  auto plugin = startPlugin(ctx_, baseConfig());
  kv->setUnavailable(true);
  step(*plugin);
  EXPECT_EQ(ctx_.metricValue("appliance_alert_state_persist_failures_total"), 1.0);
  kv->setUnavailable(false);
  step(*plugin, 30s);
  auto saved = kv->list(kKvNamespace, "alert/");
  ASSERT_TRUE(saved.isOk());
  EXPECT_EQ(saved->size(), 1u);
}

// --- source: prometheus ----------------------------------------------------------------------

TEST_F(PluginTest, PrometheusSourceQueriesAndSurfacesErrors) {
  std::string answer =
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"instance":"p"},"value":[1700000000,"3"]}]}})";
  std::vector<std::string> urls;
  ctx_.http_client->setHandler([&](const HttpClientRequest& r) -> Result<HttpClientResponse> {
    urls.push_back(r.url);
    HttpClientResponse response;
    if (r.url.find("/api/v1/query") != std::string::npos) {
      response.status = answer.find("error") != std::string::npos ? 400 : 200;
      response.body = answer;
    } else {
      response.status = 200;
    }
    return response;
  });
  writeFile("token", "s3cret\n");
  auto plugin =
      startPlugin(ctx_, "alert_evaluator:\n  rule_files: [" + (dir_ / "rules.yaml").string() +
                            "]\n  source: prometheus\n  prometheus:\n    url: http://prom:9090/\n"
                            "    bearer_token_file: " +
                            (dir_ / "token").string() + "\n");
  plugin->evaluateGroup(0);
  ASSERT_FALSE(urls.empty());
  EXPECT_EQ(urls[0], "http://prom:9090/api/v1/query?query=foo%20%3E%200&time=1700000000.000");
  bool auth = false;
  for (const auto& r : ctx_.http_client->requests()) {
    for (const auto& h : r.headers)
      auth = auth || (h.name == "Authorization" && h.value == "Bearer s3cret");
  }
  EXPECT_TRUE(auth);
  EXPECT_NE(plugin->alertsJson().find("\"instance\":\"p\""), std::string::npos);
  answer = R"({"status":"error","errorType":"bad_data","error":"parse error"})";
  ctx_.manual_clock.advance(30s);
  plugin->evaluateGroup(0);
  EXPECT_NE(plugin->rulesJson().find("\"lastError\":\"query failed: bad_data: parse error\""),
            std::string::npos)
      << plugin->rulesJson();
  // A failed query is never "no alert": the pending alert stays.
  EXPECT_NE(plugin->alertsJson().find("\"instance\":\"p\""), std::string::npos);
  EXPECT_EQ(ctx_.metricValue("appliance_rule_query_failures_total"), 1.0);
}

}  // namespace
}  // namespace appliance::plugins::alert_evaluator
