#include "appliance/config.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

#include "sdk/config_impl.h"

namespace appliance {

std::string childPath(const std::string& parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  std::string out;
  out.reserve(parent.size() + key.size() + 1);
  out += parent;
  out += '.';
  out += key;
  return out;
}

void collectLocations(const YAML::Node& node, const std::string& path, const std::string& file,
                      ConfigLocations& out) {
  if (!node.IsDefined()) return;
  if (!path.empty()) out[path] = file + ":" + std::to_string(node.Mark().line + 1);
  if (node.IsMap()) {
    for (const auto& kv : node) {
      collectLocations(kv.second, childPath(path, kv.first.Scalar()), file, out);
      // A key's own line is a better pointer than its value's (which may be on the next line).
      out[childPath(path, kv.first.Scalar())] =
          file + ":" + std::to_string(kv.first.Mark().line + 1);
    }
  } else if (node.IsSequence()) {
    for (std::size_t i = 0; i < node.size(); ++i) {
      collectLocations(node[i], path + "[" + std::to_string(i) + "]", file, out);
    }
  }
}

namespace {

constexpr std::size_t kMaxExpandedNodes = 100'000;
constexpr std::size_t kMaxExpandedDepth = 256;

// Counts nodes as the walks above see them (an alias once per use), giving up past the limits.
bool withinExpansionLimits(const YAML::Node& node, std::size_t depth, std::size_t& budget) {
  if (budget == 0 || depth > kMaxExpandedDepth) return false;
  --budget;
  if (node.IsMap()) {
    for (const auto& kv : node) {
      if (!withinExpansionLimits(kv.second, depth + 1, budget)) return false;
    }
  } else if (node.IsSequence()) {
    for (const auto& item : node) {
      if (!withinExpansionLimits(item, depth + 1, budget)) return false;
    }
  }
  return true;
}

}  // namespace

Status checkExpandedSize(const YAML::Node& root, std::string_view file) {
  std::size_t budget = kMaxExpandedNodes;
  if (withinExpansionLimits(root, 0, budget)) return Status::ok();
  return Status::invalid(std::string(file) +
                         ":1: invalid YAML: its aliases (*name) expand it beyond 100000 values "
                         "or 256 levels, or make it contain itself");
}

ConfigNode makeConfigNode(const YAML::Node& root,
                          std::shared_ptr<const ConfigLocations> locations) {
  return ConfigNode(
      std::make_shared<ConfigNode::Impl>(ConfigNode::Impl{root, "", "", std::move(locations)}));
}

ConfigNode::ConfigNode() = default;
ConfigNode::ConfigNode(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

Result<ConfigNode> ConfigNode::parse(std::string_view yaml_text, std::string_view file_name) {
  try {
    YAML::Node root = YAML::Load(std::string(yaml_text));
    if (Status s = checkExpandedSize(root, file_name); !s) return s;
    auto locations = std::make_shared<ConfigLocations>();
    collectLocations(root, "", std::string(file_name), *locations);
    return ConfigNode(std::make_shared<Impl>(
        Impl{root, "", std::string(file_name) + ":1", std::move(locations)}));
  } catch (const YAML::Exception& e) {
    return Status::invalid(std::string(file_name) + ":" + std::to_string(e.mark.line + 1) +
                           ": invalid YAML: " + e.msg);
  }
}

bool ConfigNode::isMissing() const {
  return !impl_ || !impl_->node.IsDefined() || impl_->node.IsNull();
}
bool ConfigNode::isMap() const { return impl_ && impl_->node.IsDefined() && impl_->node.IsMap(); }
bool ConfigNode::isSequence() const {
  return impl_ && impl_->node.IsDefined() && impl_->node.IsSequence();
}
bool ConfigNode::isScalar() const {
  return impl_ && impl_->node.IsDefined() && impl_->node.IsScalar();
}

// yaml-cpp's Node::operator= rejects a missing ("zombie") node, so nodes are only ever
// copy-constructed here.
ConfigNode ConfigNode::child(std::string_view key) const {
  if (!impl_)
    return ConfigNode(std::make_shared<Impl>(Impl{YAML::Node(), std::string(key), "", nullptr}));
  const YAML::Node& parent = impl_->node;
  return ConfigNode(std::make_shared<Impl>(Impl{
      parent.IsDefined() && parent.IsMap() ? YAML::Node(parent[std::string(key)]) : YAML::Node(),
      childPath(impl_->path, key), location(), impl_->locations}));
}

ConfigNode ConfigNode::at(std::size_t index) const {
  if (!impl_) return ConfigNode();
  const YAML::Node& parent = impl_->node;
  const bool present = parent.IsDefined() && parent.IsSequence() && index < parent.size();
  return ConfigNode(std::make_shared<Impl>(Impl{present ? YAML::Node(parent[index]) : YAML::Node(),
                                                impl_->path + "[" + std::to_string(index) + "]",
                                                location(), impl_->locations}));
}

std::size_t ConfigNode::size() const {
  return impl_ && (isMap() || isSequence()) ? impl_->node.size() : 0;
}

std::vector<std::string> ConfigNode::keys() const {
  std::vector<std::string> out;
  if (!isMap()) return out;
  for (const auto& kv : impl_->node) out.push_back(kv.first.Scalar());
  return out;
}

std::optional<std::string> ConfigNode::scalar() const {
  if (!isScalar()) return std::nullopt;
  return impl_->node.Scalar();
}

const std::string& ConfigNode::path() const {
  static const std::string kEmpty;
  return impl_ ? impl_->path : kEmpty;
}

std::string ConfigNode::location() const {
  if (!impl_) return "<config>";
  if (impl_->locations) {
    auto it = impl_->locations->find(impl_->path);
    if (it != impl_->locations->end()) return it->second;
  }
  return impl_->parent_location.empty() ? "<config>" : impl_->parent_location;
}

std::string ConfigNode::toYaml() const {
  if (!impl_ || !impl_->node.IsDefined()) return "";
  YAML::Emitter out;
  out << impl_->node;
  return out.c_str();
}

namespace {

// One error is one line: control characters that came from a key or a value (a quoted
// "a\nb", a block scalar) are written escaped.
void appendPrintable(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u != 0x7F) {
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    }
  }
}

}  // namespace

