// Unit tests for hello, without a host: the plugin is created through its exported descriptor
// (as the host does) and driven through appliance::testing::FakeContext.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "appliance/sdk.h"
#include "appliance/testing/fake_context.h"

extern "C" const appliance_plugin_descriptor* appliance_plugin();

namespace {

using appliance::ConfigNode;
using appliance::Plugin;
using appliance::Status;
using testing::HasSubstr;

using PluginPtr = std::unique_ptr<Plugin, void (*)(Plugin*) noexcept>;

PluginPtr createHello() {
  const appliance_plugin_descriptor* d = appliance_plugin();
  return PluginPtr(d->create(), d->destroy);
}

Status configure(Plugin& plugin, const std::string& yaml) {
  auto root = ConfigNode::parse(yaml, "test.yaml");
  if (!root) return root.status();
  return plugin.configure(root->child("hello"));
}

TEST(HelloPlugin, DescriptorNamesThePluginAndStampsTheAbi) {
  const appliance_plugin_descriptor* d = appliance_plugin();
  EXPECT_EQ(d->struct_size, sizeof(appliance_plugin_descriptor));
  EXPECT_EQ(d->abi_version, APPLIANCE_SDK_ABI_VERSION);
  EXPECT_STREQ(d->name, "hello");
  EXPECT_STREQ(d->requires_services, "");
}

TEST(HelloPlugin, ServesTheConfiguredGreetingAndCountsRequests) {
  PluginPtr hello = createHello();
  ASSERT_TRUE(configure(*hello, "hello:\n  greeting: Hi \"there\"\n").isOk());
  appliance::testing::FakeContext context("hello");
  ASSERT_TRUE(hello->init(context).isOk());

  auto response = context.router.call("GET", "/hello");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.content_type, "application/json");
  EXPECT_EQ(response.body, R"({"greeting":"Hi \"there\""})");
  context.router.call("GET", "/hello?ignored=1");
  EXPECT_EQ(context.metricValue("hello_requests_total"), 2.0);

  EXPECT_EQ(context.router.call("POST", "/hello").status, 405);
  EXPECT_EQ(context.metricValue("hello_requests_total"), 2.0);
}

TEST(HelloPlugin, GreetsByDefaultWithoutASection) {
  PluginPtr hello = createHello();
  ASSERT_TRUE(configure(*hello, "other: {}\n").isOk());
  appliance::testing::FakeContext context("hello");
  ASSERT_TRUE(hello->init(context).isOk());
  EXPECT_EQ(context.router.call("GET", "/hello").body, R"({"greeting":"Hello, world!"})");
}

TEST(HelloPlugin, AcceptsAHundredCharactersCountingUtf8AsOne) {
  std::string greeting;
  for (int i = 0; i < 100; ++i) greeting += "\xC3\xA9";  // "é", two bytes each
  EXPECT_TRUE(configure(*createHello(), "hello: {greeting: \"" + greeting + "\"}\n").isOk());
}

TEST(HelloPlugin, RejectsBadGreetingsWithFileLineAndKey) {
  Status empty = configure(*createHello(), "hello:\n  greeting: \"\"\n");
  EXPECT_FALSE(empty.isOk());
  EXPECT_THAT(empty.message(),
              HasSubstr("test.yaml:2: hello.greeting: must be 1..100 characters, got 0"));

  Status too_long = configure(*createHello(), "hello: {greeting: " + std::string(101, 'x') + "}\n");
  EXPECT_THAT(too_long.message(), HasSubstr("hello.greeting: must be 1..100 characters, got 101"));

  Status not_text = configure(*createHello(), "hello: {greeting: [a, b]}\n");
  EXPECT_THAT(not_text.message(), HasSubstr("hello.greeting: must be a string"));
}

TEST(HelloPlugin, RejectsUnknownKeys) {
  Status typo = configure(*createHello(), "hello:\n  greeting: hi\n  greting: hi\n");
  EXPECT_EQ(typo.code(), appliance::StatusCode::kInvalidArgument);
  EXPECT_THAT(typo.message(),
              HasSubstr("test.yaml:3: hello.greting: unknown key; known keys here: greeting"));
}

}  // namespace
