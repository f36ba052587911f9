#include "rule_unit_test.h"

#include <glob.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <sstream>

#include "promql/duration.h"
#include "promql/evaluator.h"
#include "promql/parser.h"
#include "rules/group_evaluator.h"
#include "rules/rule_file.h"

namespace appliance::plugins::alert_evaluator::rules {

using promql::Labels;

namespace {

struct TestError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::int64_t durationOf(const YAML::Node& node, const std::string& key) {
  const std::string text = node.as<std::string>();
  const auto ms = promql::parseDuration(text);
  if (!ms) throw TestError(key + ": not a valid duration string: \"" + text + "\"");
  return *ms;
}

void checkKeys(const YAML::Node& map, std::initializer_list<const char*> allowed) {
  if (!map.IsMap())
    throw TestError("line " + std::to_string(map.Mark().line + 1) + ": expected a map");
  for (const auto& kv : map) {
    const std::string key = kv.first.as<std::string>();
    if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; })) {
      throw TestError("line " + std::to_string(kv.first.Mark().line + 1) + ": field " + key +
                      " not found in type");
    }
  }
}

bool parseNumber(const std::string& text, double& out) {
  std::string t = text;
  std::string lower = t;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  // Go's ParseFloat spellings and YAML's (.inf, -.inf, .nan).
  if (lower == "inf" || lower == "+inf" || lower == ".inf" || lower == "+.inf") {
    out = INFINITY;
    return true;
  }
  if (lower == "-inf" || lower == "-.inf") {
    out = -INFINITY;
    return true;
  }
  if (lower == "nan" || lower == ".nan") {
    out = NAN;
    return true;
  }
  char* end = nullptr;
  out = std::strtod(t.c_str(), &end);
  return !t.empty() && end == t.c_str() + t.size();
}

// One item of the expanding notation: "_", "_xN", "stale", "V", "VxN", "V+DxN", "V-DxN".
std::string expandItem(const std::string& item, std::vector<std::optional<double>>& out) {
  const auto x = item.rfind('x');
  std::string head = item;
  long long times = -1;
  if (x != std::string::npos && x + 1 < item.size() &&
      std::all_of(item.begin() + static_cast<long>(x) + 1, item.end(), ::isdigit)) {
    head = item.substr(0, x);
    times = std::stoll(item.substr(x + 1));
  }
  if (head == "_") {
    for (long long i = 0; i < std::max(times, 1LL); ++i) out.push_back(std::nullopt);
    return "";
  }
  if (head == "stale") {
    if (times >= 0) return "\"stale\" cannot be repeated: " + item;
    out.push_back(promql::staleNaN());
    return "";
  }
  std::size_t split = std::string::npos;
  for (std::size_t i = 1; i < head.size(); ++i) {
    if ((head[i] == '+' || head[i] == '-') && head[i - 1] != 'e' && head[i - 1] != 'E') split = i;
  }
  double base = 0, delta = 0;
  const std::string base_text = split == std::string::npos ? head : head.substr(0, split);
  if (!parseNumber(base_text, base) ||
      (split != std::string::npos && !parseNumber(head.substr(split), delta))) {
    return "invalid series value: \"" + item + "\"";
  }
  if (split != std::string::npos && times < 0) return "invalid series value: \"" + item + "\"";
  for (long long i = 0; i <= std::max(times, 0LL); ++i) {
    out.push_back(base);
    base += delta;
  }
  return "";
}

std::string nameOf(std::int64_t ms) { return promql::formatDuration(ms); }

struct ExpectedAlert {
  Labels labels;
  Labels annotations;
  auto operator<=>(const ExpectedAlert&) const = default;
  bool operator==(const ExpectedAlert&) const = default;
};

std::string describe(const std::vector<ExpectedAlert>& alerts) {
  std::string out = "[";
  for (std::size_t i = 0; i < alerts.size(); ++i) {
    out += (i ? ", " : "") + std::string("\n            0:\n              Labels:") +
           alerts[i].labels.toString() +
           "\n              Annotations:" + alerts[i].annotations.toString();
  }
  return out + "]";
}