std::string configError(const ConfigNode& where, std::string_view what) {
  std::string out;
  appendPrintable(out, where.location());
  out += ": ";
  appendPrintable(out, where.path().empty() ? "<root>" : where.path());
  out += ": ";
  appendPrintable(out, what);
  return out;
}

bool isSecretKey(std::string_view key) {
  std::string k(key);
  std::transform(k.begin(), k.end(), k.begin(), [](unsigned char c) { return std::tolower(c); });
  auto ends = [&](std::string_view suffix) {
    return k.size() >= suffix.size() &&
           k.compare(k.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (ends("_file") || ends("_path") || ends("_dir")) return false;
  for (std::string_view word : {"token", "password", "secret", "private_key", "api_key", "apikey",
                                "credential", "passwd"}) {
    if (k.find(word) != std::string::npos) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------

struct ConfigReader::Shared {
  struct Section {
    ConfigNode node;
    std::vector<std::string> known;
  };
  std::vector<std::string> errors;
  std::vector<Section> sections;
  bool finished = false;
};

ConfigReader::ConfigReader(ConfigNode section)
    : ConfigReader(std::move(section), std::make_shared<Shared>()) {}

ConfigReader::ConfigReader(ConfigNode section, std::shared_ptr<Shared> shared)
    : section_(std::move(section)), shared_(std::move(shared)) {
  reader_index_ = shared_->sections.size();
  shared_->sections.push_back({section_, {}});
  if (!section_.isMissing() && !section_.isMap()) {
    error(section_, "must be a map of settings");
  }
}

ConfigNode ConfigReader::take(std::string_view key) {
  shared_->sections[reader_index_].known.emplace_back(key);
  return section_.child(key);
}

void ConfigReader::error(const ConfigNode& where, std::string_view what) {
  shared_->errors.push_back(configError(where, what));
}

void ConfigReader::error(std::string_view key, std::string_view what) {
  error(section_.child(key), what);
}

bool ConfigReader::hasErrors() const { return !shared_->errors.empty(); }

namespace {

std::string quoted(const std::string& s) { return "'" + s + "'"; }

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

std::optional<std::string> ConfigReader::optionalString(std::string_view key) {
  ConfigNode n = take(key);
  if (n.isMissing()) return std::nullopt;
  if (!n.isScalar()) {
    error(n, "must be a string");
    return std::nullopt;
  }
  return n.scalar();
}

std::string ConfigReader::string(std::string_view key, std::string default_value) {
  auto v = optionalString(key);
  return v ? *v : std::move(default_value);
}

std::string ConfigReader::requiredString(std::string_view key, std::string_view how_to_fix) {
  auto v = optionalString(key);
  if (!v || v->empty()) {
    std::string what = "is required";
    if (!how_to_fix.empty()) (what += "; ") += how_to_fix;
    error(key, what);
    return {};
  }
  return *v;
}

std::int64_t ConfigReader::integer(std::string_view key, std::int64_t default_value,
                                   std::int64_t min, std::int64_t max) {
  ConfigNode n = take(key);
  if (n.isMissing()) return default_value;
  const std::string text = n.scalar().value_or("");
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  const std::string range = " between " + std::to_string(min) + " and " + std::to_string(max);
  if (!n.isScalar() || ec != std::errc() || end != text.data() + text.size()) {
    error(n, "must be an integer" + range + ", got " + quoted(text));
    return default_value;
  }
  if (v < min || v > max) {
    error(n, "must be" + range + ", got " + text);
    return default_value;
  }
  return v;
}

double ConfigReader::number(std::string_view key, double default_value, double min, double max) {
  ConfigNode n = take(key);
  if (n.isMissing()) return default_value;
  const std::string text = n.scalar().value_or("");
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  const std::string range = " between " + std::to_string(min) + " and " + std::to_string(max);
  if (!n.isScalar() || ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v)) {
    error(n, "must be a number" + range + ", got " + quoted(text));
    return default_value;
  }
  if (v < min || v > max) {
    error(n, "must be" + range + ", got " + text);
    return default_value;
  }
  return v;
}

bool ConfigReader::boolean(std::string_view key, bool default_value) {
  ConfigNode n = take(key);
  if (n.isMissing()) return default_value;
  std::string text = n.scalar().value_or("");
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (text == "true" || text == "yes" || text == "on" || text == "1") return true;
  if (text == "false" || text == "no" || text == "off" || text == "0") return false;
  error(n, "must be true or false, got " + quoted(n.scalar().value_or("<not a scalar>")));
  return default_value;
}

std::chrono::milliseconds ConfigReader::duration(std::string_view key,
                                                 std::chrono::milliseconds default_value,
                                                 std::chrono::milliseconds min,
                                                 std::chrono::milliseconds max) {
  ConfigNode n = take(key);
  if (n.isMissing()) return default_value;
  const std::string text = trim(n.scalar().value_or(""));
  double amount = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), amount);
  const std::string_view unit(end, text.data() + text.size() - end);
  double scale = 0;
  if (unit.empty() || unit == "s")
    scale = 1000;
  else if (unit == "ms")
    scale = 1;
  else if (unit == "m")
    scale = 60'000;
  else if (unit == "h")
    scale = 3'600'000;
  if (!n.isScalar() || ec != std::errc() || scale == 0 || amount < 0 || !std::isfinite(amount)) {
    error(n, "must be a duration such as 250ms, 5s, 2m or 1h, got " + quoted(text));
    return default_value;
  }
  const auto value =
      std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(amount * scale)));
  if (value < min || value > max) {
    error(n, "must be between " + std::to_string(min.count()) + "ms and " +
                 std::to_string(max.count()) + "ms, got " + text);
    return default_value;
  }
  return value;
}

