#pragma once
// Small helpers shared by the task_api unit tests.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "appliance/config.h"

namespace appliance::plugins::task_api::test {

// Parses YAML text as a config section.
inline ConfigNode yamlNode(const std::string& yaml) {
  Result<ConfigNode> node = ConfigNode::parse(yaml, "test.yaml");
  EXPECT_TRUE(node.isOk()) << node.status().message();
  return node.isOk() ? node.value() : ConfigNode();
}

// A temporary folder removed with its files when the test ends.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "task_api_test.XXXXXX").string();
    path_ = mkdtemp(pattern.data()) ? pattern : std::string();
    EXPECT_FALSE(path_.empty());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // Writes `content` to `name` in the folder; returns the file's path.
  std::string write(const std::string& name, const std::string& content) const {
    const std::string file = path_ + "/" + name;
    std::ofstream(file, std::ios::binary) << content;
    return file;
  }

 private:
  std::string path_;
};

}  // namespace appliance::plugins::task_api::test
