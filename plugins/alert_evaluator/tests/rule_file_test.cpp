#include <gtest/gtest.h>

#include <string>

#include "rules/rule_file.h"

namespace appliance::plugins::alert_evaluator::rules {
namespace {

std::string firstError(const std::string& yaml) {
  RuleFileResult r = parseRuleFile(yaml, "rules.yaml");
  EXPECT_FALSE(r.ok()) << yaml;
  return r.errors.empty() ? "" : r.errors.front();
}

TEST(RuleFile, LoadsTheShippedAlerts) {
  RuleFileResult r = loadRuleFile(ALERTS_YAML);
  ASSERT_TRUE(r.ok()) << r.errors.front();
  std::size_t rules = 0;
  for (const auto& g : r.file.groups) {
    for (const auto& rule : g.rules) {
      ++rules;
      EXPECT_TRUE(rule.isAlert());
      bool has_runbook = false, has_severity = false;
      for (const auto& a : rule.annotations) has_runbook |= a.name == "runbook_url";
      for (const auto& l : rule.labels) has_severity |= l.name == "severity";
      EXPECT_TRUE(has_runbook && has_severity) << rule.alert;
    }
  }
  EXPECT_EQ(rules, 14u);
}

TEST(RuleFile, ReadsGroupsAndRules) {
  RuleFileResult r = parseRuleFile(R"(groups:
  - name: g
    interval: 30s
    limit: 10
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
        labels: {team: a}
      - alert: Down
        expr: job:up:sum == 0
        for: 5m
        keep_firing_for: 1m
        labels: {severity: critical}
        annotations: {summary: "{{ $labels.job }} down"}
)",
                                   "rules.yaml");
  ASSERT_TRUE(r.ok()) << r.errors.front();
  const RuleGroup& g = r.file.groups.at(0);
  EXPECT_EQ(g.interval_ms, 30000);
  EXPECT_EQ(g.limit, 10);
  ASSERT_EQ(g.rules.size(), 2u);
  EXPECT_EQ(g.rules[0].record, "job:up:sum");
  EXPECT_EQ(g.rules[1].for_ms, 300000);
  EXPECT_EQ(g.rules[1].keep_firing_for_ms, 60000);
  EXPECT_EQ(g.rules[1].line, 9);
}

TEST(RuleFile, ErrorsNameFileLineGroupAndRule) {
  EXPECT_EQ(firstError("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: "
                       "rate(x[5m]\n"),
            "rules.yaml:5:15: group \"g\", rule \"A\", could not parse expression: 1:11: "
            "unexpected end of input in call to function \"rate\", expected \",\" or \")\"");
  EXPECT_NE(firstError("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n"
                       "        fro: 5m\n")
                .find("rules.yaml:6:9: group \"g\", rule \"A\", field fro not found"),
            std::string::npos);
  EXPECT_NE(firstError("groups:\n  - name: g\n    rules:\n      - alert: A\n")
                .find("field 'expr' must be set"),
            std::string::npos);
  EXPECT_NE(firstError("groups:\n  - name: g\n    rules:\n      - expr: up\n")
                .find("one of 'record' or 'alert' must be set"),
            std::string::npos);
  EXPECT_NE(firstError("groups:\n  - name: g\n    rules:\n      - record: a\n        alert: b\n"
                       "        expr: up\n")
                .find("only one of"),
            std::string::npos);
  EXPECT_NE(firstError("groups:\n  - name: g\n    rules:\n      - record: 'bad name'\n"
                       "        expr: up\n")
                .find("invalid recording rule name"),
            std::string::npos);
  EXPECT_NE(firstError("groups:\n  - name: g\n    rules:\n      - record: r\n        expr: up\n"
                       "        annotations: {a: b}\n")
                .find("invalid field 'annotations' in recording rule"),
            std::string::npos);
  EXPECT_NE(firstError("groups:\n  - name: g\n  - name: g\n").find("is repeated"),
            std::string::npos);
  EXPECT_NE(firstError("groups:\n  - rules: []\n").find("Groupname must not be empty"),
            std::string::npos);
  EXPECT_NE(firstError("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n"
                       "        for: 5 minutes\n")
                .find("not a valid duration"),
            std::string::npos);
  EXPECT_NE(firstError("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n"
                       "        annotations: {s: '{{ if 1 }}x{{ end }}'}\n")
                .find("annotations.s: template:"),
            std::string::npos);
  EXPECT_NE(firstError("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up[5m]\n")
                .find("must be an instant vector or a scalar"),
            std::string::npos);
  EXPECT_NE(firstError("groups: [\n").find("rules.yaml:"), std::string::npos);
}

}  // namespace
}  // namespace appliance::plugins::alert_evaluator::rules
