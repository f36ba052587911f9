#include "host_config.h"

#include <unistd.h>

#include <algorithm>
#include <random>

#include "plugin_loader.h"

namespace appliance::host {

std::vector<std::string> pluginDirsFromConfig(const ConfigNode& root,
                                              const std::string& default_plugin_dir) {
  const ConfigNode plugins = root.child("plugins");
  std::vector<std::string> dirs;
  const auto dir = plugins.child("dir").scalar();
  dirs.push_back(dir && !dir->empty() ? *dir : default_plugin_dir);
  const ConfigNode extra = plugins.child("extra_dirs");
  if (extra.isSequence()) {
    for (std::size_t i = 0; i < extra.size(); ++i) {
      if (auto s = extra.at(i).scalar()) dirs.push_back(*s);
    }
  } else if (auto s = extra.scalar()) {
    for (auto& d : splitList(*s)) dirs.push_back(d);
  }
  return dirs;
}

namespace {

std::string defaultInstanceId() {
  if (const char* host = std::getenv("HOSTNAME"); host && *host) return host;
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  return std::string(name) + "-" + std::to_string(::getpid());
}

void readHttp(ConfigReader http, HostConfig& out) {
  using std::chrono::hours;
  using std::chrono::milliseconds;
  using std::chrono::seconds;
  ServerSettings& s = out.http;
  s.listen = http.listenAddress("listen", "0.0.0.0:8080");
  s.threads = static_cast<int>(http.integer("threads", 16, 1, 4096));
  s.io_threads = static_cast<int>(http.integer("io_threads", 1, 1, 64));
  s.queue = static_cast<int>(http.integer("queue", 1024, 1, 65535));
  s.keep_alive = http.boolean("keep_alive", true);
  s.keep_alive_timeout =
      http.duration("keep_alive_timeout", seconds(10), milliseconds(100), hours(1));
  s.header_timeout = http.duration("header_timeout", seconds(10), milliseconds(100), hours(1));
  s.body_timeout = http.duration("body_timeout", seconds(30), milliseconds(100), hours(1));
  s.write_timeout = http.duration("write_timeout", seconds(30), milliseconds(100), hours(1));
  s.max_keep_alive_requests =
      static_cast<int>(http.integer("max_keep_alive_requests", 0, 0, 1'000'000'000));
  s.max_connections =
      static_cast<std::size_t>(http.integer("max_connections", 10'000, 1, 1'000'000));
  s.max_head_bytes =
      static_cast<std::size_t>(http.integer("max_header_bytes", 16 * 1024, 1024, 1024 * 1024));
  s.max_header_count = static_cast<std::size_t>(http.integer("max_header_count", 100, 1, 10'000));
  s.max_body_bytes =
      static_cast<std::size_t>(http.integer("max_body_bytes", 1024 * 1024, 1024, 1LL << 30));
  s.access_log = http.boolean("access_log", true);
  out.drain_timeout =
      http.duration("drain_timeout", seconds(10), milliseconds(0), std::chrono::minutes(10));
  out.shutdown_delay =
      http.duration("shutdown_delay", seconds(0), milliseconds(0), std::chrono::minutes(5));
}

void readRoles(ConfigReader& root, HostConfig& out) {
  const ConfigNode roles = root.node("roles");
  if (roles.isMissing()) {
    root.error(
        roles,
        "is required: map each role to its plugins, e.g. roles: {api: [storage_sqlite, task_api]}");
    return;
  }
  if (!roles.isMap()) {
    root.error(roles, "must be a map of role name to a list of plugin names");
    return;
  }
  for (const auto& role : roles.keys()) {
    const ConfigNode list = roles.child(role);
    std::vector<std::string> names;
    if (list.isSequence()) {
      for (std::size_t i = 0; i < list.size(); ++i) {
        if (auto s = list.at(i).scalar())
          names.push_back(*s);
        else
          root.error(list.at(i), "must be a plugin name");
      }
    } else if (auto s = list.scalar()) {
      names = splitList(*s);
    } else {
      root.error(list, "must be a list of plugin names");
    }
    out.roles.emplace_back(role, std::move(names));
  }
}

}  // namespace

Result<HostConfig> parseHostConfig(const ConfigNode& root,
                                   const std::vector<std::string>& installed,
                                   const std::string& default_plugin_dir) {
  HostConfig out;
  ConfigReader reader(root);
  readHttp(reader.section("http"), out);

  ConfigReader log = reader.section("log");
  const std::string level = log.oneOf("level", "info", {"debug", "info", "warn", "error"});
  parseLogLevel(level, out.log.level);
  const std::string format = log.oneOf("format", "auto", {"auto", "json", "text"});
  out.log.format = format == "json"   ? LogFormat::kJson
                   : format == "text" ? LogFormat::kText
                                      : defaultLogFormat();

  out.data_dir = reader.section("data").string("dir", "./data");
  ConfigReader plugins = reader.section("plugins");
  plugins.string("dir");
  plugins.stringList("extra_dirs");
  out.plugin_dirs = pluginDirsFromConfig(root, default_plugin_dir);
  out.instance_id = reader.section("instance").string("id", defaultInstanceId());
  readRoles(reader, out);

  for (const auto& name : installed) reader.node(name);  // plugin sections are theirs to check
  for (const auto& [role, names] : out.roles) {
    for (const auto& name : names) reader.node(name);
  }
  Status s = reader.finish();
  if (!s) return s;
  return out;
}

Result<std::vector<std::string>> pluginsForRoles(const HostConfig& config,
                                                 const std::vector<std::string>& roles) {
  std::vector<std::string> out;
  auto add = [&](const std::vector<std::string>& names) {
    for (const auto& n : names) {
      if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
    }
  };
  for (const auto& role : roles) {
    auto it = std::find_if(config.roles.begin(), config.roles.end(),
                           [&](const auto& r) { return r.first == role; });
    if (it != config.roles.end()) {
      add(it->second);
    } else if (role == "all") {
      for (const auto& r : config.roles) add(r.second);
    } else {
      std::string known;
      for (const auto& r : config.roles) known += (known.empty() ? "" : ", ") + r.first;
      return Status::invalid("--role=" + role + ": no such role in roles: (defined: " + known +
                             (known.empty() ? "" : ", ") + "all)");
    }
  }
  if (out.empty()) return Status::invalid("the selected roles list no plugins");
  return out;
}

}  // namespace appliance::host
