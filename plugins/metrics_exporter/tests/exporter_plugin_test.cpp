#include "exporter_plugin.h"
#include "gunzip.h"

#include <zlib.h>

#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <future>
#include <string>
#include <vector>

#include "appliance/testing/fake_context.h"

namespace appliance::plugins::metrics_exporter {
namespace {

using appliance::testing::FakeContext;

ConfigNode section(const std::string& yaml) {
  auto root = ConfigNode::parse(yaml, "test.yaml");
  EXPECT_TRUE(root.isOk()) << root.status().message();
  return root.isOk() ? root->child("metrics_exporter") : ConfigNode();
}

std::string headerOf(const HttpResponse& response, std::string_view name) {
  for (const auto& header : response.headers) {
    if (header.name.size() == name.size() &&
        std::equal(name.begin(), name.end(), header.name.begin(),
                   [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
      return header.value;
    }
  }
  return {};
}

std::size_t countOccurrences(const std::string& text, const std::string& needle) {
  std::size_t count = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) {
    ++count;
  }
  return count;
}

// --- configuration -------------------------------------------------------------------------

TEST(ExporterConfig, MissingSectionGivesDefaults) {
  const auto config = parseExporterConfig(ConfigNode());
  ASSERT_TRUE(config.isOk()) << config.status().message();
  EXPECT_EQ(config->listen, "0.0.0.0:9464");
  EXPECT_EQ(config->max_series_per_family, 1000u);
  EXPECT_TRUE(config->gzip);
  EXPECT_EQ(config->max_threads, 2);
}

TEST(ExporterConfig, ReadsEveryKey) {
  const auto config = parseExporterConfig(
      section("metrics_exporter:\n  listen: 127.0.0.1:0\n  max_series_per_family: 0\n"
              "  gzip: false\n  max_threads: 3\n"));
  ASSERT_TRUE(config.isOk()) << config.status().message();
  EXPECT_EQ(config->listen, "127.0.0.1:0");
  EXPECT_EQ(config->max_series_per_family, 0u);
  EXPECT_FALSE(config->gzip);
  EXPECT_EQ(config->max_threads, 3);
}

TEST(ExporterConfig, RejectsUnknownKeysWithFileLineAndKey) {
  const auto config =
      parseExporterConfig(section("metrics_exporter:\n  listen: 127.0.0.1:0\n  lisen: x\n"));
  ASSERT_FALSE(config.isOk());
  EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(config.status().message().find("test.yaml:3"), std::string::npos)
      << config.status().message();
  EXPECT_NE(config.status().message().find("lisen"), std::string::npos);
}

TEST(ExporterConfig, RejectsBadValuesNamingTheKey) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"listen: nonsense", "listen"},
      {"listen: 127.0.0.1:70000", "listen"},
      {"max_series_per_family: -1", "max_series_per_family"},
      {"max_series_per_family: many", "max_series_per_family"},
      {"gzip: maybe", "gzip"},
      {"max_threads: 0", "max_threads"},
  };
  for (const auto& [line, key] : cases) {
    const auto config = parseExporterConfig(section("metrics_exporter:\n  " + line + "\n"));
    ASSERT_FALSE(config.isOk()) << line;
    EXPECT_NE(config.status().message().find("metrics_exporter." + key), std::string::npos)
        << line << " -> " << config.status().message();
  }
}

// --- the plugin through FakeContext --------------------------------------------------------

class ExporterPluginTest : public ::testing::Test {
 protected:
  void start(const std::string& yaml = "metrics_exporter:\n  listen: 127.0.0.1:0\n") {
    context_.runtime_info.version = "1.2.3";
    context_.runtime_info.revision = "abc123";
    context_.runtime_info.roles = {"api", "scaler"};
    ASSERT_TRUE(plugin_.configure(section(yaml)).isOk());
    const Status status = plugin_.init(context_);
    ASSERT_TRUE(status.isOk()) << status.message();
  }

  HttpResponse scrape(std::vector<HttpHeader> headers = {}) {
    return context_.router.call("GET", "/metrics", {}, std::move(headers), kListenerName);
  }

  FakeContext context_{kPluginName};
  MetricsExporterPlugin plugin_;
};

TEST_F(ExporterPluginTest, RegistersItsOwnListenerAndRoute) {
  start("metrics_exporter:\n  listen: 127.0.0.1:9999\n  max_threads: 3\n");
  const auto listeners = context_.router.listeners();
  ASSERT_EQ(listeners.count("metrics"), 1u);
  EXPECT_EQ(listeners.at("metrics").address, "127.0.0.1:9999");
  EXPECT_EQ(listeners.at("metrics").max_threads, 3);
  EXPECT_EQ(context_.router.routes(), std::vector<std::string>{"GET /metrics"});
  // The public listener does not expose metrics.
  EXPECT_EQ(context_.router.call("GET", "/metrics").status, 404);
}

