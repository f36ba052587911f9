#include "metrics_text.h"

#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace appliance::plugins::metrics_exporter {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily makeFamily(std::string name, std::string help, MetricType type) {
  MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = type;
  return family;
}

ClientMetric gaugeSample(double value, std::vector<ClientMetric::Label> labels = {}) {
  ClientMetric metric;
  metric.label = std::move(labels);
  metric.gauge.value = value;
  return metric;
}

std::string render(const MetricFamily& family, std::size_t max_series = 0,
                   std::vector<TruncatedFamily>* truncated = nullptr) {
  std::string out;
  appendFamily(out, family, TextOptions{max_series}, truncated);
  return out;
}

std::string number(double value) {
  std::string out;
  appendNumber(out, value);
  return out;
}

TEST(MetricsText, HelpEscapesBackslashAndNewlineButNotQuotes) {
  auto family = makeFamily("jobs", "line one\nline \"two\" C:\\temp", MetricType::Gauge);
  family.metric.push_back(gaugeSample(1));
  EXPECT_EQ(render(family),
            "# HELP jobs line one\\nline \"two\" C:\\\\temp\n"
            "# TYPE jobs gauge\n"
            "jobs 1\n");
}

TEST(MetricsText, EmptyHelpWritesNoHelpLine) {
  auto family = makeFamily("jobs", "", MetricType::Gauge);
  family.metric.push_back(gaugeSample(2));
  EXPECT_EQ(render(family), "# TYPE jobs gauge\njobs 2\n");
}

TEST(MetricsText, FamilyWithoutSamplesIsLeftOut) {
  EXPECT_EQ(render(makeFamily("idle", "nothing yet", MetricType::Counter)), "");
}

TEST(MetricsText, LabelValuesEscapeBackslashQuoteAndNewline) {
  auto family = makeFamily("paths", "h", MetricType::Gauge);
  family.metric.push_back(gaugeSample(1, {{"path", "C:\\x \"q\"\nnext"}, {"empty", ""}}));
  EXPECT_EQ(render(family),
            "# HELP paths h\n# TYPE paths gauge\n"
            "paths{path=\"C:\\\\x \\\"q\\\"\\nnext\",empty=\"\"} 1\n");
}

