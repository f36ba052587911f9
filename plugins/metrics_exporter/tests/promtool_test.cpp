// Feeds expositions of awkward registries to Prometheus's own checker, `promtool check
// metrics` (Debian package `prometheus`); skipped when promtool is not installed.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/summary.h>
#include <prometheus/text_serializer.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "metrics_text.h"
#include "process_metrics.h"

namespace appliance::plugins::metrics_exporter {
namespace {

bool havePromtool() { return std::system("command -v promtool >/dev/null 2>&1") == 0; }

struct CheckResult {
  int exit_code = -1;
  std::string output;
};

// Runs `promtool check metrics` with `exposition` on stdin.
CheckResult promtoolCheck(const std::string& exposition) {
  ::signal(SIGPIPE, SIG_IGN);  // promtool may exit before reading everything
  char path[] = "/tmp/promtool-check-XXXXXX";
  const int fd = ::mkstemp(path);
  EXPECT_GE(fd, 0);
  ::close(fd);
  const std::string command = std::string("promtool check metrics >") + path + " 2>&1";
  CheckResult result;
  FILE* pipe = ::popen(command.c_str(), "w");
  EXPECT_NE(pipe, nullptr);
  if (pipe != nullptr) {
    std::fwrite(exposition.data(), 1, exposition.size(), pipe);
    const int status = ::pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::ifstream file(path);
  std::stringstream output;
  output << file.rdbuf();
  result.output = output.str();
  ::unlink(path);
  return result;
}

// Metrics whose names follow the conventions promtool lints, with content that trips
// naive serializers.
void fillAwkwardRegistry(prometheus::Registry& registry) {
  prometheus::BuildCounter()
      .Name("awkward_events_total")
      .Help("Help with a newline\nand a backslash \\ and \"quotes\" and caf\xC3\xA9.")
      .Register(registry)
      .Add({{"path", "C:\\dir\\\"file\"\nline2"}, {"bad_utf8", "x\xFF\xFEy"}, {"empty", ""}})
      .Increment(5);
  auto& gauges =
      prometheus::BuildGauge().Name("awkward_temperature_celsius").Help("g").Register(registry);
  gauges.Add({{"sensor", "nan"}}).Set(std::nan(""));
  gauges.Add({{"sensor", "hot"}}).Set(INFINITY);
  gauges.Add({{"sensor", "cold"}}).Set(-INFINITY);
  gauges.Add({{"sensor", "tiny"}}).Set(1e-300);
  gauges.Add({{"sensor", "huge"}}).Set(-1.7976931348623157e308);
  prometheus::BuildGauge().Name("awkward_no_samples").Help("empty family").Register(registry);

  auto& histograms =
      prometheus::BuildHistogram().Name("awkward_latency_seconds").Help("h\\n").Register(registry);
  histograms.Add({{"le", "user"}}, prometheus::Histogram::BucketBoundaries{0.005, 0.1, 1e3})
      .Observe(0.05);
  histograms
      .Add({{"le", "other"}, {"exported_le", "taken"}}, prometheus::Histogram::BucketBoundaries{1})
      .Observe(2);
  histograms.Add({}, prometheus::Histogram::BucketBoundaries{}).Observe(NAN);

  auto& summaries =
      prometheus::BuildSummary().Name("awkward_size_bytes").Help("s").Register(registry);
  auto& summary = summaries.Add({{"quantile", "mine"}},
                                prometheus::Summary::Quantiles{{0.5, 0.05}, {0.99, 0.001}});
  for (int i = 0; i < 100; ++i) summary.Observe(i);
  summaries.Add({{"kind", "never_observed"}}, prometheus::Summary::Quantiles{{0.9, 0.01}});
}

std::vector<prometheus::MetricFamily> awkwardUntyped() {
  prometheus::MetricFamily family;
  family.name = "awkward_legacy_value";
  family.help = "untyped with a timestamp";
  family.type = prometheus::MetricType::Untyped;
  family.metric.emplace_back();
  family.metric.back().untyped.value = -0.0;
  family.metric.back().timestamp_ms = 1700000000000;
  return {family};
}

TEST(Promtool, AcceptsOurExpositionOfAwkwardMetrics) {
  if (!havePromtool()) GTEST_SKIP() << "promtool not installed (Debian package prometheus)";
  prometheus::Registry registry;
  fillAwkwardRegistry(registry);
  std::string text;
  std::vector<TruncatedFamily> truncated;
  appendText(text, registry.Collect(), TextOptions{4}, &truncated);  // truncates the gauges
  appendText(text, awkwardUntyped(), TextOptions{});
  ProcessStats stats;
  stats.max_fds = INFINITY;
  appendText(text, processFamilies(stats), TextOptions{});

  EXPECT_EQ(truncated.size(), 1u);
  const CheckResult result = promtoolCheck(text);
  EXPECT_EQ(result.exit_code, 0) << result.output << "\n--- exposition ---\n" << text;
}

// Shows that the check above can fail: prometheus-cpp's own serializer breaks on the same
// HELP text.
TEST(Promtool, RejectsPrometheusCppSerializerOutputForAnUnescapedHelp) {
  if (!havePromtool()) GTEST_SKIP() << "promtool not installed (Debian package prometheus)";
  prometheus::Registry registry;
  prometheus::BuildCounter()
      .Name("awkward_events_total")
      .Help("Help with a newline\nin it")
      .Register(registry)
      .Add({})
      .Increment();
  const std::string text = prometheus::TextSerializer().Serialize(registry.Collect());
  EXPECT_NE(promtoolCheck(text).exit_code, 0) << text;
}

}  // namespace
}  // namespace appliance::plugins::metrics_exporter
