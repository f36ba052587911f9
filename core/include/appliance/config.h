#pragma once
// ConfigNode: a read-only view of one node of the effective configuration (all files
// overlaid, ${VAR} interpolated, APPLIANCE__* environment overrides applied), which knows
// where each value came from ("config/local.yaml:12" or "env APPLIANCE__TASK_API__LISTEN").
//
// ConfigReader: turns a plugin's section into a typed struct. It collects every error as
// "file:line: dotted.key: what is wrong (how to fix)" and rejects keys nobody asked for, so
// `appliance --check-config` can validate a whole environment without starting anything.
//
// Both are cheap to copy (shared, immutable tree) and safe to read from any thread.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/status.h"

namespace appliance {

class ConfigNode {
 public:
  struct Impl;   // defined by the SDK library
  ConfigNode();  // a missing node
  explicit ConfigNode(std::shared_ptr<const Impl> impl);

  // Parses one YAML document; for tests and tools. `file_name` is used in locations.
  static Result<ConfigNode> parse(std::string_view yaml_text, std::string_view file_name);

  bool isMissing() const;  // the key is absent (or null)
  bool isMap() const;
  bool isSequence() const;
  bool isScalar() const;

  ConfigNode child(std::string_view key) const;  // a missing node when absent
  ConfigNode at(std::size_t index) const;        // a sequence element
  std::size_t size() const;                      // elements of a sequence, keys of a map
  std::vector<std::string> keys() const;         // keys of a map, in file order
  std::optional<std::string> scalar() const;     // the raw scalar text

  const std::string& path() const;  // dotted path from the root, e.g. "task_api.auth.tokens"
  std::string location() const;     // "file:line" or "env NAME"; parent's location if absent

  // The subtree as YAML text (used by --check-config); secrets are not redacted here.
  std::string toYaml() const;

  const Impl* impl() const { return impl_.get(); }

 private:
  std::shared_ptr<const Impl> impl_;
};

// Reads typed values from one map section. Every getter records the key as known; call
// finish() last: it adds "unknown key" errors for keys never asked for and returns all errors
// as one kInvalidArgument Status (one error per line), or ok.
class ConfigReader {
 public:
  explicit ConfigReader(ConfigNode section);

  std::string string(std::string_view key, std::string default_value = {});
  std::optional<std::string> optionalString(std::string_view key);
  // A required non-empty string; records "is required" when absent.
  std::string requiredString(std::string_view key, std::string_view how_to_fix = {});
  std::int64_t integer(std::string_view key, std::int64_t default_value, std::int64_t min,
                       std::int64_t max);
  double number(std::string_view key, double default_value, double min, double max);
  bool boolean(std::string_view key, bool default_value);
  // "250ms", "5s", "2m", "1h", or a bare number of seconds.
  std::chrono::milliseconds duration(std::string_view key, std::chrono::milliseconds default_value,
                                     std::chrono::milliseconds min = std::chrono::milliseconds(0),
                                     std::chrono::milliseconds max = std::chrono::hours(24 * 365));
  // "host:port" (IPv4, [IPv6] or a name); port 0 allowed when `allow_port_zero`.
  std::string listenAddress(std::string_view key, std::string default_value,
                            bool allow_port_zero = true);
  // A YAML sequence of scalars, or one comma-separated scalar (as environment overrides give).
  std::vector<std::string> stringList(std::string_view key,
                                      std::vector<std::string> default_value = {});
  // One of `allowed`; the error lists them.
  std::string oneOf(std::string_view key, std::string default_value,
                    std::initializer_list<std::string_view> allowed);

  // A nested map section sharing this reader's error list. Its unknown keys are checked when
  // this reader's finish() runs.
  ConfigReader section(std::string_view key);
  // Marks a key known without reading it (for subtrees parsed by hand via node()).
  ConfigNode node(std::string_view key);

  // Records an error at `where` (a node from this section or below).
  void error(const ConfigNode& where, std::string_view what);
  void error(std::string_view key, std::string_view what);

  bool hasErrors() const;
  Status finish();

 private:
  struct Shared;
  ConfigReader(ConfigNode section, std::shared_ptr<Shared> shared);
  ConfigNode take(std::string_view key);

  ConfigNode section_;
  std::shared_ptr<Shared> shared_;
  std::size_t reader_index_ = 0;
};

// Formats "location: path: what" the way every config error is printed.
std::string configError(const ConfigNode& where, std::string_view what);

// True for keys whose values must never be printed or logged (token, password, secret, ...).
bool isSecretKey(std::string_view key);

}  // namespace appliance