std::string ConfigReader::listenAddress(std::string_view key, std::string default_value,
                                        bool allow_port_zero) {
  ConfigNode n = take(key);
  if (n.isMissing()) return default_value;
  const std::string text = n.scalar().value_or("");
  const std::size_t colon = text.rfind(':');
  const std::string fix = " (expected host:port, e.g. 0.0.0.0:8080 or 127.0.0.1:0)";
  if (!n.isScalar() || colon == std::string::npos || colon == 0) {
    error(n, "must be host:port, got " + quoted(text) + fix);
    return default_value;
  }
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    in6_addr v6;
    if (inet_pton(AF_INET6, host.c_str(), &v6) != 1) {
      error(n, "has an invalid IPv6 address in " + quoted(text) + fix);
      return default_value;
    }
  } else if (host.find_first_not_of("0123456789.") == std::string::npos) {
    in_addr v4;
    if (inet_pton(AF_INET, host.c_str(), &v4) != 1) {
      error(n, "has an invalid IPv4 address in " + quoted(text) + fix);
      return default_value;
    }
  } else if (host.find_first_not_of(
                 "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") !=
             std::string::npos) {
    error(n, "has an invalid host name in " + quoted(text) + fix);
    return default_value;
  }
  int port = -1;
  const char* first = text.data() + colon + 1;
  const char* last = text.data() + text.size();
  auto [end, ec] = std::from_chars(first, last, port);
  if (ec != std::errc() || end != last || port < (allow_port_zero ? 0 : 1) || port > 65535) {
    error(n, "has an invalid port in " + quoted(text) + fix);
    return default_value;
  }
  return text;
}

