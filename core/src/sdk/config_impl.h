#pragma once
// Internal to the SDK library and the host: how a ConfigNode is backed by yaml-cpp.

#include <yaml-cpp/yaml.h>

#include <map>
#include <memory>
#include <string>

#include "appliance/config.h"

namespace appliance {

// Dotted path -> "file:line" or "env NAME", for every node of the effective tree.
using ConfigLocations = std::map<std::string, std::string, std::less<>>;

struct ConfigNode::Impl {
  YAML::Node node;  // may be undefined (missing key)
  std::string path;
  std::string parent_location;  // used when this node has no location of its own
  std::shared_ptr<const ConfigLocations> locations;
};

ConfigNode makeConfigNode(const YAML::Node& root, std::shared_ptr<const ConfigLocations> locations);

// Records the file:line of every node below `node` (paths relative to `path`).
void collectLocations(const YAML::Node& node, const std::string& path, const std::string& file,
                      ConfigLocations& out);

std::string childPath(const std::string& parent, std::string_view key);

// Aliases let a few lines expand to a huge tree ("billion laughs") or contain themselves
// (`a: &a [*a]`), and every walk of the tree (locations, interpolation, redaction) would then
// run for hours or overflow the stack. Call right after YAML::Load: refuses a document that
// expands beyond 100000 nodes or 256 levels, naming `file`.
Status checkExpandedSize(const YAML::Node& root, std::string_view file);

}  // namespace appliance
