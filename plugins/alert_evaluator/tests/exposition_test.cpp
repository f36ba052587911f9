#include "plugin/exposition.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "promql/value.h"

namespace appliance::plugins::alert_evaluator::exposition {
namespace {

TEST(Exposition, ParsesHelpTypeLabelsEscapesAndSpecialValues) {
  const auto r = parse(
      "# HELP http_requests_total Requests \\\\ served\\nby route.\n"
      "# TYPE http_requests_total counter\n"
      "http_requests_total{method=\"GET\",route=\"/a\\\"b\\\\c\\nd\",} 1027 1395066363000\n"
      "  \n"
      "# a plain comment\n"
      "temperature NaN\n"
      "hot +Inf\n"
      "cold -Inf\n"
      "exp 1.5e-3\n"
      "# TYPE latency histogram\n"
      "latency_bucket{le=\"0.1\"} 3\n"
      "latency_bucket{le=\"+Inf\"} 5\n"
      "latency_sum 1.2\n"
      "latency_count 5\n"
      "# TYPE rpc summary\n"
      "rpc{quantile=\"0.99\"} 0.3\n"
      "rpc_sum 10\n"
      "rpc_count 40\n");
  ASSERT_TRUE(r.ok()) << r.error;
  ASSERT_EQ(r.samples.size(), 12u);
  EXPECT_EQ(r.help.at("http_requests_total"), "Requests \\ served\nby route.");
  EXPECT_EQ(r.types.at("http_requests_total"), "counter");
  EXPECT_EQ(r.types.at("latency"), "histogram");
  EXPECT_EQ(r.types.at("rpc"), "summary");
  const auto& first = r.samples[0];
  EXPECT_EQ(first.labels.get("__name__"), "http_requests_total");
  EXPECT_EQ(first.labels.get("route"), "/a\"b\\c\nd");
  EXPECT_EQ(first.value, 1027);
  ASSERT_TRUE(first.timestamp_ms.has_value());
  EXPECT_EQ(*first.timestamp_ms, 1395066363000);
  EXPECT_TRUE(std::isnan(r.samples[1].value));
  EXPECT_TRUE(std::isinf(r.samples[2].value) && r.samples[2].value > 0);
  EXPECT_TRUE(std::isinf(r.samples[3].value) && r.samples[3].value < 0);
  EXPECT_DOUBLE_EQ(r.samples[4].value, 0.0015);
  EXPECT_EQ(r.samples[6].labels.get("le"), "+Inf");
  EXPECT_FALSE(r.samples[1].timestamp_ms.has_value());
}

TEST(Exposition, StopsAtOpenMetricsEof) {
  const auto r = parse("a 1\n# EOF\nthis is not read\n");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.samples.size(), 1u);
}

TEST(Exposition, AcceptsCrLfAndNoFinalNewline) {
  const auto r = parse("a 1\r\nb{x=\"y\"} 2");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.samples.size(), 2u);
}

TEST(Exposition, ErrorsNameLineAndColumn) {
  struct Case {
    const char* text;
    const char* error;
  };
  for (const Case& c : {
           Case{"a 1\nb{x=\"1} 2\n", "line 2, column 10: label value is not terminated"},
           Case{"a{x=\"\\t\"} 1\n", "line 1, column 7: invalid escape sequence"},
           Case{"a{1x=\"1\"} 1\n", "line 1, column 3: invalid label name"},
           Case{"a{x=\"1\",x=\"2\"} 1\n", "duplicate label name \"x\""},
           Case{"a one\n", "line 1, column 3: \"one\" is not a valid sample value"},
           Case{"a 1 12.5\n", "not a valid timestamp"},
           Case{"a 1 2 3\n", "unexpected text after the timestamp"},
           Case{"# TYPE a counter\n# TYPE a gauge\n", "second TYPE line for metric name \"a\""},
           Case{"# TYPE a bogus\n", "unknown metric type \"bogus\""},
           Case{"a\n", "is not a valid sample value"},
           Case{"a{x=\"1\" y=\"2\"} 1\n", "expected ',' or '}'"},
           Case{"9a 1\n", "invalid metric name"},
           Case{"a +NaN\n", "not a valid sample value"},
       }) {
    const auto r = parse(c.text);
    EXPECT_NE(r.error.find(c.error), std::string::npos)
        << "input: " << c.text << "\nerror: " << r.error;
  }
}

TEST(Exposition, StreamingParseSeesTheSamplesParseKeeps) {
  const std::string text =
      "# HELP a An a.\n# TYPE a counter\na{x=\"1\"} 1 5000\na{x=\"2\"} 2\n# TYPE b gauge\nb NaN\n";
  const auto kept = parse(text);
  ASSERT_TRUE(kept.ok()) << kept.error;
  std::vector<ParsedSample> seen;
  const auto streamed = parse(text, [&](ParsedSample& s) { seen.push_back(s); });
  ASSERT_TRUE(streamed.ok()) << streamed.error;
  EXPECT_TRUE(streamed.samples.empty());
  EXPECT_EQ(streamed.sample_count, 3u);
  EXPECT_EQ(kept.sample_count, 3u);
  EXPECT_EQ(streamed.types, kept.types);
  EXPECT_EQ(streamed.help, kept.help);
  ASSERT_EQ(seen.size(), kept.samples.size());
  for (std::size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].labels, kept.samples[i].labels) << i;
    EXPECT_EQ(std::isnan(seen[i].value), std::isnan(kept.samples[i].value)) << i;
    if (!std::isnan(seen[i].value)) {
      EXPECT_EQ(seen[i].value, kept.samples[i].value) << i;
    }
    EXPECT_EQ(seen[i].timestamp_ms, kept.samples[i].timestamp_ms) << i;
  }
  // An error ends the stream where parse() stops: the samples before it, then the error.
  seen.clear();
  const auto bad = parse("a 1\nb 2\nc{ 3\nd 4\n", [&](ParsedSample& s) { seen.push_back(s); });
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.error, parse("a 1\nb 2\nc{ 3\nd 4\n").error);
  EXPECT_NE(bad.error.find("line 3"), std::string::npos) << bad.error;
  EXPECT_EQ(seen.size(), 2u);
  EXPECT_EQ(bad.sample_count, 2u);
}

TEST(Exposition, ParseValueFollowsGo) {
  EXPECT_EQ(*parseValue("1e3"), 1000);
  EXPECT_EQ(*parseValue("-0.5"), -0.5);
  EXPECT_TRUE(std::isinf(*parseValue("+inf")));
  EXPECT_TRUE(std::isinf(*parseValue("Infinity")));
  EXPECT_FALSE(parseValue("").has_value());
  EXPECT_FALSE(parseValue("1,5").has_value());
  EXPECT_FALSE(parseValue("0x").has_value());
}

}  // namespace
}  // namespace appliance::plugins::alert_evaluator::exposition
