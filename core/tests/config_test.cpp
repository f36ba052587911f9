// Config loading: overlay, interpolation, environment overrides, locations, typed reading.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "appliance/config.h"
#include "config_loader.h"

using appliance::ConfigNode;
using appliance::ConfigReader;
using appliance::host::ConfigSources;
using appliance::host::loadConfig;
using testing::HasSubstr;

namespace {

class ConfigFiles : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("appliance-config-" + std::to_string(::getpid()) + "-" +
            testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    const auto p = (dir_ / name).string();
    std::ofstream(p) << text;
    return p;
  }
  std::filesystem::path dir_;
};

}  // namespace

TEST_F(ConfigFiles, LaterFilesOverlayEarlierOnesDeeply) {
  const auto base =
      write("base.yaml", "http:\n  listen: 0.0.0.0:8080\n  threads: 8\nlist: [a, b]\n");
  const auto env = write("dev.yaml", "http:\n  threads: 16\nlist: [c]\n");
  auto root = loadConfig({{base, env}, {}});
  ASSERT_TRUE(root) << root.status().message();
  EXPECT_EQ(root->child("http").child("listen").scalar(), "0.0.0.0:8080");
  EXPECT_EQ(root->child("http").child("threads").scalar(), "16");
  EXPECT_EQ(root->child("list").size(), 1u);  // sequences replace, they do not append
  EXPECT_EQ(root->child("http").child("threads").location(), env + ":2");
  EXPECT_EQ(root->child("http").child("listen").location(), base + ":2");
}

TEST_F(ConfigFiles, InterpolatesVariablesWithDefaults) {
  const auto f = write(
      "a.yaml", "a: ${HOME_X}/data\nb: ${MISSING:-fallback}\nc: $${LITERAL}\nd: ${EMPTY:-e}\n");
  auto root = loadConfig({{f}, {{"HOME_X", "/srv"}, {"EMPTY", ""}}});
  ASSERT_TRUE(root) << root.status().message();
  EXPECT_EQ(root->child("a").scalar(), "/srv/data");
  EXPECT_EQ(root->child("b").scalar(), "fallback");
  EXPECT_EQ(root->child("c").scalar(), "${LITERAL}");
  EXPECT_EQ(root->child("d").scalar(), "e");
}

TEST_F(ConfigFiles, UnsetVariableWithoutDefaultNamesFileLineAndKey) {
  const auto f = write("a.yaml", "x: 1\nstorage:\n  url: ${DB_URL}\n");
  auto root = loadConfig({{f}, {}});
  ASSERT_FALSE(root);
  EXPECT_EQ(root.status().message(), f + ":3: storage.url: environment variable DB_URL is not set; "
                                         "set it or write ${DB_URL:-default}");
}

TEST_F(ConfigFiles, BrokenYamlNamesFileAndLine) {
  const auto f = write("bad.yaml", "http:\n  listen: [unclosed\n  threads: 2\n");
  auto root = loadConfig({{f}, {}});
  ASSERT_FALSE(root);
  EXPECT_THAT(root.status().message(), testing::StartsWith(f + ":"));
  EXPECT_THAT(root.status().message(), HasSubstr("invalid YAML"));
}

TEST_F(ConfigFiles, TopLevelMustBeAMap) {
  const auto f = write("list.yaml", "- a\n- b\n");
  auto root = loadConfig({{f}, {}});
  ASSERT_FALSE(root);
  EXPECT_THAT(root.status().message(), HasSubstr("the top level must be a map"));
}

// Found by the config_yaml fuzz target: an alias inside its own anchor overflowed the stack
// while locations were collected, and nested aliases expanded for hours.
TEST_F(ConfigFiles, SelfContainingOrExplodingAliasesAreRefused) {
  std::string bomb = "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 9; ++i) {
    const std::string prev = "*l" + std::to_string(i - 1);
    bomb += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) bomb += (k ? ", " : "") + prev;
    bomb += "]\n";
  }
  for (const std::string& text : {std::string("a: &a [*a]\n"), bomb}) {
    const auto f = write("alias.yaml", text);
    auto root = loadConfig({{f}, {}});
    ASSERT_FALSE(root) << text;
    EXPECT_THAT(root.status().message(), HasSubstr(f + ":1: invalid YAML: its aliases"));
    auto parsed = ConfigNode::parse(text, "alias.yaml");
    ASSERT_FALSE(parsed) << text;
    EXPECT_THAT(parsed.status().message(), HasSubstr("alias.yaml:1: invalid YAML: its aliases"));
  }
  auto shared = ConfigNode::parse("base: &b {threads: 4}\nhttp: *b\nadmin: *b\n", "ok.yaml");
  ASSERT_TRUE(shared) << shared.status().message();
  EXPECT_EQ(shared->child("admin").child("threads").scalar(), "4");
}

