#include "rule_file.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

#include "promql/duration.h"
#include "promql/parser.h"

namespace appliance::plugins::alert_evaluator::rules {
namespace {

struct Where {
  const std::string& path;
  std::string group;
  std::string rule;
};

std::string position(const std::string& path, const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  if (mark.line < 0) return path;
  return path + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

std::string context(const Where& w) {
  std::string out;
  if (!w.group.empty()) out += "group \"" + w.group + "\", ";
  if (!w.rule.empty()) out += "rule \"" + w.rule + "\", ";
  return out;
}

bool validMetricName(const std::string& s) {
  if (s.empty()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (!(std::isalpha(c) || c == '_' || c == ':' || (i > 0 && std::isdigit(c)))) return false;
  }
  return true;
}

bool validLabelName(const std::string& s) {
  return validMetricName(s) && s.find(':') == std::string::npos;
}

class Loader {
 public:
  Loader(const std::string& path, RuleFileResult& result) : path_(path), result_(result) {}

  void load(const YAML::Node& root) {
    if (!root || root.IsNull()) return;
    if (!root.IsMap()) return error(root, {path_, "", ""}, "expected a map with \"groups\"");
    if (!checkKeys(root, {"groups"}, {path_, "", ""})) return;
    const YAML::Node groups = root["groups"];
    if (!groups || groups.IsNull()) return;
    if (!groups.IsSequence()) return error(groups, {path_, "", ""}, "groups: expected a list");
    std::set<std::string> names;
    for (const auto& g : groups) {
      RuleGroup group;
      if (!loadGroup(g, group)) continue;
      if (!names.insert(group.name).second) {
        error(g, {path_, "", ""}, "groupname: \"" + group.name + "\" is repeated in the same file");
        continue;
      }
      result_.file.groups.push_back(std::move(group));
    }
  }

 private:
  void error(const YAML::Node& node, const Where& w, const std::string& message) {
    result_.errors.push_back(position(path_, node) + ": " + context(w) + message);
  }

  bool checkKeys(const YAML::Node& map, std::initializer_list<const char*> allowed,
                 const Where& w) {
    bool ok = true;
    for (const auto& kv : map) {
      const std::string key = kv.first.as<std::string>();
      if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; })) {
        error(kv.first, w, "field " + key + " not found in type");
        ok = false;
      }
    }
    return ok;
  }

  bool scalar(const YAML::Node& node, const Where& w, const std::string& key, std::string& out) {
    if (!node.IsScalar()) {
      error(node, w, key + ": expected a string");
      return false;
    }
    out = node.as<std::string>();
    return true;
  }

  bool duration(const YAML::Node& node, const Where& w, const std::string& key, std::int64_t& out) {
    std::string text;
    if (!scalar(node, w, key, text)) return false;
    const auto parsed = promql::parseDuration(text);
    if (!parsed) {
      error(node, w, key + ": not a valid duration string: \"" + text + "\"");
      return false;
    }
    out = *parsed;
    return true;
  }

  bool loadGroup(const YAML::Node& g, RuleGroup& group) {
    Where w{path_, "", ""};
    if (!g.IsMap()) {
      error(g, w, "a group must be a map");
      return false;
    }
    bool ok = checkKeys(g, {"name", "interval", "limit", "rules"}, w);
    if (g["name"]) ok = scalar(g["name"], w, "name", group.name) && ok;
    if (group.name.empty()) {
      error(g, w, "Groupname must not be empty");
      return false;
    }
    w.group = group.name;
    if (g["interval"]) ok = duration(g["interval"], w, "interval", group.interval_ms) && ok;
    if (g["limit"]) {
      std::string text;
      ok = scalar(g["limit"], w, "limit", text) && ok;
      try {
        group.limit = std::stoi(text);
      } catch (const std::exception&) {
        error(g["limit"], w, "limit: expected an integer");
        ok = false;
      }
    }
    const YAML::Node rules = g["rules"];
    if (rules && !rules.IsNull()) {
      if (!rules.IsSequence()) {
        error(rules, w, "rules: expected a list");
        return false;
      }
      for (const auto& r : rules) {
        Rule rule;
        if (loadRule(r, w, rule))
          group.rules.push_back(std::move(rule));
        else
          ok = false;
      }
    }
    return ok;
  }

