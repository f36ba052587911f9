#include "scaleset/protocol.h"

#include <Poco/Base64Encoder.h>
#include <gtest/gtest.h>

#include <sstream>

#include "scaleset/actions_client.h"

namespace appliance::plugins::runner_scaler::scaleset {
namespace {

std::string jwtWithPayload(const std::string& payload) {
  std::ostringstream out;
  Poco::Base64Encoder enc(out, Poco::BASE64_URL_ENCODING | Poco::BASE64_NO_PADDING);
  enc << payload;
  enc.close();
  return "eyJhbGciOiJSUzI1NiJ9." + out.str() + ".c2ln";
}

TEST(ScaleSetProtocolTest, StripsAUtf8ByteOrderMarkOnly) {
  EXPECT_EQ(stripBom("\xEF\xBB\xBF{}"), "{}");
  EXPECT_EQ(stripBom("{}"), "{}");
  EXPECT_EQ(stripBom("\xEF\xBB"), "\xEF\xBB");
}

TEST(ScaleSetProtocolTest, PercentEncodesEverythingButUnreserved) {
  EXPECT_EQ(percentEncode("Spot & Friends"), "Spot%20%26%20Friends");
  EXPECT_EQ(percentEncode("a+b#c%d/e"), "a%2Bb%23c%25d%2Fe");
  EXPECT_EQ(percentEncode("seed-linux_1.x~"), "seed-linux_1.x~");
}

TEST(ScaleSetProtocolTest, ConfigUrlsMapToTheirApiBaseAndScope) {
  auto org = parseConfigUrl("https://github.com/acme/");
  ASSERT_TRUE(org) << org.status().message();
  EXPECT_EQ(org->url, "https://github.com/acme");
  EXPECT_EQ(apiBaseFor(*org), "https://api.github.com");
  EXPECT_EQ(registrationTokenPath(*org), "/orgs/acme/actions/runners/registration-token");

  auto repo = parseConfigUrl("https://ghes.example.com/acme/infra");
  ASSERT_TRUE(repo);
  EXPECT_EQ(apiBaseFor(*repo), "https://ghes.example.com/api/v3");
  EXPECT_EQ(registrationTokenPath(*repo), "/repos/acme/infra/actions/runners/registration-token");

  auto ent = parseConfigUrl("https://acme.ghe.com/enterprises/big");
  ASSERT_TRUE(ent);
  EXPECT_EQ(apiBaseFor(*ent), "https://api.acme.ghe.com");
  EXPECT_EQ(registrationTokenPath(*ent), "/enterprises/big/actions/runners/registration-token");

  for (const char* bad : {"github.com/acme", "https://github.com", "https://github.com/a/b/c",
                          "https://github.com/enterprises"}) {
    auto r = parseConfigUrl(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.status().message().find("github config URL"), std::string::npos);
  }
}

TEST(ScaleSetProtocolTest, ParsesADoubleEncodedBodyWithStatistics) {
  std::string body = std::string("\xEF\xBB\xBF") + R"({
    "messageId": 7, "messageType": "RunnerScaleSetJobMessages",
    "body": "[{\"messageType\":\"JobAvailable\",\"runnerRequestId\":11,\"jobId\":\"j-1\",\"acquireJobUrl\":\"https://x/acquire\",\"requestLabels\":[\"seed\"]},{\"messageType\":\"JobCompleted\",\"runnerRequestId\":10,\"result\":\"canceled\",\"runnerId\":5,\"runnerName\":\"r-5\"}]",
    "statistics": {"totalAvailableJobs": 1, "totalAssignedJobs": 3, "totalRunningJobs": 2,
                   "totalRegisteredRunners": 4, "totalBusyRunners": 2, "totalIdleRunners": 2,
                   "totalAcquiredJobs": 1}})";
  auto m = parseQueueMessage(body);
  ASSERT_TRUE(m) << m.status().message();
  EXPECT_EQ(m->message_id, 7);
  EXPECT_EQ(m->statistics.total_assigned_jobs, 3);
  EXPECT_EQ(m->statistics.total_idle_runners, 2);
  ASSERT_EQ(m->jobs.size(), 2u);
  EXPECT_EQ(m->jobs[0].type, JobEventType::kAvailable);
  EXPECT_EQ(m->jobs[0].runner_request_id, 11);
  EXPECT_EQ(m->jobs[0].request_labels, std::vector<std::string>{"seed"});
  EXPECT_EQ(m->jobs[1].type, JobEventType::kCompleted);
  EXPECT_EQ(m->jobs[1].result, "canceled");
  EXPECT_EQ(m->jobs[1].runner_name, "r-5");
}

