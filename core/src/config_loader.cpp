#include "config_loader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "sdk/config_impl.h"

extern char** environ;

namespace appliance::host {
namespace {

constexpr std::string_view kEnvPrefix = "APPLIANCE__";

void eraseLocationsUnder(ConfigLocations& locations, const std::string& path) {
  auto it = locations.lower_bound(path);
  while (it != locations.end() && it->first.compare(0, path.size(), path) == 0 &&
         (it->first.size() == path.size() || it->first[path.size()] == '.' ||
          it->first[path.size()] == '[')) {
    it = locations.erase(it);
  }
}

// Deep-merges `overlay` into `base` (maps merge, everything else replaces).
void overlayInto(YAML::Node base, const YAML::Node& overlay, const std::string& path,
                 const std::string& file, ConfigLocations& locations) {
  for (const auto& kv : overlay) {
    const std::string key = kv.first.Scalar();
    const std::string child = childPath(path, key);
    YAML::Node existing = base[key];
    if (existing.IsDefined() && existing.IsMap() && kv.second.IsMap()) {
      overlayInto(existing, kv.second, child, file, locations);
      continue;
    }
    eraseLocationsUnder(locations, child);
    base[key] = YAML::Clone(kv.second);
    collectLocations(kv.second, child, file, locations);
    locations[child] = file + ":" + std::to_string(kv.first.Mark().line + 1);
  }
}

// Expands ${VAR} and ${VAR:-default}; "$$" is a literal '$'.
Status interpolate(std::string& text, const std::map<std::string, std::string>& env,
                   const std::string& where) {
  if (text.find('$') == std::string::npos) return Status::ok();
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '$') {
      out.push_back('$');
      ++i;
      continue;
    }
    if (i + 1 >= text.size() || text[i + 1] != '{') {
      out.push_back('$');
      continue;
    }
    const std::size_t close = text.find('}', i + 2);
    if (close == std::string::npos) {
      return Status::invalid(where + ": unterminated ${...} in '" + text + "'");
    }
    std::string expr = text.substr(i + 2, close - i - 2);
    std::string name = expr;
    std::optional<std::string> fallback;
    if (const std::size_t sep = expr.find(":-"); sep != std::string::npos) {
      name = expr.substr(0, sep);
      fallback = expr.substr(sep + 2);
    }
    const bool valid_name = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
    });
    if (!valid_name) {
      return Status::invalid(
          where + ": '${" + expr +
          "}' is not a valid variable reference; use ${NAME} or ${NAME:-default}");
    }
    auto it = env.find(name);
    if (it != env.end() && !it->second.empty()) {
      out += it->second;
    } else if (fallback) {
      out += *fallback;
    } else {
      return Status::invalid(where + ": environment variable " + name +
                             " is not set; set it or write ${" + name + ":-default}");
    }
    i = close;
  }
  text = std::move(out);
  return Status::ok();
}

Status interpolateTree(YAML::Node node, const std::string& path, const ConfigLocations& locations,
                       const std::map<std::string, std::string>& env) {
  if (node.IsScalar()) {
    std::string text = node.Scalar();
    auto loc = locations.find(path);
    const std::string where = (loc != locations.end() ? loc->second : "<config>") + ": " + path;
    Status s = interpolate(text, env, where);
    if (!s) return s;
    if (text != node.Scalar()) node = text;
    return Status::ok();
  }
  if (node.IsMap()) {
    for (auto kv : node) {
      Status s = interpolateTree(kv.second, childPath(path, kv.first.Scalar()), locations, env);
      if (!s) return s;
    }
  } else if (node.IsSequence()) {
    for (std::size_t i = 0; i < node.size(); ++i) {
      Status s = interpolateTree(node[i], path + "[" + std::to_string(i) + "]", locations, env);
      if (!s) return s;
    }
  }
  return Status::ok();
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

Status applyEnvironmentOverrides(YAML::Node& root, const std::map<std::string, std::string>& env,
                                 ConfigLocations& locations) {
  for (const auto& [name, value] : env) {
    if (name.compare(0, kEnvPrefix.size(), kEnvPrefix) != 0) continue;
    std::vector<std::string> keys;
    std::string_view rest = std::string_view(name).substr(kEnvPrefix.size());
    while (true) {
      const std::size_t sep = rest.find("__");
      keys.push_back(lower(std::string(rest.substr(0, sep))));
      if (sep == std::string_view::npos) break;
      rest.remove_prefix(sep + 2);
    }
    if (std::any_of(keys.begin(), keys.end(), [](const std::string& k) { return k.empty(); })) {
      return Status::invalid(
          "env " + name +
          ": empty key; use APPLIANCE__SECTION__KEY (double underscores between levels)");
    }
    std::vector<YAML::Node> chain{root};
    std::string path;
    for (std::size_t i = 0; i + 1 < keys.size(); ++i) {
      path = childPath(path, keys[i]);
      YAML::Node next = chain.back()[keys[i]];
      if (!next.IsDefined() || next.IsNull()) {
        next = YAML::Node(YAML::NodeType::Map);
        chain.back()[keys[i]] = next;
      } else if (!next.IsMap()) {
        return Status::invalid("env " + name + ": " + path +
                               " is not a map in the config files, so it has no key '" +
                               keys[i + 1] + "'");
      }
      chain.push_back(chain.back()[keys[i]]);
    }
    path = childPath(path, keys.back());
    eraseLocationsUnder(locations, path);
    chain.back()[keys.back()] = value;
    locations[path] = "env " + name;
  }
  return Status::ok();
}

}  // namespace