  bool loadRule(const YAML::Node& r, Where w, Rule& rule) {
    if (!r.IsMap()) {
      error(r, w, "a rule must be a map");
      return false;
    }
    rule.line = r.Mark().line + 1;
    bool ok = true;
    if (r["alert"]) ok = scalar(r["alert"], w, "alert", rule.alert) && ok;
    if (r["record"]) ok = scalar(r["record"], w, "record", rule.record) && ok;
    w.rule = rule.record.empty() ? rule.alert : rule.record;
    ok =
        checkKeys(r, {"alert", "record", "expr", "for", "keep_firing_for", "labels", "annotations"},
                  w) &&
        ok;
    if (r["alert"] && r["record"]) {
      error(r, w, "only one of 'record' and 'alert' must be set");
      return false;
    }
    if (rule.alert.empty() && rule.record.empty()) {
      error(r, w, "one of 'record' or 'alert' must be set");
      return false;
    }
    if (!rule.record.empty() && !validMetricName(rule.record)) {
      error(r["record"], w, "invalid recording rule name: " + rule.record);
      ok = false;
    }
    ok = loadExpr(r, w, rule) && ok;
    if (r["for"]) ok = duration(r["for"], w, "for", rule.for_ms) && ok;
    if (r["keep_firing_for"]) {
      ok = duration(r["keep_firing_for"], w, "keep_firing_for", rule.keep_firing_for_ms) && ok;
    }
    if (!rule.isAlert()) {
      for (const char* key : {"for", "keep_firing_for", "annotations"}) {
        if (r[key]) {
          error(r[key], w, std::string("invalid field '") + key + "' in recording rule");
          ok = false;
        }
      }
    }
    if (r["labels"]) ok = templated(r["labels"], w, "labels", rule.labels) && ok;
    if (r["annotations"])
      ok = templated(r["annotations"], w, "annotations", rule.annotations) && ok;
    return ok;
  }

  bool loadExpr(const YAML::Node& r, const Where& w, Rule& rule) {
    const YAML::Node node = r["expr"];
    if (!node || !scalar(node, w, "expr", rule.expr_text) || rule.expr_text.empty()) {
      error(node ? node : r, w, "field 'expr' must be set in rule");
      return false;
    }
    promql::ParseResult parsed = promql::parseExpr(rule.expr_text);
    if (!parsed.ok()) {
      error(node, w, "could not parse expression: " + parsed.error->toString());
      return false;
    }
    const promql::ValueType type = parsed.expr->type();
    if (type != promql::ValueType::kVector && type != promql::ValueType::kScalar) {
      error(node, w,
            "expression must be an instant vector or a scalar, got " +
                std::string(promql::valueTypeName(type)));
      return false;
    }
    rule.expr = std::move(parsed.expr);
    return true;
  }

  bool templated(const YAML::Node& map, const Where& w, const std::string& key,
                 std::vector<TemplatedLabel>& out) {
    if (!map.IsMap()) {
      if (map.IsNull()) return true;
      error(map, w, key + ": expected a map");
      return false;
    }
    bool ok = true;
    for (const auto& kv : map) {
      TemplatedLabel label;
      label.name = kv.first.as<std::string>();
      if (!scalar(kv.second, w, key + "." + label.name, label.text)) {
        ok = false;
        continue;
      }
      const bool valid = key == "labels" ? validLabelName(label.name) && label.name != "__name__"
                                         : validLabelName(label.name);
      if (!valid) {
        error(kv.first, w,
              "invalid " + std::string(key == "labels" ? "label" : "annotation") +
                  " name: " + label.name);
        ok = false;
        continue;
      }
      std::string err;
      auto compiled = Template::compile(label.text, err);
      if (!compiled) {
        error(kv.second, w, key + "." + label.name + ": " + err);
        ok = false;
        continue;
      }
      label.compiled = std::move(*compiled);
      out.push_back(std::move(label));
    }
    return ok;
  }

  const std::string& path_;
  RuleFileResult& result_;
};

}  // namespace

RuleFileResult parseRuleFile(const std::string& content, const std::string& path) {
  RuleFileResult result;
  result.file.path = path;
  try {
    const YAML::Node root = YAML::Load(content);
    Loader(path, result).load(root);
  } catch (const YAML::Exception& e) {
    result.errors.push_back(path + ":" + std::to_string(e.mark.line + 1) + ":" +
                            std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  return result;
}

RuleFileResult loadRuleFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    RuleFileResult result;
    result.file.path = path;
    result.errors.push_back(path + ": cannot open file");
    return result;
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parseRuleFile(buffer.str(), path);
}

}  // namespace appliance::plugins::alert_evaluator::rules
