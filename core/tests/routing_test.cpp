// Route matching and the host's role/plugin resolution.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "appliance/config.h"
#include "appliance/http.h"
#include "host_config.h"
#include "sdk/route_table.h"

using appliance::HttpRequest;
using appliance::HttpResponse;
using appliance::RouteTable;

namespace {
appliance::HttpHandler noop() {
  return [](const HttpRequest&, HttpResponse&) {};
}
}  // namespace

TEST(HtmlEscapeTest, EscapesMarkupAndQuotesOnly) {
  EXPECT_EQ(appliance::htmlEscape(R"(<a href="x">&amp;</a> 'ok' é)"),
            "&lt;a href=&quot;x&quot;&gt;&amp;amp;&lt;/a&gt; 'ok' é");
  EXPECT_EQ(appliance::htmlEscape(""), "");
}

TEST(RouteTableTest, MatchesTemplatesAndExtractsParameters) {
  RouteTable table;
  ASSERT_TRUE(table.add({"GET", "/tasks", noop()}));
  ASSERT_TRUE(table.add({"GET", "/tasks/{id}", noop()}));
  ASSERT_TRUE(table.add({"PUT", "/tasks/{id}", noop()}));
  std::vector<std::pair<std::string, std::string>> params;
  auto m = table.match("PUT", "/tasks/42", params);
  ASSERT_EQ(m.kind, RouteTable::MatchKind::kFound);
  EXPECT_EQ(m.entry->route.path, "/tasks/{id}");
  ASSERT_EQ(params.size(), 1u);
  EXPECT_EQ(params[0], (std::pair<std::string, std::string>{"id", "42"}));
  EXPECT_EQ(table.match("HEAD", "/tasks", params).kind, RouteTable::MatchKind::kFound);
  EXPECT_EQ(table.match("GET", "/tasks/", params).kind, RouteTable::MatchKind::kNotFound);
  EXPECT_EQ(table.match("GET", "/tasks/1/x", params).kind, RouteTable::MatchKind::kNotFound);
  EXPECT_EQ(table.match("GET", "/metrics", params, "metrics").kind,
            RouteTable::MatchKind::kNotFound);
  auto not_allowed = table.match("DELETE", "/tasks/1", params);
  EXPECT_EQ(not_allowed.kind, RouteTable::MatchKind::kMethodNotAllowed);
  EXPECT_EQ(not_allowed.allowed_methods, "GET, PUT");
}

TEST(RouteTableTest, RefusesDuplicatesAndMalformedTemplates) {
  RouteTable table;
  ASSERT_TRUE(table.add({"GET", "/a/{id}", noop()}));
  EXPECT_FALSE(table.add({"GET", "/a/{id}", noop()}));
  EXPECT_FALSE(table.add({"GET", "a", noop()}));
  EXPECT_FALSE(table.add({"GET", "/a/{id", noop()}));
  EXPECT_FALSE(table.add({"GET", "/b", nullptr}));
}

TEST(HostConfigTest, RolesResolveToPluginsWithAllAsUnion) {
  auto root = appliance::ConfigNode::parse(
      "roles:\n  api: [storage_sqlite, task_api]\n  alerts: [alert_evaluator, task_api]\n",
      "r.yaml");
  ASSERT_TRUE(root);
  auto config = appliance::host::parseHostConfig(
      *root, {"storage_sqlite", "task_api", "alert_evaluator"}, "/p");
  ASSERT_TRUE(config) << config.status().message();
  auto all = appliance::host::pluginsForRoles(*config, {"all"});
  ASSERT_TRUE(all);
  EXPECT_EQ(*all, (std::vector<std::string>{"storage_sqlite", "task_api", "alert_evaluator"}));
  auto unknown = appliance::host::pluginsForRoles(*config, {"scaler"});
  ASSERT_FALSE(unknown);
  EXPECT_THAT(unknown.status().message(), testing::HasSubstr("--role=scaler: no such role"));
}

TEST(HostConfigTest, UnknownTopLevelSectionIsRejected) {
  auto root = appliance::ConfigNode::parse(
      "roles: {api: [task_api]}\ntask_apii: {}\nhttp: {threads: 0}\n", "t.yaml");
  ASSERT_TRUE(root);
  auto config = appliance::host::parseHostConfig(*root, {"task_api"}, "/p");
  ASSERT_FALSE(config);
  EXPECT_THAT(config.status().message(), testing::HasSubstr("t.yaml:2: task_apii: unknown key"));
  EXPECT_THAT(config.status().message(),
              testing::HasSubstr("t.yaml:3: http.threads: must be between 1 and 4096"));
}
