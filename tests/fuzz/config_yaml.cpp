// Fuzz target: the YAML configuration path. Config files come from operators, but a typo,
// a truncated file or a hostile overlay must end in an error message, never a crash or a
// hang: ConfigNode::parse, every ConfigReader getter over the tree, the host's own sections
// (parseHostConfig, pluginsForRoles), and loadConfig (the file overlay, ${VAR}
// interpolation, APPLIANCE__* overrides) with the --check-config redaction.
//
// Input: one YAML document (loaded once as text, once as a config file). Invariants: errors
// are values with a location; the effective config printed by --check-config never shows a
// token that came from the environment.

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/config.h"
#include "config_loader.h"
#include "fuzz_check.h"
#include "host_config.h"

namespace {

using appliance::ConfigNode;
using appliance::ConfigReader;

constexpr std::string_view kFileName = "fuzz.yaml";
constexpr std::string_view kEnvToken = "fuzz-env-token-5e1f0c27d9a4";

// Every line of a config error reads "location: path: what".
void checkErrorText(const std::string& message) {
  FUZZ_CHECK(!message.empty());
  std::string_view rest = message;
  while (!rest.empty()) {
    const std::size_t nl = rest.find('\n');
    if (rest.substr(0, nl).find(": ") == std::string_view::npos) {
      std::fprintf(stderr, "error message: %s\n", message.c_str());
      FUZZ_CHECK(!"every line reads location: path: what");
    }
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
  }
}

// Reads every key of a map section with one of the typed getters, the way plugins do.
void readSection(ConfigReader& reader, const ConfigNode& node, int depth, std::size_t& budget) {
  if (!node.isMap() || depth > 8) return;
  for (const std::string& key : node.keys()) {
    if (budget == 0) return;
    --budget;
    const ConfigNode child = node.child(key);
    if (child.isMap()) {
      ConfigReader nested = reader.section(key);
      readSection(nested, child, depth + 1, budget);
      continue;
    }
    switch (key.size() % 8) {
      case 0:
        (void)reader.string(key, "default");
        break;
      case 1:
        (void)reader.integer(key, 1, -1000, 1'000'000);
        break;
      case 2:
        (void)reader.number(key, 0.5, -1e9, 1e9);
        break;
      case 3:
        (void)reader.boolean(key, false);
        break;
      case 4:
        (void)reader.duration(key, std::chrono::seconds(1));
        break;
      case 5:
        (void)reader.listenAddress(key, "127.0.0.1:0");
        break;
      case 6:
        (void)reader.stringList(key);
        break;
      default:
        (void)reader.oneOf(key, "a", {"a", "b", "json"});
        break;
    }
  }
}

// Visits nodes through the read-only view (bounded: aliases may repeat a subtree).
void walk(const ConfigNode& node, int depth, std::size_t& budget) {
  if (budget == 0 || depth > 64) return;
  --budget;
  (void)node.path();
  FUZZ_CHECK(!node.location().empty());
  if (node.isScalar()) FUZZ_CHECK(node.scalar().has_value());
  if (node.isMap()) {
    for (const std::string& key : node.keys()) walk(node.child(key), depth + 1, budget);
  } else if (node.isSequence()) {
    for (std::size_t i = 0; i < node.size(); ++i) walk(node.at(i), depth + 1, budget);
    FUZZ_CHECK(node.at(node.size()).isMissing());
  }
}

void checkHostConfig(const ConfigNode& root) {
  static const std::vector<std::string> kInstalled{"storage_sqlite", "task_api",
                                                   "metrics_exporter"};
  const auto config = appliance::host::parseHostConfig(root, kInstalled, "/nonexistent/plugins");
  if (!config.isOk()) {
    checkErrorText(config.status().message());
    return;
  }
  FUZZ_CHECK(!config->plugin_dirs.empty());
  for (const auto& roles : {std::vector<std::string>{"all"}, std::vector<std::string>{"api"}}) {
    const auto plugins = appliance::host::pluginsForRoles(*config, roles);
    if (!plugins.isOk()) FUZZ_CHECK(!plugins.status().message().empty());
  }
}

void checkParsed(std::string_view text) {
  const appliance::Result<ConfigNode> parsed = ConfigNode::parse(text, kFileName);
  if (!parsed.isOk()) {
    FUZZ_CHECK(parsed.status().message().rfind(kFileName, 0) == 0);
    return;
  }
  const ConfigNode& root = *parsed;
  std::size_t budget = 2000;
  walk(root, 0, budget);
  ConfigReader reader(root);
  budget = 2000;
  readSection(reader, root, 0, budget);
  const appliance::Status status = reader.finish();
  if (!status.isOk()) checkErrorText(status.message());
  checkHostConfig(root);
}

// A private file the loader reads; removed at exit.
struct ConfigFile {
  std::string path = (std::filesystem::temp_directory_path() /
                      ("appliance-fuzz-" + std::to_string(::getpid()) + ".yaml"))
                         .string();
  ~ConfigFile() { std::filesystem::remove(path); }
};

void checkLoaded(std::string_view text) {
  static const ConfigFile file;
  std::ofstream(file.path, std::ios::binary | std::ios::trunc)
      .write(text.data(), static_cast<std::streamsize>(text.size()));
  appliance::host::ConfigSources sources;
  sources.files = {file.path};
  sources.environment = {{"APPLIANCE_LISTEN", "127.0.0.1:8080"},
                         {"APPLIANCE_DATA_DIR", "/nonexistent/data"},
                         {"APPLIANCE__HTTP__THREADS", "8"},
                         {"APPLIANCE__TASK_API__AUTH__TOKENS", std::string(kEnvToken)}};
  const appliance::Result<ConfigNode> loaded = appliance::host::loadConfig(sources);
  if (!loaded.isOk()) {
    FUZZ_CHECK(!loaded.status().message().empty());
    return;
  }
  const std::string shown = appliance::host::redactedYaml(*loaded);
  // Unless the file itself copies the variable elsewhere (${APPLIANCE__...}), the token is
  // under task_api.auth.tokens, and must print as <redacted>.
  if (text.find("APPLIANCE__") == std::string_view::npos &&
      text.find(kEnvToken) == std::string_view::npos) {
    FUZZ_CHECK(shown.find(kEnvToken) == std::string::npos);
  }
  checkHostConfig(*loaded);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  checkParsed(text);
  checkLoaded(text);
  return 0;
}
