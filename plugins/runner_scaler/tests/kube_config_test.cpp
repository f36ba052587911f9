// The runner_scaler.kubernetes section (kube_config.h): defaults, derived runner scope, and a
// precise error for every bad value.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "config.h"
#include "test_support.h"

namespace appliance::plugins::runner_scaler {
namespace {

Result<ScalerConfig> parse(const std::string& yaml) {
  auto node = ConfigNode::parse(yaml, "scaler.yaml");
  if (!node.isOk()) return node.status();
  return parseConfig(*node);
}

std::string tokenFile() { return test::tempFile("kube_config_pat", "ghp_x\n"); }

TEST(KubeConfig, DefaultsAndTheRunnerScopeFromGitHub) {
  auto c = parse("backend: kubernetes\ngithub: {token_file: " + tokenFile() +
                 ", organization: acme}\npools: [{name: linux}]\n");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->backend, "kubernetes");
  const auto& k = c->kubernetes;
  EXPECT_EQ(k.mode, "ephemeral");
  EXPECT_TRUE(k.kubeconfig.empty());  // in cluster
  EXPECT_EQ(k.scaler_id, "appliance");
  EXPECT_TRUE(k.events);
  EXPECT_EQ(k.runner_organization, "acme");
  EXPECT_EQ(k.runner_group_id, 1);
  EXPECT_EQ(k.work_folder, "_work");
  EXPECT_EQ(k.maintain_interval, std::chrono::seconds(60));

  c = parse("backend: kubernetes\ngithub: {token_file: " + tokenFile() +
            ", repositories: [acme/infra]}\npools: [{name: linux}]\n");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->kubernetes.runner_repository, "acme/infra");
}

TEST(KubeConfig, AllKeys) {
  auto c = parse("backend: kubernetes\ngithub: {token_file: " + tokenFile() +
                 "}\npools: [{name: linux}, {name: big}]\n"
                 "kubernetes:\n  kubeconfig: /etc/kube/config\n  context: ci\n"
                 "  namespace: runners\n  scaler_id: seed\n  events: false\n"
                 "  runner_scope: acme/app\n  runner_group_id: 7\n  work_folder: w\n"
                 "  maintain_interval: 30s\n  work_volume_storage_class: fast-ssd\n");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  const auto& k = c->kubernetes;
  EXPECT_EQ(k.kubeconfig, "/etc/kube/config");
  EXPECT_EQ(k.context, "ci");
  EXPECT_EQ(k.ns, "runners");
  EXPECT_EQ(k.scaler_id, "seed");
  EXPECT_FALSE(k.events);
  EXPECT_EQ(k.runner_repository, "acme/app");
  EXPECT_EQ(k.runner_group_id, 7);
  EXPECT_EQ(k.work_folder, "w");
  EXPECT_EQ(k.maintain_interval, std::chrono::seconds(30));
  EXPECT_EQ(k.work_volume_storage_class, "fast-ssd");
}

TEST(KubeConfig, DeploymentMode) {
  auto c = parse(
      "backend: kubernetes\npools: [{name: linux}]\n"
      "kubernetes: {mode: deployment, deployment: runners}\n");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_TRUE(c->kubernetes.deploymentMode());
  EXPECT_EQ(c->kubernetes.deployments.at("linux"), "runners");
  c = parse(
      "backend: kubernetes\npools: [{name: a}, {name: b}]\n"
      "kubernetes: {mode: deployment, deployments: {a: ra, b: rb}}\n");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->kubernetes.deployments.size(), 2u);
}

