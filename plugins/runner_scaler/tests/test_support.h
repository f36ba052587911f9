#pragma once
// Shared helpers for the runner_scaler unit tests: webhook bodies as GitHub sends them and a
// plugin wired to a FakeContext without its decision thread (tests call step()).

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "appliance/config.h"
#include "appliance/testing/fake_context.h"
#include "plugin.h"
#include "signature.h"

namespace appliance::plugins::runner_scaler::test {

inline constexpr const char* kSecret = "It's a Secret to Everybody";

// Writes `content` to a temp file unique to this process and returns its path. ctest runs
// every test case as its own process, in parallel: a fixed name would be rewritten (truncated)
// by one case while another reads it.
inline std::string tempFile(const std::string& name, const std::string& content) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("runner_scaler_" + std::to_string(::getpid()) + "_" + name);
  std::ofstream(path) << content;
  return path.string();
}

// A workflow_job webhook body in GitHub's documented shape.
inline std::string jobEvent(const std::string& action, std::int64_t id,
                            const std::vector<std::string>& labels,
                            const std::string& repo = "acme/infra",
                            const std::string& runner = "") {
  std::string l;
  for (const auto& x : labels) l += (l.empty() ? "\"" : ",\"") + x + "\"";
  const std::string status = action == "waiting" ? "waiting" : action;
  return R"({"action":")" + action + R"(","workflow_job":{"id":)" + std::to_string(id) +
         R"(,"run_id":)" + std::to_string(id / 10) + R"(,"status":")" + status + R"(","labels":[)" +
         l + R"(],"runner_name":)" + (runner.empty() ? std::string("null") : "\"" + runner + "\"") +
         R"(,"created_at":"2023-11-14T22:13:00Z","started_at":"2023-11-14T22:13:20Z"},"repository":{"full_name":")" +
         repo + R"("}})";
}

inline std::vector<HttpHeader> signedHeaders(const std::string& body, const std::string& delivery,
                                             const std::string& event = "workflow_job",
                                             const std::string& secret = kSecret) {
  return {{"X-Hub-Signature-256", "sha256=" + hmacSha256Hex(secret, body)},
          {"X-GitHub-Event", event},
          {"X-GitHub-Delivery", delivery},
          {"Content-Type", "application/json"}};
}

inline std::string baseConfig(const std::string& extra_pool_keys = "", const std::string& more = "",
                              const std::string& github_more = "") {
  return std::string(
             "backend: dry_run\n"
             "dry_run: {boot_delay: 20s}\n"
             "github:\n  webhook_secret: \"It's a Secret to Everybody\"\n") +
         github_more + more +
         "pools:\n"
         "  - name: linux\n    labels: [linux, terraform, kubernetes]\n    min: 0\n    max: 10\n"
         "    scale_down_delay: 5m\n" +
         extra_pool_keys + "  - name: gpu\n    labels: [linux, gpu]\n    min: 0\n    max: 2\n";
}

struct Harness {
  testing::FakeContext ctx{"runner_scaler"};
  RunnerScalerPlugin plugin;
  explicit Harness(const std::string& yaml) {
    auto node = ConfigNode::parse(yaml, "test.yaml");
    if (!node.isOk()) throw std::runtime_error(node.status().message());
    Status s = plugin.configure(*node);
    if (!s.isOk()) throw std::runtime_error(s.message());
    s = plugin.init(ctx);
    if (!s.isOk()) throw std::runtime_error(s.message());
  }
  HttpResponse send(const std::string& body, const std::string& delivery,
                    const std::string& event = "workflow_job") {
    return ctx.router.call("POST", "/webhooks/github", body, signedHeaders(body, delivery, event));
  }
  void step() { plugin.scaler()->step(); }
  void advance(std::chrono::seconds s) { ctx.manual_clock.advance(s); }
  double metric(const std::string& name, const std::map<std::string, std::string>& labels = {}) {
    return ctx.metricValue(name, labels).value_or(-1);
  }
};

}  // namespace appliance::plugins::runner_scaler::test
