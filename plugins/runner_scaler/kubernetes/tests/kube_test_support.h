#pragma once
// Shared set-up for the tests against the fake Kubernetes API server: the server, the host's
// real outbound HTTP client (TLS, metrics) and a service-account folder that points a
// KubeClient at the fake as if it ran in a pod.

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>

#include "appliance/testing/fake_context.h"
#include "fake_kube_apiserver.h"
#include "kube_client.h"
#include "outbound_http.h"

namespace appliance::plugins::runner_scaler::kube {

class KubeFakeTest : public ::testing::Test {
 protected:
  void SetUp() override;

  // Retries fast enough for tests (20 ms doubling to 200 ms).
  static KubeClientOptions fastOptions();
  HttpClientFactory factory();
  // The service account the client reads: token file (what the client presents), CA, namespace.
  std::string saDir() const { return server_.dir() + "/serviceaccount"; }
  void writeClientToken(const std::string& token);
  InClusterOptions inCluster() const;
  std::shared_ptr<KubeClient> client(KubeClientOptions options = fastOptions());
  // Every log line and field the client wrote, joined.
  std::string allLogText() const;
  // API requests the fake saw with this method whose path contains `fragment`.
  int countRequests(const std::string& method, const std::string& fragment);

  appliance::test::FakeKubeApiServer server_;
  prometheus::Registry registry_;
  std::shared_ptr<host::OutboundHttpMetrics> metrics_ = host::makeOutboundHttpMetrics(registry_);
  testing::CapturingLogger log_;
  std::string ns_ = "ci";
};

// A pod object with the given name and labels (JSON text of metadata.labels).
Object makePod(const std::string& name, const std::string& labels_json = "{}");

}  // namespace appliance::plugins::runner_scaler::kube