TEST_F(ExporterPluginTest, ServesTheRegistryProcessMetricsAndBuildInfo) {
  start();
  prometheus::BuildCounter()
      .Name("jobs_done_total")
      .Help("Jobs done.")
      .Register(context_.metrics())
      .Add({{"queue", "default"}})
      .Increment(3);
  const HttpResponse response = scrape();
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(response.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(headerOf(response, "Content-Encoding"), "");
  const std::string& body = response.body;
  EXPECT_NE(body.find("# TYPE jobs_done_total counter\njobs_done_total{queue=\"default\"} 3\n"),
            std::string::npos)
      << body;
  // prometheus-cpp keeps labels sorted by name.
  EXPECT_NE(body.find("appliance_build_info{revision=\"abc123\",role=\"api,scaler\","
                      "version=\"1.2.3\"} 1\n"),
            std::string::npos)
      << body;
  for (const char* name : {"process_cpu_seconds_total ", "process_resident_memory_bytes ",
                           "process_virtual_memory_bytes ", "process_open_fds ", "process_max_fds ",
                           "process_start_time_seconds ", "process_threads "}) {
    EXPECT_EQ(countOccurrences(body, std::string("\n") + name), 1u) << name << "\n" << body;
  }
  EXPECT_EQ(context_.metricValue("appliance_build_info", {{"role", "api,scaler"}}), 1.0);
}

TEST_F(ExporterPluginTest, AProcessFamilyRegisteredByAPluginIsNotWrittenTwice) {
  start();
  prometheus::BuildGauge()
      .Name("process_threads")
      .Help("Someone else's.")
      .Register(context_.metrics())
      .Add({})
      .Set(-7);
  const std::string body = scrape().body;
  EXPECT_EQ(countOccurrences(body, "# TYPE process_threads "), 1u) << body;
  EXPECT_NE(body.find("\nprocess_threads -7\n"), std::string::npos) << body;
}

TEST_F(ExporterPluginTest, GzipsWhenTheScraperAcceptsIt) {
  start();
  const HttpResponse response = scrape({{"Accept-Encoding", "gzip, deflate"}});
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(headerOf(response, "Content-Encoding"), "gzip");
  EXPECT_EQ(headerOf(response, "Vary"), "Accept-Encoding");
  const std::string body = gunzip(response.body);
  EXPECT_NE(body.find("\nappliance_build_info{"), std::string::npos) << body;
  EXPECT_NE(body.find("\nprocess_resident_memory_bytes "), std::string::npos) << body;
  EXPECT_EQ(body.back(), '\n');

  const HttpResponse plain = scrape({{"Accept-Encoding", "gzip;q=0"}});
  EXPECT_EQ(headerOf(plain, "Content-Encoding"), "");
  EXPECT_EQ(headerOf(plain, "Vary"), "Accept-Encoding");
  EXPECT_EQ(plain.body.rfind("# HELP ", 0), 0u);
}

TEST_F(ExporterPluginTest, GzipOffNeverCompresses) {
  start("metrics_exporter:\n  listen: 127.0.0.1:0\n  gzip: false\n");
  const HttpResponse response = scrape({{"Accept-Encoding", "gzip"}});
  EXPECT_EQ(headerOf(response, "Content-Encoding"), "");
  EXPECT_EQ(headerOf(response, "Vary"), "");
  EXPECT_NE(response.body.find("\nappliance_build_info{"), std::string::npos);
}

TEST_F(ExporterPluginTest, CapsSeriesPerFamilyWarnsOnceAndCountsWhatWasDropped) {
  start("metrics_exporter:\n  listen: 127.0.0.1:0\n  max_series_per_family: 3\n");
  auto& users = prometheus::BuildGauge().Name("logins").Help("h").Register(context_.metrics());
  for (const char* user : {"u1", "u2", "u3", "u4", "u5"}) users.Add({{"user", user}}).Set(1);

  for (int scrape_number = 0; scrape_number < 2; ++scrape_number) {
    const std::string body = scrape().body;
    EXPECT_EQ(countOccurrences(body, "\nlogins{"), 3u) << body;
    EXPECT_NE(body.find("logins{user=\"u1\"} 1\n"), std::string::npos);
    EXPECT_EQ(body.find("logins{user=\"u5\"}"), std::string::npos);
  }
  EXPECT_EQ(context_.metricValue("appliance_metrics_series_dropped_total", {{"family", "logins"}}),
            4.0);
  int warnings = 0;
  for (const auto& line : context_.log.lines()) {
    const auto family = line.fields.find("family");
    if (line.level == LogLevel::kWarn && family != line.fields.end() &&
        family->second == "logins") {
      ++warnings;
      EXPECT_EQ(line.fields.at("limit"), "3");
    }
  }
  EXPECT_EQ(warnings, 1);
}

TEST_F(ExporterPluginTest, ConcurrentScrapesAllSucceed) {
  start();
  std::vector<std::future<int>> scrapers;
  for (int i = 0; i < 4; ++i) {
    scrapers.push_back(std::async(std::launch::async, [this] {
      int ok = 0;
      for (int n = 0; n < 25; ++n) {
        const HttpResponse response = scrape({{"Accept-Encoding", n % 2 ? "gzip" : "identity"}});
        const std::string body = headerOf(response, "Content-Encoding") == "gzip"
                                     ? gunzip(response.body)
                                     : response.body;
        if (response.status == 200 && body.find("\nprocess_threads ") != std::string::npos) ++ok;
      }
      return ok;
    }));
  }
  for (auto& scraper : scrapers) EXPECT_EQ(scraper.get(), 25);
}

TEST(ExporterPluginInit, FailsCleanlyWhenItsMetricNameIsTakenByAnotherType) {
  FakeContext context(kPluginName);
  prometheus::BuildCounter()
      .Name("appliance_build_info")
      .Help("wrong type")
      .Register(context.metrics());
  MetricsExporterPlugin plugin;
  ASSERT_TRUE(plugin.configure(ConfigNode()).isOk());
  const Status status = plugin.init(context);
  EXPECT_FALSE(status.isOk());
  EXPECT_NE(status.message().find("metrics_exporter"), std::string::npos) << status.message();
}

}  // namespace
}  // namespace appliance::plugins::metrics_exporter