std::vector<std::string> ConfigReader::stringList(std::string_view key,
                                                  std::vector<std::string> default_value) {
  ConfigNode n = take(key);
  if (n.isMissing()) return default_value;
  std::vector<std::string> out;
  if (n.isScalar()) {
    const std::string text = *n.scalar();
    std::string_view rest = text;
    while (!rest.empty()) {
      const std::size_t comma = rest.find(',');
      std::string item = trim(rest.substr(0, comma));
      if (!item.empty()) out.push_back(std::move(item));
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    return out;
  }
  if (!n.isSequence()) {
    error(n, "must be a list of strings (or one comma-separated string)");
    return default_value;
  }
  for (std::size_t i = 0; i < n.size(); ++i) {
    ConfigNode item = n.at(i);
    if (!item.isScalar()) {
      error(item, "must be a string");
      continue;
    }
    out.push_back(*item.scalar());
  }
  return out;
}

std::string ConfigReader::oneOf(std::string_view key, std::string default_value,
                                std::initializer_list<std::string_view> allowed) {
  ConfigNode n = take(key);
  if (n.isMissing()) return default_value;
  const std::string text = n.scalar().value_or("");
  for (std::string_view a : allowed) {
    if (text == a) return text;
  }
  std::string list;
  for (std::string_view a : allowed) {
    if (!list.empty()) list += ", ";
    list += a;
  }
  error(n, "must be one of " + list + ", got " + quoted(text));
  return default_value;
}

ConfigReader ConfigReader::section(std::string_view key) {
  ConfigNode n = take(key);
  return ConfigReader(n, shared_);
}

ConfigNode ConfigReader::node(std::string_view key) { return take(key); }

Status ConfigReader::finish() {
  if (!shared_->finished) {
    shared_->finished = true;
    for (const auto& section : shared_->sections) {
      if (!section.node.isMap()) continue;
      std::vector<std::string> known = section.known;
      std::sort(known.begin(), known.end());
      known.erase(std::unique(known.begin(), known.end()), known.end());
      for (const std::string& key : section.node.keys()) {
        if (std::binary_search(known.begin(), known.end(), key)) continue;
        std::string list;
        for (const auto& k : known) {
          if (!list.empty()) list += ", ";
          list += k;
        }
        shared_->errors.push_back(
            configError(section.node.child(key),
                        "unknown key" + (list.empty() ? std::string(" (this section takes no keys)")
                                                      : "; known keys here: " + list)));
      }
    }
  }
  if (shared_->errors.empty()) return Status::ok();
  std::string all;
  for (const auto& e : shared_->errors) {
    if (!all.empty()) all += '\n';
    all += e;
  }
  return Status::invalid(all);
}

}  // namespace appliance
