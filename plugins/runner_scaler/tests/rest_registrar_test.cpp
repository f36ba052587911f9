// RestRunnerRegistrar against FakeHttpClient: the request shapes of GitHub's JIT endpoints
// (repository and organization scope), the status mapping (201, 204, 404 = done, 422 busy,
// 409 name taken, 401 drops the App token), the runner list with pagination, and no JIT
// config or token in any message.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "appliance/testing/fake_context.h"
#include "appliance/testing/fake_http_client.h"
#include "rest_runner_registrar.h"
#include "test_support.h"

namespace appliance::plugins::runner_scaler {
namespace {

using testing::FakeHttpClient;

constexpr const char* kJit = "eyJzZWNyZXQiOiJkb250LWxvZy1tZSJ9";
constexpr const char* kPat = "ghp_registrar_test_token";

HttpClientResponse answer(int status, std::string body = {}, std::vector<HttpHeader> headers = {}) {
  HttpClientResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

class RestRegistrarTest : public ::testing::Test {
 protected:
  void SetUp() override {
    token_file_ = test::tempFile("registrar_pat", std::string(kPat) + "\n");
    pool_.policy.name = "linux";
    pool_.labels = {"kubernetes", "linux"};
  }
  RestRunnerRegistrar make(const std::string& org, const std::string& repo) {
    GitHubConfig gh;
    gh.api_url = "https://api.github.test";
    gh.token_file = token_file_;
    creds_ = std::make_shared<GitHubCredentials>(gh, http_, nullptr, log_, clock_);
    RestRegistrarOptions o;
    o.api_url = gh.api_url;
    o.organization = org;
    o.repository = repo;
    o.runner_group_id = 3;
    return RestRunnerRegistrar(o, http_, creds_, nullptr, log_);
  }

  std::shared_ptr<FakeHttpClient> http_ = std::make_shared<FakeHttpClient>();
  std::shared_ptr<GitHubCredentials> creds_;
  testing::CapturingLogger log_;
  testing::ManualClock clock_;
  std::string token_file_;
  PoolConfig pool_;
};

TEST_F(RestRegistrarTest, RegistersAJitRunnerAtTheRepository) {
  auto r = make("", "acme/infra");
  http_->setHandler([](const HttpClientRequest&) -> Result<HttpClientResponse> {
    return answer(201,
                  std::string(R"({"runner":{"id":23,"name":"appliance-linux-1","os":"unknown",)"
                              R"("status":"offline","busy":false,"labels":[]},)"
                              R"("encoded_jit_config":")") +
                      kJit + "\"}");
  });
  auto reg = r.registerRunner(pool_, "appliance-linux-1");
  ASSERT_TRUE(reg.isOk()) << reg.status().message();
  EXPECT_EQ(reg->runner_id, 23);
  EXPECT_EQ(reg->runner_name, "appliance-linux-1");
  EXPECT_EQ(reg->encoded_jit_config, kJit);
  auto rq = http_->requests().at(0);
  EXPECT_EQ(rq.method, "POST");
  EXPECT_EQ(rq.url, "https://api.github.test/repos/acme/infra/actions/runners/generate-jitconfig");
  EXPECT_EQ(rq.endpoint, "/repos/{repo}/actions/runners/generate-jitconfig");
  EXPECT_EQ(rq.body, R"({"labels":["self-hosted","kubernetes","linux"],"name":"appliance-linux-1",)"
                     R"("runner_group_id":3,"work_folder":"_work"})");
  bool auth = false, version = false;
  for (const auto& h : rq.headers) {
    auth = auth || (h.name == "Authorization" && h.value == std::string("Bearer ") + kPat);
    version = version || (h.name == "X-GitHub-Api-Version" && h.value == "2022-11-28");
  }
  EXPECT_TRUE(auth);
  EXPECT_TRUE(version);
}

TEST_F(RestRegistrarTest, MapsGitHubAnswers) {
  auto r = make("acme", "");
  int status = 0;
  http_->setHandler([&](const HttpClientRequest&) -> Result<HttpClientResponse> {
    return answer(status, R"({"message":"the reason","documentation_url":"x"})");
  });
  status = 204;
  EXPECT_TRUE(r.deregisterRunner(pool_, 5).isOk());
  EXPECT_EQ(http_->requests().back().url, "https://api.github.test/orgs/acme/actions/runners/5");
  EXPECT_EQ(http_->requests().back().method, "DELETE");
  status = 404;
  EXPECT_TRUE(r.deregisterRunner(pool_, 5).isOk());  // already gone
  status = 422;
  Status busy = r.deregisterRunner(pool_, 5);
  EXPECT_EQ(busy.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(busy.message().find("the reason"), std::string::npos);
  status = 502;
  EXPECT_EQ(r.deregisterRunner(pool_, 5).code(), StatusCode::kUnavailable);
  status = 409;
  EXPECT_EQ(r.registerRunner(pool_, "dup").status().code(), StatusCode::kConflict);
  status = 403;
  EXPECT_EQ(r.registerRunner(pool_, "x").status().code(), StatusCode::kFailedPrecondition);
  status = 201;  // a 201 without the config is refused, not half-used
  EXPECT_EQ(r.registerRunner(pool_, "x").status().code(), StatusCode::kInvalidArgument);
}

TEST_F(RestRegistrarTest, ListsRunnersAcrossPages) {
  auto r = make("acme", "");
  http_->setHandler([](const HttpClientRequest& rq) -> Result<HttpClientResponse> {
    if (rq.url.find("page=2") == std::string::npos) {
      return answer(200,
                    R"({"total_count":2,"runners":[{"id":1,"name":"a","os":"linux",)"
                    R"("status":"online","busy":true,"labels":[]}]})",
                    {{"Link",
                      "<https://api.github.test/orgs/acme/actions/runners?per_page=100&"
                      "page=2>; rel=\"next\""}});
    }
    return answer(200, R"({"total_count":2,"runners":[{"id":2,"name":"b","os":"linux",)"
                       R"("status":"offline","busy":false,"labels":[]}]})");
  });
  auto list = r.listRunners(pool_);
  ASSERT_TRUE(list.isOk()) << list.status().message();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_TRUE((*list)[0].online);
  EXPECT_TRUE((*list)[0].busy);
  EXPECT_EQ((*list)[1].name, "b");
  EXPECT_FALSE((*list)[1].online);
}

TEST_F(RestRegistrarTest, NoSecretInMessagesOrLogs) {
  auto r = make("", "acme/infra");
  http_->setHandler([](const HttpClientRequest&) -> Result<HttpClientResponse> {
    return answer(201,
                  std::string(R"({"runner":{"name":"n"},"encoded_jit_config":")") + kJit + "\"}");
  });
  auto reg = r.registerRunner(pool_, "n");  // no runner.id
  ASSERT_FALSE(reg.isOk());
  EXPECT_EQ(reg.status().message().find(kJit), std::string::npos);
  EXPECT_EQ(reg.status().message().find(kPat), std::string::npos);
  for (const auto& line : log_.lines()) {
    EXPECT_EQ(line.message.find(kPat), std::string::npos);
    for (const auto& [k, v] : line.fields) EXPECT_EQ(v.find(kJit), std::string::npos);
  }
}

}  // namespace
}  // namespace appliance::plugins::runner_scaler
