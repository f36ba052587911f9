// The host refuses broken plugins with one line naming the file, and never crashes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "harness/harness.h"
#include "plugin_loader.h"

using appliance::host::loadPlugin;
using appliance::host::orderByDependencies;
using testing::HasSubstr;

namespace {

const std::string kDir = FIXTURE_DIR;
const std::string kDupDir = FIXTURE_DUP_DIR;

std::string fixture(const std::string& name) { return kDir + "/" + name + ".so"; }

// Runs `appliance --check-config` with a role made of `plugins` and returns the result.
appliance::test::CommandResult checkRole(const std::string& plugins,
                                         const std::string& extra_dirs = "") {
  appliance::test::TempDir dir;
  const std::string config = appliance::test::writeConfig(
      dir, "plugins:\n  dir: " + kDir + "\n" +
               (extra_dirs.empty() ? "" : "  extra_dirs: [" + extra_dirs + "]\n") +
               "roles:\n  test: [" + plugins + "]\n");
  return appliance::test::runCommand(
      {appliance::test::applianceBinary(), "--config=" + config, "--role=test", "--check-config"});
}

int lineCount(const std::string& text) {
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

}  // namespace

TEST(PluginLoader, LoadsAWellFormedPlugin) {
  auto loaded = loadPlugin(fixture("fixture_good"));
  ASSERT_TRUE(loaded) << loaded.status().message();
  EXPECT_EQ((*loaded)->name, "fixture_good");
  EXPECT_EQ((*loaded)->descriptor->abi_version, APPLIANCE_SDK_ABI_VERSION);
  EXPECT_TRUE((*loaded)->provides.empty());
}

TEST(PluginLoader, RefusesWrongAbiNamingFileAndBothVersions) {
  auto loaded = loadPlugin(fixture("fixture_wrong_abi"));
  ASSERT_FALSE(loaded);
  EXPECT_THAT(loaded.status().message(), HasSubstr(fixture("fixture_wrong_abi")));
  EXPECT_THAT(loaded.status().message(),
              HasSubstr("built for SDK ABI 999, this host has SDK ABI 2"));
}

TEST(PluginLoader, RefusesLibraryWithoutEntryPoint) {
  auto loaded = loadPlugin(fixture("fixture_no_entry"));
  ASSERT_FALSE(loaded);
  EXPECT_THAT(loaded.status().message(), HasSubstr("no entry point 'appliance_plugin'"));
}

TEST(PluginLoader, SurfacesDlopenErrorForMissingDependencyVerbatim) {
  auto loaded = loadPlugin(fixture("fixture_missing_dep"));
  ASSERT_FALSE(loaded);
  EXPECT_THAT(
      loaded.status().message(),
      HasSubstr(
          "libfixture_dependency.so: cannot open shared object file: No such file or directory"));
}

TEST(PluginLoader, RefusesFileWhoseNameDiffersFromDescriptor) {
  auto loaded = loadPlugin(fixture("fixture_misnamed"));
  ASSERT_FALSE(loaded);
  EXPECT_THAT(loaded.status().message(), HasSubstr("declares plugin name 'fixture_good'"));
}

TEST(PluginLoader, RefusesRoleMissingARequiredService) {
  auto loaded = loadPlugin(fixture("fixture_needs_service"));
  ASSERT_TRUE(loaded) << loaded.status().message();
  std::vector<std::unique_ptr<appliance::host::LoadedPlugin>> plugins;
  plugins.push_back(std::move(loaded).value());
  auto s = orderByDependencies(plugins, "role test");
  ASSERT_FALSE(s);
  EXPECT_THAT(
      s.message(),
      HasSubstr("requires service 'missing_service', which no plugin of role test provides"));
}

TEST(PluginLoader, RefusesDuplicateNameAcrossFolders) {
  auto files = appliance::host::locatePlugins({"fixture_good"}, {kDir, kDupDir});
  ASSERT_FALSE(files);
  EXPECT_THAT(files.status().message(), HasSubstr("plugin name clash: 'fixture_good'"));
}

TEST(PluginLoader, RefusesUnknownPluginListingInstalledOnes) {
  auto files = appliance::host::locatePlugins({"nope"}, {kDir});
  ASSERT_FALSE(files);
  EXPECT_THAT(files.status().message(), HasSubstr("plugin 'nope' not found"));
  EXPECT_THAT(files.status().message(), HasSubstr("fixture_good"));
}

// The same refusals through the real binary: exit 2 and exactly one line on stderr.
TEST(PluginLoaderBinary, EachRefusalIsOneLineAndExitTwo) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"fixture_wrong_abi", "built for SDK ABI 999"},
      {"fixture_no_entry", "no entry point"},
      {"fixture_missing_dep", "cannot open shared object file"},
      {"fixture_needs_service", "requires service 'missing_service'"},
      {"fixture_misnamed", "declares plugin name"},
  };
  for (const auto& [plugin, message] : cases) {
    auto r = checkRole(plugin);
    EXPECT_EQ(r.exit_code, 2) << plugin << ": " << r.err;
    EXPECT_EQ(lineCount(r.err), 1) << plugin << ": " << r.err;
    EXPECT_THAT(r.err, HasSubstr(message)) << plugin;
  }
  auto dup = checkRole("fixture_good", kDupDir);
  EXPECT_EQ(dup.exit_code, 2);
  EXPECT_THAT(dup.err, HasSubstr("plugin name clash"));
}

TEST(PluginLoaderBinary, GoodFixtureValidatesAndServesItsRoute) {
  auto ok = checkRole("fixture_good");
  EXPECT_EQ(ok.exit_code, 0) << ok.err;

  appliance::test::TempDir dir;
  const int port = appliance::test::freePort();
  const std::string listen = "127.0.0.1:" + std::to_string(port);
  const std::string config = appliance::test::writeConfig(
      dir, "http: {listen: \"" + listen + "\"}\ndata: {dir: " + dir.path() +
               "/data}\nplugins: {dir: " + kDir +
               "}\nroles: {test: [fixture_good]}\nfixture_good: {greeting: hi}\n");
  appliance::test::ApplianceProcess app({"--config=" + config, "--role=test"}, dir.path());
  ASSERT_TRUE(app.waitReady(listen)) << app.output();
  auto r = appliance::test::http(listen, "GET", "/fixture");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{\"greeting\":\"hi\"}");
  EXPECT_EQ(app.terminate(), 0) << app.output();
}

TEST(PluginLoaderBinary, ListPluginsShowsGoodAndRefusedPlugins) {
  appliance::test::TempDir dir;
  const std::string config = appliance::test::writeConfig(
      dir, "plugins: {dir: " + kDir + "}\nroles: {x: [fixture_good]}\n");
  auto r = appliance::test::runCommand(
      {appliance::test::applianceBinary(), "--config=" + config, "--list-plugins"});
  EXPECT_EQ(r.exit_code, 2);  // some fixtures are refused
  EXPECT_THAT(r.out, HasSubstr("fixture_good"));
  EXPECT_THAT(r.out, HasSubstr("fixture_wrong_abi    refused"));
  EXPECT_THAT(r.out, HasSubstr("fixture_no_entry     refused"));
}