TEST(KubeConfig, ReusedRunnersNeedDeploymentMode) {
  const std::string gh = "github: {token_file: " + tokenFile() + ", organization: acme}\n";
  auto c = parse("backend: kubernetes\n" + gh +
                 "pools: [{name: linux}, {name: big, runner: {ephemeral: false}}]\n");
  ASSERT_FALSE(c.isOk());
  const std::string message = c.status().message();
  EXPECT_NE(message.find("scaler.yaml:"), std::string::npos) << message;
  EXPECT_NE(message.find("kubernetes.mode"), std::string::npos) << message;
  EXPECT_NE(message.find("pool 'big' sets runner.ephemeral: false"), std::string::npos) << message;
  EXPECT_NE(message.find("use mode: deployment or drop ephemeral: false"), std::string::npos)
      << message;
  EXPECT_EQ(message.find("'linux'"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << "one line: " << message;
  // Explicit mode: ephemeral is refused the same way; ephemeral: true is fine.
  c = parse("backend: kubernetes\n" + gh +
            "pools: [{name: a, runner: {ephemeral: false}}]\nkubernetes: {mode: ephemeral}\n");
  ASSERT_FALSE(c.isOk());
  EXPECT_NE(c.status().message().find("pool 'a'"), std::string::npos);
  EXPECT_TRUE(
      parse("backend: kubernetes\n" + gh + "pools: [{name: a, runner: {ephemeral: true}}]\n")
          .isOk());
  // Honoured: a Deployment of long-lived runners, and the dry run.
  c = parse(
      "backend: kubernetes\npools: [{name: a, runner: {ephemeral: false}}]\n"
      "kubernetes: {mode: deployment, deployment: runners}\n");
  EXPECT_TRUE(c.isOk()) << c.status().message();
  c = parse("pools: [{name: a, runner: {ephemeral: false}}]\n");
  EXPECT_TRUE(c.isOk()) << c.status().message();
}

TEST(KubeConfig, RejectsBadValuesWithLocationAndFix) {
  const std::string gh = "github: {token_file: " + tokenFile() + ", organization: acme}\n";
  const struct {
    std::string yaml, expected;
  } cases[] = {
      {"backend: kubernetes\npools: [{name: a}]\n", "runner_scope: is required"},
      {"backend: kubernetes\ngithub: {organization: acme}\npools: [{name: a}]\n",
       "needs GitHub credentials"},
      {"backend: kubernetes\n" + gh + "pools: [{name: a}]\nkubernetes: {namespace: Bad_NS}\n",
       "kubernetes.namespace: must be a Kubernetes namespace name"},
      {"backend: kubernetes\n" + gh + "pools: [{name: a}]\nkubernetes: {mode: pods}\n",
       "kubernetes.mode"},
      {"backend: kubernetes\n" + gh + "pools: [{name: a}]\nkubernetes: {mode: deployment}\n",
       "pool 'a' has no Deployment"},
      {"backend: kubernetes\n" + gh +
           "pools: [{name: a}, {name: b}]\nkubernetes: {mode: deployment, deployment: r}\n",
       "there are 2 pools"},
      {"backend: kubernetes\n" + gh +
           "pools: [{name: a}]\nkubernetes: {mode: deployment, deployments: {x: r}}\n",
       "'x' is not a configured pool"},
      {"backend: kubernetes\n" + gh + "pools: [{name: a}]\nkubernetes: {deployment: r}\n",
       "must be deployment when"},
      {"backend: kubernetes\n" + gh + "pools: [{name: a}]\nkubernetes: {context: ci}\n",
       "context: needs kubeconfig"},
      {"backend: kubernetes\n" + gh + "pools: [{name: a}]\nkubernetes: {scaler_id: Not-OK}\n",
       "scaler_id"},
      {"backend: kubernetes\n" + gh + "pools: [{name: a}]\nkubernetes: {runner_scope: 'a/b/c'}\n",
       "runner_scope: must be an organization"},
      {"backend: kubernetes\n" + gh + "pools: [{name: a}]\nkubernetes: {runner_group_id: 0}\n",
       "runner_group_id"},
      {"backend: kubernetes\n" + gh + "pools: [{name: a}]\nkubernetes: {maintain_interval: 0s}\n",
       "maintain_interval"},
      {"backend: kubernetes\n" + gh + "pools: [{name: a}]\nkubernetes: {nodes: x}\n", "nodes"},
  };
  for (const auto& c : cases) {
    auto r = parse(c.yaml);
    ASSERT_FALSE(r.isOk()) << c.yaml;
    EXPECT_NE(r.status().message().find(c.expected), std::string::npos)
        << c.yaml << " -> " << r.status().message();
    EXPECT_NE(r.status().message().find("scaler.yaml:"), std::string::npos) << c.yaml;
  }
  // A dry run ignores missing registration settings.
  EXPECT_TRUE(parse("pools: [{name: a}]\nkubernetes: {namespace: ci}\n").isOk());
}

}  // namespace
}  // namespace appliance::plugins::runner_scaler