TEST(ScaleSetProtocolTest, AnEmptyBodyFieldIsNoJobsAndAnEmptyDocumentIsRetryable) {
  auto m = parseQueueMessage(
      R"({"messageId":1,"messageType":"RunnerScaleSetJobMessages","body":"","statistics":{}})");
  ASSERT_TRUE(m) << m.status().message();
  EXPECT_TRUE(m->jobs.empty());
  auto empty = parseQueueMessage("\xEF\xBB\xBF");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.status().code(), StatusCode::kUnavailable);
}

TEST(ScaleSetProtocolTest, RejectsOtherMessageTypesAndBadBodiesPrecisely) {
  auto other = parseQueueMessage(R"({"messageId":3,"messageType":"Foo","body":"[]"})");
  ASSERT_FALSE(other);
  EXPECT_NE(other.status().message().find("unsupported messageType 'Foo'"), std::string::npos);
  auto bad = parseQueueMessage(
      R"({"messageId":4,"messageType":"RunnerScaleSetJobMessages","body":"{\"a\":1}"})");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.status().message().find("queue message 4"), std::string::npos);
  EXPECT_FALSE(parseQueueMessage("not json"));
}

TEST(ScaleSetProtocolTest, ReadsTheJwtExpiryWithoutVerifying) {
  EXPECT_EQ(jwtExpiry(jwtWithPayload(R"({"exp":1800000000,"sub":"x"})")), 1800000000);
  EXPECT_FALSE(jwtExpiry("opaque-token"));
  EXPECT_FALSE(jwtExpiry(jwtWithPayload(R"({"sub":"x"})")));
}

TEST(ScaleSetProtocolTest, SessionNeedsItsQueueFieldsAndErrorsNeverEchoThem) {
  auto s = parseSession(R"({"sessionId":"s","messageQueueUrl":"u","statistics":{}})");
  ASSERT_FALSE(s);
  EXPECT_NE(s.status().message().find("messageQueueAccessToken"), std::string::npos);
  auto ok =
      parseSession(R"({"sessionId":"s","messageQueueUrl":"u","messageQueueAccessToken":"SECRET",)"
                   R"("statistics":{"totalAssignedJobs":2}})");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->statistics.total_assigned_jobs, 2);
}

TEST(ScaleSetProtocolTest, RequestBodiesMatchTheServiceShapes) {
  ScaleSet set;
  set.name = "seed";
  set.runner_group_id = 2;
  set.labels = {"self-hosted", "linux"};
  std::string body = scaleSetBody(set);
  EXPECT_NE(body.find(R"("RunnerSetting":{"disableUpdate":true})"), std::string::npos) << body;
  EXPECT_NE(body.find(R"({"name":"linux","type":"System"})"), std::string::npos) << body;
  EXPECT_EQ(acquireJobsBody({3, 4}), "[3,4]");
  EXPECT_NE(sessionBody("pod-1").find("00000000-0000-0000-0000-000000000000"), std::string::npos);
  EXPECT_NE(jitConfigBody("r1", "_work").find(R"("workFolder":"_work")"), std::string::npos);
}

TEST(ScaleSetProtocolTest, GroupAndSetListsNeedExactlyOneOrNoMatch) {
  EXPECT_FALSE(parseRunnerGroupList(R"({"count":0,"value":[]})", "g"));
  auto g = parseRunnerGroupList(R"({"count":1,"value":[{"id":4,"name":"g"}]})", "g");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->id, 4);
  auto none = parseScaleSetList(R"({"count":0,"value":[]})", "s");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none.value());
  EXPECT_FALSE(parseScaleSetList(R"({"count":2,"value":[{"id":1},{"id":2}]})", "s"));
}

TEST(ScaleSetProtocolTest, ApiVersionIsAddedOnce) {
  EXPECT_EQ(withApiVersion("http://h/x"), "http://h/x?api-version=6.0-preview");
  EXPECT_EQ(withApiVersion("http://h/x?a=1"), "http://h/x?a=1&api-version=6.0-preview");
  EXPECT_EQ(withApiVersion("http://h/x?api-version=6.0-preview"),
            "http://h/x?api-version=6.0-preview");
}

TEST(ScaleSetProtocolTest, AuthOptionsNeedExactlyOneMethod) {
  ActionsClientOptions o;
  o.config_url = "https://github.com/acme";
  EXPECT_FALSE(validate(o));
  o.auth.pat = "ghp_x";
  EXPECT_TRUE(validate(o));
  o.auth.app_client_id = "Iv1";
  EXPECT_FALSE(validate(o));
  o.auth.pat.clear();
  o.auth.app_installation_id = 5;
  o.auth.app_private_key_pem = "not a key";
  auto bad_key = validate(o);
  ASSERT_FALSE(bad_key);
  EXPECT_NE(bad_key.message().find("app_private_key"), std::string::npos);
}

}  // namespace
}  // namespace appliance::plugins::runner_scaler::scaleset
