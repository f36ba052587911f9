#include "kube_test_support.h"

#include <filesystem>
#include <fstream>

namespace appliance::plugins::runner_scaler::kube {

namespace fs = std::filesystem;

void KubeFakeTest::SetUp() {
  ASSERT_TRUE(server_.ok()) << server_.error();
  fs::create_directories(saDir());
  fs::copy_file(server_.caFile(), saDir() + "/ca.crt");
  std::ofstream(saDir() + "/namespace") << ns_ << "\n";
  writeClientToken(server_.token());
}

KubeClientOptions KubeFakeTest::fastOptions() {
  KubeClientOptions options;
  options.initial_backoff = std::chrono::milliseconds(20);
  options.max_backoff = std::chrono::milliseconds(200);
  options.request_timeout = std::chrono::milliseconds(10000);
  return options;
}

HttpClientFactory KubeFakeTest::factory() {
  return [metrics = metrics_](const HttpClientOptions& options) {
    return host::makeOutboundHttpClient(options, metrics, "appliance/test");
  };
}

void KubeFakeTest::writeClientToken(const std::string& token) {
  // As the kubelet does: a new file swapped in, so the inode changes.
  const std::string tmp = saDir() + "/token.tmp";
  std::ofstream(tmp) << token;
  fs::rename(tmp, saDir() + "/token");
}

InClusterOptions KubeFakeTest::inCluster() const {
  InClusterOptions options;
  options.service_account_dir = saDir();
  options.getenv = [port = server_.port()](const std::string& name) -> std::optional<std::string> {
    if (name == "KUBERNETES_SERVICE_HOST") return std::string("127.0.0.1");
    if (name == "KUBERNETES_SERVICE_PORT") return std::to_string(port);
    return std::nullopt;
  };
  return options;
}

std::shared_ptr<KubeClient> KubeFakeTest::client(KubeClientOptions options) {
  auto access = inClusterAccess(inCluster());
  EXPECT_TRUE(access) << access.status().message();
  if (!access) return nullptr;
  auto made = KubeClient::create(access.value(), factory(), options, log_);
  EXPECT_TRUE(made) << made.status().message();
  return made ? made.value() : nullptr;
}

std::string KubeFakeTest::allLogText() const {
  std::string text;
  for (const auto& line : log_.lines()) {
    text += line.message + "\n";
    for (const auto& [k, v] : line.fields) text += k + "=" + v + "\n";
  }
  return text;
}

int KubeFakeTest::countRequests(const std::string& method, const std::string& fragment) {
  int n = 0;
  for (const auto& r : server_.requests()) {
    if (r.method == method && r.path.find(fragment) != std::string::npos) ++n;
  }
  return n;
}

Object makePod(const std::string& name, const std::string& labels_json) {
  auto pod = parseObject(R"({"metadata":{"name":")" + name + R"(","labels":)" + labels_json +
                             R"(},"spec":{"restartPolicy":"Never","containers":[{"name":"runner",)"
                             R"("image":"ghcr.io/actions/actions-runner:2.320.0"}]}})",
                         "pod");
  return pod ? pod.value() : Object{};
}

}  // namespace appliance::plugins::runner_scaler::kube