TEST_F(ConfigFiles, MissingFileIsAClearError) {
  auto root = loadConfig({{(dir_ / "nope.yaml").string()}, {}});
  ASSERT_FALSE(root);
  EXPECT_THAT(root.status().message(), HasSubstr("nope.yaml: cannot read config file"));
}

TEST_F(ConfigFiles, EnvironmentOverridesAnyKeyAndCreatesSections) {
  const auto f = write("a.yaml", "task_api:\n  auth:\n    tokens: [x]\n");
  auto root = loadConfig({{f},
                          {{"APPLIANCE__TASK_API__AUTH__TOKENS", "a,b"},
                           {"APPLIANCE__HTTP__LISTEN", "127.0.0.1:9"},
                           {"UNRELATED", "1"}}});
  ASSERT_TRUE(root) << root.status().message();
  ConfigReader auth(root->child("task_api").child("auth"));
  EXPECT_EQ(auth.stringList("tokens"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(root->child("http").child("listen").scalar(), "127.0.0.1:9");
  EXPECT_EQ(root->child("http").child("listen").location(), "env APPLIANCE__HTTP__LISTEN");
}

TEST_F(ConfigFiles, EnvironmentOverrideIntoAScalarIsRefused) {
  const auto f = write("a.yaml", "http: 5\n");
  auto root = loadConfig({{f}, {{"APPLIANCE__HTTP__LISTEN", "x"}}});
  ASSERT_FALSE(root);
  EXPECT_THAT(root.status().message(), HasSubstr("env APPLIANCE__HTTP__LISTEN: http is not a map"));
}

TEST(ConfigReaderTest, ReadsTypedValuesAndRejectsUnknownKeys) {
  auto node = ConfigNode::parse(
      "threads: 8\nratio: 0.5\nenabled: yes\ntimeout: 250ms\nlisten: 127.0.0.1:0\nmode: full\n"
      "names: [a, b]\nnested:\n  depth: 2\n  typo: 1\nextra: 1\n",
      "t.yaml");
  ASSERT_TRUE(node);
  ConfigReader r(*node);
  EXPECT_EQ(r.integer("threads", 1, 1, 64), 8);
  EXPECT_DOUBLE_EQ(r.number("ratio", 0, 0, 1), 0.5);
  EXPECT_TRUE(r.boolean("enabled", false));
  EXPECT_EQ(r.duration("timeout", std::chrono::seconds(1)), std::chrono::milliseconds(250));
  EXPECT_EQ(r.listenAddress("listen", "x"), "127.0.0.1:0");
  EXPECT_EQ(r.oneOf("mode", "normal", {"normal", "full"}), "full");
  EXPECT_EQ(r.stringList("names"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r.section("nested").integer("depth", 0, 0, 9), 2);
  EXPECT_EQ(r.string("absent", "dflt"), "dflt");
  auto s = r.finish();
  ASSERT_FALSE(s);
  EXPECT_THAT(s.message(),
              HasSubstr("t.yaml:10: nested.typo: unknown key; known keys here: depth"));
  EXPECT_THAT(s.message(), HasSubstr("t.yaml:11: extra: unknown key"));
}

TEST(ConfigReaderTest, EveryBadValueIsReportedWithLocationAndFix) {
  auto node = ConfigNode::parse(
      "threads: lots\nmax: 100000\nenabled: maybe\ntimeout: 5 parsecs\nlisten: nohost\nmode: "
      "fast\n",
      "bad.yaml");
  ASSERT_TRUE(node);
  ConfigReader r(*node);
  r.integer("threads", 1, 1, 64);
  r.integer("max", 1, 1, 100);
  r.boolean("enabled", false);
  r.duration("timeout", std::chrono::seconds(1));
  r.listenAddress("listen", "x");
  r.oneOf("mode", "normal", {"normal", "full"});
  r.requiredString("url", "set it to a libpq URI");
  auto s = r.finish();
  ASSERT_FALSE(s);
  const std::string m = s.message();
  EXPECT_THAT(m, HasSubstr("bad.yaml:1: threads: must be an integer between 1 and 64, got 'lots'"));
  EXPECT_THAT(m, HasSubstr("bad.yaml:2: max: must be between 1 and 100, got 100000"));
  EXPECT_THAT(m, HasSubstr("bad.yaml:3: enabled: must be true or false, got 'maybe'"));
  EXPECT_THAT(m, HasSubstr("bad.yaml:4: timeout: must be a duration"));
  EXPECT_THAT(m, HasSubstr("bad.yaml:5: listen: must be host:port, got 'nohost'"));
  EXPECT_THAT(m, HasSubstr("bad.yaml:6: mode: must be one of normal, full, got 'fast'"));
  EXPECT_THAT(m, HasSubstr("url: is required; set it to a libpq URI"));
}

TEST(ConfigReaderTest, ListenAddressChecksHostAndPort) {
  auto node = ConfigNode::parse(
      "a: 0.0.0.0:8080\nb: \"[::1]:9\"\nc: db-1.internal:5432\nd: 999.0.0.1:80\ne: \"[zz]:1\"\n"
      "f: 127.0.0.1:70000\ng: ho st:1\n",
      "l.yaml");
  ASSERT_TRUE(node);
  ConfigReader r(*node);
  EXPECT_EQ(r.listenAddress("a", "x"), "0.0.0.0:8080");
  EXPECT_EQ(r.listenAddress("b", "x"), "[::1]:9");
  EXPECT_EQ(r.listenAddress("c", "x"), "db-1.internal:5432");
  for (const char* bad : {"d", "e", "f", "g"}) EXPECT_EQ(r.listenAddress(bad, "x"), "x") << bad;
  auto s = r.finish();
  ASSERT_FALSE(s);
  EXPECT_THAT(s.message(), HasSubstr("l.yaml:4: d: has an invalid IPv4 address in '999.0.0.1:80'"));
  EXPECT_THAT(s.message(), HasSubstr("l.yaml:5: e: has an invalid IPv6 address"));
  EXPECT_THAT(s.message(), HasSubstr("l.yaml:6: f: has an invalid port"));
  EXPECT_THAT(s.message(), HasSubstr("l.yaml:7: g: has an invalid host name"));
}

// Found by the config_yaml fuzz target: a value or key holding a newline split one error
// over several lines.
TEST(ConfigReaderTest, EachErrorIsOneLineWhateverTheKeysAndValuesHold) {
  auto root = ConfigNode::parse("timeout: \"5\\nminutes\\x1b\"\n\"bad\\nkey\": 1\n", "t.yaml");
  ASSERT_TRUE(root) << root.status().message();
  ConfigReader reader(*root);
  reader.duration("timeout", std::chrono::seconds(1));
  const appliance::Status s = reader.finish();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.message(),
            "t.yaml:1: timeout: must be a duration such as 250ms, 5s, 2m or 1h, got "
            "'5\\nminutes\\x1b'\n"
            "t.yaml:2: bad\\nkey: unknown key; known keys here: timeout");
}

TEST(ConfigReaderTest, SectionThatIsNotAMapIsAnError) {
  auto node = ConfigNode::parse("task_api: 5\n", "x.yaml");
  ASSERT_TRUE(node);
  ConfigReader r(node->child("task_api"));
  auto s = r.finish();
  ASSERT_FALSE(s);
  EXPECT_THAT(s.message(), HasSubstr("x.yaml:1: task_api: must be a map of settings"));
}

TEST(ConfigReaderTest, MissingSectionMeansDefaults) {
  auto node = ConfigNode::parse("other: 1\n", "x.yaml");
  ASSERT_TRUE(node);
  ConfigReader r(node->child("task_api"));
  EXPECT_EQ(r.integer("limit", 100, 1, 1000), 100);
  EXPECT_TRUE(r.finish());
}

TEST(RedactionTest, SecretsNeverAppearInEffectiveConfig) {
  auto node = ConfigNode::parse(
      "task_api:\n  auth:\n    tokens: [supersecret1]\n    tokens_file: /run/token\n"
      "storage_postgres:\n  url: postgresql://app:hunter2@db:5432/tasks\n  password: hunter3\n"
      "  conninfo: host=db password=hunter4 user=x\n",
      "s.yaml");
  ASSERT_TRUE(node);
  const std::string out = appliance::host::redactedYaml(*node);
  for (const char* secret : {"supersecret1", "hunter2", "hunter3", "hunter4"}) {
    EXPECT_THAT(out, testing::Not(HasSubstr(secret))) << out;
  }
  EXPECT_THAT(out, HasSubstr("/run/token"));
  EXPECT_THAT(out, HasSubstr("postgresql://app:<redacted>@db:5432/tasks"));
}
