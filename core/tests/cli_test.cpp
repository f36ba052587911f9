#include "cli.h"

#include <gtest/gtest.h>

#include <vector>

namespace appliance::host {
namespace {

CliOutcome parse(std::vector<const char*> args) { return parseCommandLine(args); }

TEST(CommandLine, DefaultsToEveryRole) {
  const auto out = parse({});
  EXPECT_FALSE(out.exit_code);
  EXPECT_EQ(out.command_line.roles, std::vector<std::string>{"all"});
  EXPECT_TRUE(out.command_line.config_files.empty());
}

TEST(CommandLine, AcceptsLongShortJoinedAndSeparateValues) {
  const auto out = parse({"--role=api,scaler", "-r", "alerts", "--config", "a.yaml",
                          "--config=b.yaml", "-cc.yaml", "--env=dev", "--check-config"});
  ASSERT_FALSE(out.exit_code) << out.error;
  EXPECT_EQ(out.command_line.roles, (std::vector<std::string>{"api", "scaler", "alerts"}));
  EXPECT_EQ(out.command_line.config_files,
            (std::vector<std::string>{"a.yaml", "b.yaml", "c.yaml"}));
  EXPECT_EQ(out.command_line.env, "dev");
  EXPECT_TRUE(out.command_line.check_config);
  EXPECT_FALSE(out.command_line.list_plugins);
}

TEST(CommandLine, RuleToolsAreRepeatable) {
  const auto out =
      parse({"--check-rules=a.yaml", "--check-rules", "b.yaml", "--test-rules=t.yaml"});
  ASSERT_FALSE(out.exit_code) << out.error;
  EXPECT_EQ(out.command_line.check_rules, (std::vector<std::string>{"a.yaml", "b.yaml"}));
  EXPECT_EQ(out.command_line.test_rules, (std::vector<std::string>{"t.yaml"}));
  const auto empty = parse({"--test-rules="});
  EXPECT_EQ(empty.exit_code, kExitConfig);
}

TEST(CommandLine, HelpAndVersionExitZeroWithTheirText) {
  const auto help = parse({"--role=api", "--help"});
  ASSERT_EQ(help.exit_code, kExitOk);
  EXPECT_NE(help.output.find("--config=FILE"), std::string::npos) << help.output;
  EXPECT_NE(help.output.find("--list-plugins"), std::string::npos);
  const auto version = parse({"-v"});
  ASSERT_EQ(version.exit_code, kExitOk);
  EXPECT_EQ(version.output.rfind("appliance ", 0), 0u) << version.output;
  EXPECT_NE(version.output.find("ABI "), std::string::npos);
}

TEST(CommandLine, MistakesExitTwoNamingTheCulprit) {
  struct Case {
    std::vector<const char*> args;
    const char* message;
  };
  const Case cases[] = {
      {{"--rol=api"}, "unknown option '--rol'; see --help"},
      {{"-x"}, "unknown option '-x'; see --help"},
      {{"--config"}, "option '--config' needs a value (FILE); see --help"},
      {{"--role="}, "option '--role' needs a non-empty value (ROLES); see --help"},
      {{"--check-config=yes"}, "option '--check-config' takes no value; see --help"},
      {{"api"}, "unexpected argument 'api'; see --help"},
      {{"--"}, "unexpected argument '--'; see --help"},
  };
  for (const auto& c : cases) {
    const auto out = parse(c.args);
    EXPECT_EQ(out.exit_code, kExitConfig) << c.args.front();
    EXPECT_EQ(out.error, c.message);
    EXPECT_TRUE(out.output.empty());
  }
}

}  // namespace
}  // namespace appliance::host