std::map<std::string, std::string> processEnvironment() {
  std::map<std::string, std::string> out;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    const std::size_t eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    out.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return out;
}

Result<std::vector<std::string>> filesForEnv(const std::string& config_dir,
                                             const std::string& env) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  const fs::path base = fs::path(config_dir) / "base.yaml";
  if (fs::exists(base)) files.push_back(base.string());
  const fs::path named = fs::path(config_dir) / (env + ".yaml");
  if (!fs::exists(named)) {
    std::string available;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(config_dir, ec)) {
      const auto p = entry.path();
      if (p.extension() == ".yaml" && p.stem() != "base" && p.stem() != "alert_rules") {
        if (!available.empty()) available += ", ";
        available += p.stem().string();
      }
    }
    return Status::invalid(
        "--env=" + env + ": no file " + named.string() +
        (available.empty() ? std::string() : "; environments available: " + available));
  }
  files.push_back(named.string());
  return files;
}

Result<ConfigNode> loadConfig(const ConfigSources& sources) {
  YAML::Node root(YAML::NodeType::Map);
  auto locations = std::make_shared<ConfigLocations>();
  for (const std::string& file : sources.files) {
    std::ifstream in(file);
    if (!in) return Status::invalid(file + ": cannot read config file: " + std::strerror(errno));
    std::stringstream text;
    text << in.rdbuf();
    YAML::Node doc;
    try {
      doc = YAML::Load(text.str());
    } catch (const YAML::Exception& e) {
      return Status::invalid(file + ":" + std::to_string(e.mark.line + 1) +
                             ": invalid YAML: " + e.msg);
    }
    if (Status s = checkExpandedSize(doc, file); !s) return s;
    if (doc.IsNull() || !doc.IsDefined()) continue;  // an empty file overlays nothing
    if (!doc.IsMap()) {
      return Status::invalid(
          file + ":" + std::to_string(doc.Mark().line + 1) +
          ": the top level must be a map of sections (http:, roles:, task_api:, ...)");
    }
    // Interpolate per file, so a message names the file that holds the reference.
    ConfigLocations file_locations;
    collectLocations(doc, "", file, file_locations);
    Status s = interpolateTree(doc, "", file_locations, sources.environment);
    if (!s) return s;
    overlayInto(root, doc, "", file, *locations);
  }
  Status s = applyEnvironmentOverrides(root, sources.environment, *locations);
  if (!s) return s;
  return makeConfigNode(root, std::move(locations));
}

namespace {

std::string redactUrlPassword(const std::string& value) {
  // scheme://user:password@host -> scheme://user:<redacted>@host
  const std::size_t scheme = value.find("://");
  if (scheme == std::string::npos) return value;
  const std::size_t at = value.find('@', scheme + 3);
  const std::size_t colon = value.find(':', scheme + 3);
  if (at == std::string::npos || colon == std::string::npos || colon > at) return value;
  return value.substr(0, colon + 1) + "<redacted>" + value.substr(at);
}

YAML::Node redact(const YAML::Node& node, const std::string& key) {
  if (node.IsMap()) {
    YAML::Node out(YAML::NodeType::Map);
    for (const auto& kv : node) out[kv.first.Scalar()] = redact(kv.second, kv.first.Scalar());
    return out;
  }
  if (!key.empty() && isSecretKey(key) && !node.IsNull()) return YAML::Node("<redacted>");
  if (node.IsSequence()) {
    YAML::Node out(YAML::NodeType::Sequence);
    for (const auto& item : node) out.push_back(redact(item, ""));
    return out;
  }
  if (node.IsScalar()) {
    // password=... in a libpq conninfo string
    std::string v = redactUrlPassword(node.Scalar());
    if (const std::size_t p = v.find("password="); p != std::string::npos) {
      const std::size_t end = v.find(' ', p);
      v = v.substr(0, p + 9) + "<redacted>" + (end == std::string::npos ? "" : v.substr(end));
    }
    return YAML::Node(v);
  }
  return YAML::Clone(node);
}

}  // namespace

std::string redactedYaml(const ConfigNode& root) {
  if (!root.impl()) return "";
  YAML::Emitter out;
  out << redact(root.impl()->node, "");
  return std::string(out.c_str()) + "\n";
}

}  // namespace appliance::host