TEST(MetricsText, ValidUtf8IsKeptAndInvalidBytesBecomeReplacementCharacters) {
  std::string out;
  appendLabelValue(out, "caf\xC3\xA9 \xE6\x97\xA5 \xF0\x9F\x99\x82");  // é 日 🙂
  EXPECT_EQ(out, "caf\xC3\xA9 \xE6\x97\xA5 \xF0\x9F\x99\x82");

  out.clear();
  appendLabelValue(out,
                   "a\xFF"
                   "b");  // a byte that never occurs in UTF-8
  EXPECT_EQ(out,
            "a\xEF\xBF\xBD"
            "b");

  out.clear();
  appendLabelValue(out, "\xC0\xAF");  // overlong '/'
  EXPECT_EQ(out, "\xEF\xBF\xBD\xEF\xBF\xBD");

  out.clear();
  appendHelpText(out, "x\xE6\x97");  // truncated 3-byte sequence at the end
  EXPECT_EQ(out, "x\xEF\xBF\xBD\xEF\xBF\xBD");

  out.clear();
  appendHelpText(out, "\xED\xA0\x80");  // UTF-16 surrogate
  EXPECT_EQ(out, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(MetricsText, NumbersUsePrometheusSpellings) {
  EXPECT_EQ(number(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(number(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(number(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(number(0), "0");
  EXPECT_EQ(number(3), "3");
  EXPECT_EQ(number(-0.5), "-0.5");
  EXPECT_EQ(number(0.1), "0.1");
  EXPECT_EQ(number(0.0005), "0.0005");  // Go's 'g' formatting, like client_golang
  EXPECT_EQ(number(0.00005), "5e-05");
  EXPECT_EQ(number(123456.5), "123456.5");
  EXPECT_EQ(number(1e6), "1e+06");
  EXPECT_EQ(number(1234567), "1.234567e+06");
  EXPECT_EQ(number(1e21), "1e+21");
  EXPECT_EQ(number(-2.5e-300), "-2.5e-300");
  EXPECT_EQ(number(1.7976931348623157e308), "1.7976931348623157e+308");
  std::string out;
  appendNumber(out, std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(out, "18446744073709551615");
}

TEST(MetricsText, GaugeNaNAndInfinities) {
  auto family = makeFamily("temperature", "t", MetricType::Gauge);
  family.metric.push_back(gaugeSample(std::nan(""), {{"sensor", "a"}}));
  family.metric.push_back(gaugeSample(INFINITY, {{"sensor", "b"}}));
  family.metric.push_back(gaugeSample(-INFINITY, {{"sensor", "c"}}));
  EXPECT_EQ(render(family),
            "# HELP temperature t\n# TYPE temperature gauge\n"
            "temperature{sensor=\"a\"} NaN\n"
            "temperature{sensor=\"b\"} +Inf\n"
            "temperature{sensor=\"c\"} -Inf\n");
}

TEST(MetricsText, CounterUntypedAndTimestamp) {
  auto counter = makeFamily("events_total", "e", MetricType::Counter);
  counter.metric.emplace_back();
  counter.metric.back().counter.value = 42;
  counter.metric.back().timestamp_ms = 1700000000123;
  EXPECT_EQ(render(counter),
            "# HELP events_total e\n# TYPE events_total counter\nevents_total 42 1700000000123\n");

  auto untyped = makeFamily("legacy", "u", MetricType::Untyped);
  untyped.metric.emplace_back();
  untyped.metric.back().untyped.value = 0.25;
  EXPECT_EQ(render(untyped), "# HELP legacy u\n# TYPE legacy untyped\nlegacy 0.25\n");
}

TEST(MetricsText, HistogramFromPrometheusCppHasBucketsSumAndCount) {
  prometheus::Registry registry;
  auto& histogram =
      prometheus::BuildHistogram()
          .Name("request_seconds")
          .Help("latency")
          .Register(registry)
          .Add({{"route", "/tasks"}}, prometheus::Histogram::BucketBoundaries{0.1, 1});
  histogram.Observe(0.0625);
  histogram.Observe(0.5);
  histogram.Observe(5);
  std::string out;
  appendText(out, registry.Collect(), TextOptions{});
  EXPECT_EQ(out,
            "# HELP request_seconds latency\n# TYPE request_seconds histogram\n"
            "request_seconds_bucket{route=\"/tasks\",le=\"0.1\"} 1\n"
            "request_seconds_bucket{route=\"/tasks\",le=\"1\"} 2\n"
            "request_seconds_bucket{route=\"/tasks\",le=\"+Inf\"} 3\n"
            "request_seconds_sum{route=\"/tasks\"} 5.5625\n"
            "request_seconds_count{route=\"/tasks\"} 3\n");
}

TEST(MetricsText, HistogramWithoutInfBucketGetsOne) {
  auto family = makeFamily("size_bytes", "s", MetricType::Histogram);
  family.metric.emplace_back();
  family.metric.back().histogram.sample_count = 7;
  family.metric.back().histogram.sample_sum = 70;
  family.metric.back().histogram.bucket.push_back({3, 8});
  EXPECT_EQ(render(family),
            "# HELP size_bytes s\n# TYPE size_bytes histogram\n"
            "size_bytes_bucket{le=\"8\"} 3\n"
            "size_bytes_bucket{le=\"+Inf\"} 7\n"
            "size_bytes_sum 70\n"
            "size_bytes_count 7\n");
}

TEST(MetricsText, UserLeLabelOnHistogramIsRenamedSoEachBucketHasOneLe) {
  prometheus::Registry registry;  // prometheus-cpp 1.0.1 accepts a user label named le
  prometheus::BuildHistogram()
      .Name("upload_seconds")
      .Help("h")
      .Register(registry)
      .Add({{"le", "user"}}, prometheus::Histogram::BucketBoundaries{1})
      .Observe(2);
  std::string out;
  appendText(out, registry.Collect(), TextOptions{});
  EXPECT_EQ(out,
            "# HELP upload_seconds h\n# TYPE upload_seconds histogram\n"
            "upload_seconds_bucket{exported_le=\"user\",le=\"1\"} 0\n"
            "upload_seconds_bucket{exported_le=\"user\",le=\"+Inf\"} 1\n"
            "upload_seconds_sum{exported_le=\"user\"} 2\n"
            "upload_seconds_count{exported_le=\"user\"} 1\n");
}

TEST(MetricsText, RenamedLeAvoidsAnExistingExportedLeLabel) {
  auto family = makeFamily("h_seconds", "h", MetricType::Histogram);
  family.metric.emplace_back();
  family.metric.back().label = {{"exported_le", "a"}, {"le", "b"}};
  family.metric.back().histogram.sample_count = 1;
  family.metric.back().histogram.bucket.push_back({1, INFINITY});
  EXPECT_EQ(render(family),
            "# HELP h_seconds h\n# TYPE h_seconds histogram\n"
            "h_seconds_bucket{exported_le=\"a\",exported_exported_le=\"b\",le=\"+Inf\"} 1\n"
            "h_seconds_sum{exported_le=\"a\",exported_exported_le=\"b\"} 0\n"
            "h_seconds_count{exported_le=\"a\",exported_exported_le=\"b\"} 1\n");
}

TEST(MetricsText, SummaryShapeAndUserQuantileLabel) {
  auto family = makeFamily("rpc_seconds", "r", MetricType::Summary);
  family.metric.emplace_back();
  auto& metric = family.metric.back();
  metric.label = {{"quantile", "mine"}, {"service", "db"}};
  metric.summary.sample_count = 10;
  metric.summary.sample_sum = 1.5;
  metric.summary.quantile = {{0.5, 0.1}, {0.99, std::nan("")}};
  EXPECT_EQ(render(family),
            "# HELP rpc_seconds r\n# TYPE rpc_seconds summary\n"
            "rpc_seconds{exported_quantile=\"mine\",service=\"db\",quantile=\"0.5\"} 0.1\n"
            "rpc_seconds{exported_quantile=\"mine\",service=\"db\",quantile=\"0.99\"} NaN\n"
            "rpc_seconds_sum{exported_quantile=\"mine\",service=\"db\"} 1.5\n"
            "rpc_seconds_count{exported_quantile=\"mine\",service=\"db\"} 10\n");
}

TEST(MetricsText, LeIsAnOrdinaryLabelOnGauges) {
  auto family = makeFamily("g", "h", MetricType::Gauge);
  family.metric.push_back(gaugeSample(1, {{"le", "x"}}));
  EXPECT_EQ(render(family), "# HELP g h\n# TYPE g gauge\ng{le=\"x\"} 1\n");
}

TEST(MetricsText, FamilyOverTheCapKeepsTheSmallestLabelSetsAndReportsTheRest) {
  auto family = makeFamily("users", "u", MetricType::Gauge);
  for (const char* name : {"e", "b", "d", "a", "c"}) {
    family.metric.push_back(gaugeSample(1, {{"user", name}}));
  }
  std::vector<TruncatedFamily> truncated;
  EXPECT_EQ(render(family, 3, &truncated),
            "# HELP users u\n# TYPE users gauge\n"
            "users{user=\"a\"} 1\nusers{user=\"b\"} 1\nusers{user=\"c\"} 1\n");
  ASSERT_EQ(truncated.size(), 1u);
  EXPECT_EQ(truncated[0].name, "users");
  EXPECT_EQ(truncated[0].total, 5u);
  EXPECT_EQ(truncated[0].dropped, 2u);
}

TEST(MetricsText, FamilyAtTheCapOrWithoutCapIsWhole) {
  auto family = makeFamily("users", "u", MetricType::Gauge);
  for (const char* name : {"b", "a"}) family.metric.push_back(gaugeSample(1, {{"user", name}}));
  std::vector<TruncatedFamily> truncated;
  const std::string whole =
      "# HELP users u\n# TYPE users gauge\n"
      "users{user=\"b\"} 1\nusers{user=\"a\"} 1\n";
  EXPECT_EQ(render(family, 2, &truncated), whole);
  EXPECT_EQ(render(family, 0, &truncated), whole);
  EXPECT_TRUE(truncated.empty());
}

TEST(MetricsText, CapCountsHistogramLabelSetsNotBuckets) {
  prometheus::Registry registry;
  auto& family = prometheus::BuildHistogram().Name("op_seconds").Help("o").Register(registry);
  const prometheus::Histogram::BucketBoundaries buckets{0.1, 1, 10};
  family.Add({{"op", "read"}}, buckets).Observe(1);
  family.Add({{"op", "write"}}, buckets).Observe(1);
  std::vector<TruncatedFamily> truncated;
  std::string out;
  appendText(out, registry.Collect(), TextOptions{1}, &truncated);
  EXPECT_NE(out.find("op_seconds_count{op=\"read\"} 1\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("op=\"write\""), std::string::npos) << out;
  ASSERT_EQ(truncated.size(), 1u);
  EXPECT_EQ(truncated[0].dropped, 1u);
}

TEST(MetricsText, AppendsFamiliesInOrderAfterExistingText) {
  auto first = makeFamily("first_value", "", MetricType::Gauge);
  first.metric.push_back(gaugeSample(1));
  auto second = makeFamily("second_value", "", MetricType::Gauge);
  second.metric.push_back(gaugeSample(2));
  std::string out = "prefix\n";
  appendText(out, {first, makeFamily("empty_value", "", MetricType::Gauge), second}, TextOptions{});
  EXPECT_EQ(out,
            "prefix\n# TYPE first_value gauge\nfirst_value 1\n"
            "# TYPE second_value gauge\nsecond_value 2\n");
}

}  // namespace
}  // namespace appliance::plugins::metrics_exporter
