// JSON helpers, request bodies and the Lease <-> LeaseRecord mapping (no server).
#include <gtest/gtest.h>

#include "appliance/time.h"
#include "kube_client.h"
#include "kube_json.h"
#include "kube_lease_backend.h"

namespace appliance::plugins::runner_scaler::kube {
namespace {

TEST(KubeJsonTest, BodiesEscapeEveryStringAndRoundTrip) {
  Object object(new Poco::JSON::Object);
  const std::string tricky = "quote \" backslash \\ newline \n tab \t ctl \x01 utf8 \xC3\xA9 </x>";
  ensureObject(object, {"metadata", "annotations"})->set("note", tricky);
  const std::string text = toJson(object);
  EXPECT_EQ(text.find('\n'), std::string::npos) << text;
  auto back = parseObject(text, "round trip");
  ASSERT_TRUE(back) << back.status().message();
  EXPECT_EQ(stringAt(back.value(), {"metadata", "annotations", "note"}), tricky);
}

TEST(KubeJsonTest, ReadersSayNothingForMissingOrMistypedFields) {
  auto object = parseObject(R"({"metadata":{"name":"p","generation":3},"spec":[1]})", "doc");
  ASSERT_TRUE(object);
  EXPECT_EQ(nameOf(object.value()), "p");
  EXPECT_EQ(intAt(object.value(), {"metadata", "generation"}).value_or(-1), 3);
  EXPECT_EQ(stringAt(object.value(), {"metadata", "generation"}), "");
  EXPECT_FALSE(intAt(object.value(), {"metadata", "name"}).has_value());
  EXPECT_TRUE(objectAt(object.value(), {"spec", "x"}).isNull());
  EXPECT_TRUE(arrayAt(object.value(), {"spec"}));
  EXPECT_EQ(stringAt(object.value(), {"nope", "deeper"}), "");
}

TEST(KubeJsonTest, MalformedJsonIsAnErrorNamingTheDocument) {
  auto bad = parseObject("{\"a\":", "GET /api/v1/pods: response");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("GET /api/v1/pods: response"), std::string::npos);
  EXPECT_FALSE(parseObject("[1,2]", "array"));
}

TEST(KubeJsonTest, PathsEncodeNamesAndFollowTheApiLayout) {
  EXPECT_EQ(KubeClient::path(kPods, "ci", "runner-1"), "/api/v1/namespaces/ci/pods/runner-1");
  EXPECT_EQ(KubeClient::path(kLeases, "ci", "scaler"),
            "/apis/coordination.k8s.io/v1/namespaces/ci/leases/scaler");
  EXPECT_EQ(KubeClient::path(kDeployments, "ci", "runners", "scale"),
            "/apis/apps/v1/namespaces/ci/deployments/runners/scale");
  EXPECT_EQ(KubeClient::path(kNodes, "ignored", "n1"), "/api/v1/nodes/n1");
  EXPECT_EQ(KubeClient::path(kPods, ""), "/api/v1/pods");
  EXPECT_EQ(KubeClient::path(kPods, "ci", "a/b?c"), "/api/v1/namespaces/ci/pods/a%2Fb%3Fc");
  EXPECT_EQ(kDeployments.apiVersion(), "apps/v1");
  EXPECT_EQ(kPods.apiVersion(), "v1");
}

TEST(KubeLeaseMappingTest, ALeaseRecordBecomesTheDocumentedLeaseShape) {
  LeaseRecord record{
      "scaler-0", toTimestamp(1'700'000'000, 123456), toTimestamp(1'700'000'005, 7), 15, 2, {}};
  Object metadata(new Poco::JSON::Object);
  metadata->set("name", "runner-scaler");
  Object lease = KubernetesLeaseBackend::toLease(record, metadata);
  EXPECT_EQ(stringAt(lease, {"apiVersion"}), "coordination.k8s.io/v1");
  EXPECT_EQ(stringAt(lease, {"kind"}), "Lease");
  EXPECT_EQ(stringAt(lease, {"spec", "holderIdentity"}), "scaler-0");
  EXPECT_EQ(intAt(lease, {"spec", "leaseDurationSeconds"}).value_or(0), 15);
  EXPECT_EQ(intAt(lease, {"spec", "leaseTransitions"}).value_or(0), 2);
  // MicroTime: RFC 3339 with exactly six fractional digits.
  EXPECT_EQ(stringAt(lease, {"spec", "acquireTime"}), "2023-11-14T22:13:20.123456Z");
  EXPECT_EQ(stringAt(lease, {"spec", "renewTime"}), "2023-11-14T22:13:25.000007Z");
  lease->getObject("metadata")->set("resourceVersion", "42");
  auto back = KubernetesLeaseBackend::fromLease(lease);
  ASSERT_TRUE(back) << back.status().message();
  EXPECT_EQ(back->holder, "scaler-0");
  EXPECT_EQ(back->acquired_at, record.acquired_at);
  EXPECT_EQ(back->renewed_at, record.renewed_at);
  EXPECT_EQ(back->transitions, 2u);
  EXPECT_EQ(back->version, "42");
}

TEST(KubeLeaseMappingTest, AReleasedLeaseOmitsHolderAndTimes) {
  LeaseRecord released{"", 0, 0, 15, 3, {}};
  Object lease = KubernetesLeaseBackend::toLease(released, Object(new Poco::JSON::Object));
  EXPECT_FALSE(lease->getObject("spec")->has("holderIdentity"));
  EXPECT_FALSE(lease->getObject("spec")->has("renewTime"));
  auto back = KubernetesLeaseBackend::fromLease(lease);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->holder, "");
  EXPECT_EQ(back->renewed_at, 0);
}

TEST(KubeLeaseMappingTest, ALeaseWrittenByClientGoIsRead) {
  auto lease = parseObject(R"({"apiVersion":"coordination.k8s.io/v1","kind":"Lease",
    "metadata":{"name":"x","namespace":"ci","resourceVersion":"7"},
    "spec":{"holderIdentity":"other_5f2","leaseDurationSeconds":15,
            "acquireTime":"2024-05-01T12:00:00.000000Z","renewTime":"2024-05-01T12:00:10.500000Z",
            "leaseTransitions":4}})",
                           "lease");
  ASSERT_TRUE(lease);
  auto record = KubernetesLeaseBackend::fromLease(lease.value());
  ASSERT_TRUE(record);
  EXPECT_EQ(record->renewed_at - record->acquired_at, 10'500'000);
  auto bad = parseObject(R"({"metadata":{"name":"x","namespace":"ci"},
    "spec":{"renewTime":"yesterday"}})",
                         "lease");
  auto refused = KubernetesLeaseBackend::fromLease(bad.value());
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.status().message().find("spec.renewTime 'yesterday'"), std::string::npos);
}

}  // namespace
}  // namespace appliance::plugins::runner_scaler::kube
