#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "rules/template.h"

namespace appliance::plugins::alert_evaluator::rules {
namespace {

using promql::Labels;

std::string expand(std::string_view text, double value, const Labels& labels = {},
                   const Labels& external = {}) {
  std::string error;
  auto t = Template::compile(text, error);
  EXPECT_TRUE(t.has_value()) << text << ": " << error;
  if (!t) return "";
  TemplateData data{&labels, &external, "https://prom.example.com", value};
  return t->expand(data);
}

std::string compileError(std::string_view text) {
  std::string error;
  auto t = Template::compile(text, error);
  EXPECT_FALSE(t.has_value()) << text;
  return error;
}

TEST(AlertTemplate, LabelsValueAndExternalLabels) {
  const Labels labels(std::vector<promql::Label>{{"instance", "host-1"}, {"job", "node"}});
  const Labels external(std::vector<promql::Label>{{"cluster", "eu"}});
  EXPECT_EQ(expand("{{ $labels.instance }} in {{ $externalLabels.cluster }}", 0, labels, external),
            "host-1 in eu");
  EXPECT_EQ(expand("{{ .Labels.job }}={{ .Value }}", 0.5, labels), "node=0.5");
  EXPECT_EQ(expand("[{{ $labels.nope }}]", 0, labels), "[]");
  EXPECT_EQ(expand("{{ index $labels \"job\" }}", 0, labels), "node");
  EXPECT_EQ(expand("{{ $externalURL }}", 0), "https://prom.example.com");
  EXPECT_EQ(expand("{{ $value }}", 1234567.891), "1.234567891e+06");
  EXPECT_EQ(expand("{{ $value }}", 2.5), "2.5");
  EXPECT_EQ(expand("plain text", 0), "plain text");
}

TEST(AlertTemplate, HumanizeFunctionsMatchPrometheus) {
  EXPECT_EQ(expand("{{ humanize $value }}", 1234567.891), "1.235M");
  EXPECT_EQ(expand("{{ humanize $value }}", 0.00001234), "12.34u");
  EXPECT_EQ(expand("{{ humanize $value }}", 0), "0");
  EXPECT_EQ(expand("{{ humanize1024 $value }}", 123456), "120.6ki");
  EXPECT_EQ(expand("{{ humanize1024 $value }}", 1e20), "86.74Ei");
  EXPECT_EQ(expand("{{ humanizeDuration $value }}", 1234567), "14d 6h 56m 7s");
  EXPECT_EQ(expand("{{ humanizeDuration $value }}", 123456), "1d 10h 17m 36s");
  EXPECT_EQ(expand("{{ humanizeDuration $value }}", 0.00001234), "12.34us");
  EXPECT_EQ(expand("{{ humanizeDuration $value }}", 1e20), "-106751991167300d -15h -30m -8s");
  EXPECT_EQ(expand("{{ humanizeDuration $value }}", -90), "-1m 30s");
  EXPECT_EQ(expand("{{ $value | humanizePercentage }}", 0.1234), "12.34%");
  EXPECT_EQ(expand("{{ humanize $value }}", NAN), "NaN");
  EXPECT_EQ(expand("{{ humanize \"2048\" }}", 0), "2.048k");
}

TEST(AlertTemplate, PrintfFollowsGoFmt) {
  EXPECT_EQ(expand("{{ printf \"%.2f\" $value }}", 1234567.891), "1234567.89");
  EXPECT_EQ(expand("{{ printf \"%v|%g|%.3g|%e\" $value $value $value $value }}", 1234567.891),
            "1.234567891e+06|1.234567891e+06|1.23e+06|1.234568e+06");
  EXPECT_EQ(expand("{{ printf \"%s|%d\" $value $value }}", 1), "%!s(float64=1)|%!d(float64=1)");
  EXPECT_EQ(expand("{{ printf \"%5.1f|%x|%d%%\" $value 255 7 }}", NAN), "  NaN|ff|7%");
  EXPECT_EQ(expand("{{ printf \"%d %d\" 1 }}", 0), "1 %!d(MISSING)");
  EXPECT_EQ(expand("{{ printf \"%d\" 1 2 }}", 0), "1%!(EXTRA int=2)");
}

TEST(AlertTemplate, StringFunctionsPipesAndTrimming) {
  const Labels labels(std::vector<promql::Label>{{"instance", "Host-1"}});
  EXPECT_EQ(expand("{{ $labels.instance | toUpper }}", 0, labels), "HOST-1");
  EXPECT_EQ(expand("{{ toLower $labels.instance }}", 0, labels), "host-1");
  EXPECT_EQ(expand("{{ \"hello world-foo_bar x.y\" | title }}", 0), "Hello World-Foo_bar X.Y");
  EXPECT_EQ(expand("{{ $value | printf \"%.1f\" }}", 2.25), "2.2");
  EXPECT_EQ(expand("{{ (printf \"%.0f\" $value) | toUpper }}", 3), "3");
  EXPECT_EQ(expand("a {{- 1 -}} b", 0), "a1b");
  EXPECT_EQ(expand("x{{/* note */}}y", 0), "xy");
}

TEST(AlertTemplate, ExecutionErrorsReadAsPrometheusDoes) {
  EXPECT_EQ(expand("{{ humanize \"abc\" }}", 0).substr(0, 29), "<error expanding template: st");
  EXPECT_NE(expand("{{ $value.x }}", 0).find("<error expanding template"), std::string::npos);
}

TEST(AlertTemplate, RefusesWhatItCannotExpandExactly) {
  EXPECT_NE(compileError("{{ if $value }}x{{ end }}").find("\"if\" is not supported"),
            std::string::npos);
  EXPECT_NE(compileError("{{ range $labels }}{{ end }}").find("not supported"), std::string::npos);
  EXPECT_NE(compileError("{{ $x := 1 }}").find("variables"), std::string::npos);
  EXPECT_NE(compileError("{{ query \"up\" }}").find("not defined"), std::string::npos);
  EXPECT_NE(compileError("{{ $nope }}").find("undefined variable"), std::string::npos);
  EXPECT_NE(compileError("{{ $value").find("unclosed action"), std::string::npos);
  EXPECT_NE(compileError("{{ (1 }}").find("unclosed left paren"), std::string::npos);
}

}  // namespace
}  // namespace appliance::plugins::alert_evaluator::rules
