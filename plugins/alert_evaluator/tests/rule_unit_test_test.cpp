#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "promql/parser.h"
#include "rules/rule_unit_test.h"

namespace appliance::plugins::alert_evaluator::rules {
namespace {

namespace fs = std::filesystem;

// The promtool-format files also run under the real promtool in the conformance test
// (tests/promtool_conformance.sh); here they run through this engine alone, so the engine is
// checked even where promtool is not installed.
TEST(RuleUnitTestFiles, EveryConformanceFilePassesThroughTheEngine) {
  int files = 0;
  for (const auto& entry : fs::directory_iterator(ALERT_RULES_TEST_DIR)) {
    const std::string name = entry.path().filename().string();
    if (!name.ends_with("_test.yaml")) continue;
    ++files;
    UnitTestReport report = runRuleUnitTestFile(entry.path().string());
    EXPECT_TRUE(report.passed()) << name << ":\n"
                                 << (report.failures.empty() ? "" : report.failures.front());
    EXPECT_GT(report.cases, 0) << name;
  }
  EXPECT_GE(files, 2);
}

class RuleUnitTestFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("alert-rules-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& content) {
    std::ofstream(dir_ / name) << content;
    return (dir_ / name).string();
  }
  fs::path dir_;
};

TEST_F(RuleUnitTestFileTest, ReportsFailingCasesLikePromtool) {
  write("r.yaml", "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: v > 1\n");
  const std::string test = write("t_test.yaml", R"(rule_files: [r.yaml]
tests:
  - interval: 1m
    input_series:
      - series: 'v{i="1"}'
        values: '2 2'
    alert_rule_test:
      - eval_time: 1m
        alertname: A
    promql_expr_test:
      - expr: v + 1
        eval_time: 1m
        exp_samples:
          - labels: '{i="1"}'
            value: 4
)");
  UnitTestReport report = runRuleUnitTestFile(test);
  ASSERT_EQ(report.failures.size(), 2u);
  EXPECT_NE(report.failures[0].find("alertname: A, time: 1m"), std::string::npos);
  EXPECT_NE(report.failures[1].find("exp: [{i=\"1\"} 4]"), std::string::npos);
  EXPECT_NE(report.failures[1].find("got: [{i=\"1\"} 3]"), std::string::npos);
}

TEST_F(RuleUnitTestFileTest, RefusesBrokenFiles) {
  write("r.yaml", "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: v >\n");
  UnitTestReport bad_rules = runRuleUnitTestFile(write("a_test.yaml", "rule_files: [r.yaml]\n"));
  ASSERT_FALSE(bad_rules.passed());
  EXPECT_NE(bad_rules.failures[0].find("r.yaml:5:11"), std::string::npos) << bad_rules.failures[0];
  UnitTestReport unknown = runRuleUnitTestFile(write("b_test.yaml", "rule_file: []\n"));
  ASSERT_FALSE(unknown.passed());
  EXPECT_NE(unknown.failures[0].find("field rule_file not found"), std::string::npos);
}

TEST(SeriesValues, ExpandingNotation) {
  promql::SeriesStore store;
  promql::Labels labels(std::vector<promql::Label>{{"__name__", "m"}});
  ASSERT_EQ(loadSeriesValues(store, labels, "0+10x2 _ 1x1 -1-1x1 _x2 stale 1e3 Inf", 1000), "");
  std::vector<promql::LabelMatcher> all(1);
  all[0].name = "__name__";
  all[0].value = "m";
  const auto& points = store.select(all).at(0)->points;
  std::vector<std::pair<std::int64_t, double>> got;
  for (const auto& p : points) got.emplace_back(p.t, p.v);
  ASSERT_EQ(got.size(), 10u);
  EXPECT_EQ(got[0], (std::pair<std::int64_t, double>{0, 0}));
  EXPECT_EQ(got[2], (std::pair<std::int64_t, double>{2000, 20}));
  EXPECT_EQ(got[3], (std::pair<std::int64_t, double>{4000, 1}));  // "_" skipped 3000
  EXPECT_EQ(got[5], (std::pair<std::int64_t, double>{6000, -1}));
  EXPECT_EQ(got[6], (std::pair<std::int64_t, double>{7000, -2}));
  EXPECT_TRUE(promql::isStaleNaN(got[7].second));
  EXPECT_EQ(got[7].first, 10000);  // after two more omitted steps
  EXPECT_EQ(got[8].second, 1000);
  EXPECT_TRUE(std::isinf(got[9].second));
  EXPECT_NE(loadSeriesValues(store, labels, "1+x", 1000), "");
  EXPECT_NE(loadSeriesValues(store, labels, "stalex2", 1000), "");
}

}  // namespace
}  // namespace appliance::plugins::alert_evaluator::rules