Labels labelMap(const YAML::Node& node) {
  std::vector<promql::Label> items;
  if (node && node.IsMap()) {
    for (const auto& kv : node) {
      items.push_back({kv.first.as<std::string>(), kv.second.as<std::string>()});
    }
  }
  return Labels(std::move(items));
}

class TestGroupRunner {
 public:
  TestGroupRunner(const YAML::Node& tg, const std::vector<RuleGroup*>& groups,
                  std::int64_t eval_interval, UnitTestReport& report)
      : tg_(tg), groups_(groups), eval_interval_(eval_interval), report_(report) {}

  void run() {
    checkKeys(tg_, {"interval", "input_series", "alert_rule_test", "promql_expr_test",
                    "external_labels", "external_url", "name"});
    name_ = tg_["name"] ? tg_["name"].as<std::string>() : "";
    const std::int64_t interval =
        tg_["interval"] ? durationOf(tg_["interval"], "interval") : eval_interval_;
    loadInputSeries(interval);
    EvalContext context;
    context.external_labels = labelMap(tg_["external_labels"]);
    if (tg_["external_url"]) context.external_url = tg_["external_url"].as<std::string>();
    for (RuleGroup* g : groups_)
      evaluators_.push_back(std::make_unique<GroupEvaluator>(*g, context));
    collectAlertTests();
    if (!evaluateSteps()) return;
    runExprTests();
  }

 private:
  void fail(const std::string& message) {
    report_.failures.push_back((name_.empty() ? "" : "    name: " + name_ + ",\n") + message);
  }

  void loadInputSeries(std::int64_t interval) {
    const YAML::Node series = tg_["input_series"];
    if (!series) return;
    for (const auto& s : series) {
      checkKeys(s, {"series", "values"});
      Labels labels;
      const std::string desc = s["series"].as<std::string>();
      if (auto err = promql::parseMetric(desc, labels)) {
        throw TestError("input_series \"" + desc + "\": " + err->toString());
      }
      const std::string values = s["values"] ? s["values"].as<std::string>() : "";
      if (std::string err = loadSeriesValues(store_, labels, values, interval); !err.empty()) {
        throw TestError("input_series \"" + desc + "\": " + err);
      }
    }
  }

  // Alert tests by eval_time, and the last time any test looks at: rules are evaluated up to
  // it.
  void collectAlertTests() {
    if (const YAML::Node tests = tg_["alert_rule_test"]) {
      for (const auto& t : tests) addAlertTest(t);
    }
    if (const YAML::Node exprs = tg_["promql_expr_test"]) {
      for (const auto& e : exprs) {
        if (e["eval_time"]) {
          max_time_ = std::max(max_time_, durationOf(e["eval_time"], "eval_time"));
        }
      }
    }
  }

  void addAlertTest(const YAML::Node& t) {
    checkKeys(t, {"eval_time", "alertname", "exp_alerts"});
    const std::int64_t at = t["eval_time"] ? durationOf(t["eval_time"], "eval_time") : 0;
    if (!t["alertname"]) {
      throw TestError(
          "an item under alert_rule_test misses required attribute alertname at "
          "eval_time " +
          nameOf(at));
    }
    alert_tests_.emplace(at, t);
    max_time_ = std::max(max_time_, at);
  }

  bool evaluateSteps() {
    auto next = alert_tests_.begin();
    for (std::int64_t ts = 0; ts <= max_time_; ts += eval_interval_) {
      std::vector<std::string> errors;
      for (auto& evaluator : evaluators_) {
        for (auto& e : evaluator->evaluate(store_, ts)) {
          errors.push_back("    rule: " + e.substr(0, e.find(": ")) + ", time: " + nameOf(ts) +
                           ", err: " + e.substr(e.find(": ") + 2));
        }
      }
      if (!errors.empty()) {
        for (auto& e : errors) fail(e);
        return false;
      }
      while (next != alert_tests_.end() && next->first >= ts && next->first < ts + eval_interval_) {
        checkAlerts(next->first, next->second);
        ++next;
      }
    }
    return true;
  }

  void checkAlerts(std::int64_t at, const YAML::Node& test) {
    ++report_.cases;
    const std::string alertname = test["alertname"].as<std::string>();
    std::vector<ExpectedAlert> got;
    for (const auto& evaluator : evaluators_) {
      for (const auto& state : evaluator->rules()) {
        if (!state.rule->isAlert() || state.rule->alert != alertname) continue;
        for (const auto& [labels, alert] : state.active) {
          if (alert.state == AlertState::kFiring) got.push_back({alert.labels, alert.annotations});
        }
      }
    }
    std::vector<ExpectedAlert> expected;
    if (const YAML::Node exp = test["exp_alerts"]) {
      for (const auto& a : exp) {
        checkKeys(a, {"exp_labels", "exp_annotations"});
        Labels labels = labelMap(a["exp_labels"]);
        labels.set("alertname", alertname);
        expected.push_back({std::move(labels), labelMap(a["exp_annotations"])});
      }
    }
    std::sort(got.begin(), got.end());
    std::sort(expected.begin(), expected.end());
    if (got != expected) {
      fail("    alertname: " + alertname + ", time: " + nameOf(at) +
           ", \n        exp:" + describe(expected) + ", \n        got:" + describe(got));
    }
  }

  void runExprTests() {
    const YAML::Node tests = tg_["promql_expr_test"];
    if (!tests) return;
    for (const auto& t : tests) {
      checkKeys(t, {"expr", "eval_time", "exp_samples"});
      ++report_.cases;
      runExprTest(t);
    }
  }

  void runExprTest(const YAML::Node& t) {
    const std::string expr = t["expr"].as<std::string>();
    const std::int64_t at = t["eval_time"] ? durationOf(t["eval_time"], "eval_time") : 0;
    const std::string where = "    expr: \"" + expr + "\", time: " + nameOf(at);
    promql::ParseResult parsed = promql::parseExpr(expr);
    if (!parsed.ok()) return fail(where + ", err: " + parsed.error->toString());
    promql::Evaluator evaluator(store_);
    promql::EvalResult result = evaluator.evaluate(*parsed.expr, at);
    if (!result.ok()) return fail(where + ", err: " + result.error);
    std::vector<std::pair<Labels, double>> got;
    if (result.value.type == promql::ValueType::kScalar) {
      got.emplace_back(Labels{}, result.value.scalar);
    } else {
      for (const auto& s : result.value.vector) got.emplace_back(s.labels, s.v);
    }
    std::vector<std::pair<Labels, double>> expected;
    if (const YAML::Node samples = t["exp_samples"]) {
      for (const auto& s : samples) {
        checkKeys(s, {"labels", "value", "histogram"});
        Labels labels;
        const std::string text = s["labels"] ? s["labels"].as<std::string>() : "";
        if (text != "{}" && !text.empty()) {
          if (auto err = promql::parseMetric(text, labels)) {
            return fail(where + ", err: labels \"" + text + "\": " + err->toString());
          }
        }
        double value = 0;
        if (s["value"] && !parseNumber(s["value"].as<std::string>(), value)) {
          return fail(where + ", err: bad value " + s["value"].as<std::string>());
        }
        expected.emplace_back(std::move(labels), value);
      }
    }
    auto byLabels = [](const auto& a, const auto& b) { return a.first < b.first; };
    std::sort(got.begin(), got.end(), byLabels);
    std::sort(expected.begin(), expected.end(), byLabels);
    // Exact comparison, as promtool's reflect.DeepEqual (so NaN never equals NaN).
    const bool same =
        got.size() == expected.size() &&
        std::equal(got.begin(), got.end(), expected.begin(), [](const auto& a, const auto& b) {
          return a.first == b.first && a.second == b.second;
        });
    if (!same) {
      auto show = [](const std::vector<std::pair<Labels, double>>& v) {
        std::string out = "[";
        for (std::size_t i = 0; i < v.size(); ++i) {
          out += (i ? " " : "") + v[i].first.toString() + " " + promql::formatGoFloat(v[i].second);
        }
        return out + "]";
      };
      fail(where + ",\n        exp: " + show(expected) + "\n        got: " + show(got));
    }
  }

  const YAML::Node& tg_;
  const std::vector<RuleGroup*>& groups_;
  std::int64_t eval_interval_;
  UnitTestReport& report_;
  std::string name_;
  promql::SeriesStore store_;
  std::vector<std::unique_ptr<GroupEvaluator>> evaluators_;
  std::multimap<std::int64_t, YAML::Node> alert_tests_;
  std::int64_t max_time_ = 0;
};

std::vector<std::string> resolveRuleFiles(const YAML::Node& files, const std::string& dir) {
  std::vector<std::string> out;
  if (!files) return out;
  for (const auto& f : files) {
    std::string pattern = f.as<std::string>();
    if (!pattern.empty() && pattern[0] != '/') pattern = dir + "/" + pattern;
    glob_t g{};
    if (::glob(pattern.c_str(), 0, nullptr, &g) == 0) {
      for (std::size_t i = 0; i < g.gl_pathc; ++i) out.emplace_back(g.gl_pathv[i]);
    }
    ::globfree(&g);
  }
  return out;
}

}  // namespace

std::string loadSeriesValues(promql::SeriesStore& store, const Labels& labels,
                             const std::string& values, std::int64_t interval_ms) {
  std::istringstream in(values);
  std::vector<std::optional<double>> expanded;
  std::string item;
  while (in >> item) {
    if (std::string err = expandItem(item, expanded); !err.empty()) return err;
  }
  for (std::size_t i = 0; i < expanded.size(); ++i) {
    if (expanded[i]) store.append(labels, static_cast<std::int64_t>(i) * interval_ms, *expanded[i]);
  }
  return "";
}

UnitTestReport runRuleUnitTestFile(const std::string& path) {
  UnitTestReport report;
  try {
    const YAML::Node root = YAML::LoadFile(path);
    checkKeys(root, {"rule_files", "evaluation_interval", "group_eval_order", "tests"});
    const std::int64_t eval_interval =
        root["evaluation_interval"] ? durationOf(root["evaluation_interval"], "evaluation_interval")
                                    : 60 * 1000;
    if (eval_interval <= 0) throw TestError("evaluation_interval must be positive");
    const std::string dir = std::filesystem::path(path).parent_path().string();
    std::vector<RuleFile> files;
    for (const auto& file : resolveRuleFiles(root["rule_files"], dir.empty() ? "." : dir)) {
      RuleFileResult loaded = loadRuleFile(file);
      for (auto& e : loaded.errors) report.failures.push_back(e);
      files.push_back(std::move(loaded.file));
    }
    if (!report.failures.empty()) return report;
    std::map<std::string, int> order;
    if (const YAML::Node o = root["group_eval_order"]) {
      int i = 0;
      for (const auto& name : o) order[name.as<std::string>()] = i++;
    }
    std::vector<RuleGroup*> groups;
    for (auto& f : files) {
      for (auto& g : f.groups) groups.push_back(&g);
    }
    std::stable_sort(groups.begin(), groups.end(), [&](const RuleGroup* a, const RuleGroup* b) {
      return order[a->name] < order[b->name];
    });
    if (const YAML::Node tests = root["tests"]) {
      for (const auto& tg : tests) TestGroupRunner(tg, groups, eval_interval, report).run();
    }
  } catch (const YAML::Exception& e) {
    report.failures.push_back(path + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  } catch (const TestError& e) {
    report.failures.push_back(path + ": " + e.what());
  }
  return report;
}

}  // namespace appliance::plugins::alert_evaluator::rules
