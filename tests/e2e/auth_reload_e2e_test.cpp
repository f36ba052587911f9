// End-to-end: secrets rotate without a restart, and SIGHUP reloads. The real binary on a free
// port with its tokens file behind a Kubernetes-style Secret mount (tokens -> ..data/tokens,
// ..data -> ..<timestamp>); the tests swap the symlink or replace the file and watch the same
// process (same pid) start refusing the old token and accepting the new one.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <functional>
#include <thread>

#include "harness/harness.h"

using appliance::test::ApplianceProcess;
using appliance::test::http;
using appliance::test::TempDir;
using testing::HasSubstr;

namespace {

namespace fs = std::filesystem;

const std::string kOldToken = "e2e-old-token-0123456789abcdef";
const std::string kNewToken = "e2e-new-token-0123456789abcdef";

// Polls `condition` every 100 ms until it holds or `timeout` passes.
bool eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return condition();
}

class AuthReloadE2E : public testing::Test {
 protected:
  // A Secret volume as the kubelet lays it out, holding `token`.
  void mountSecret(const std::string& version, const std::string& token) {
    const std::string folder = mount_ + "/.." + version;
    fs::create_directories(folder);
    dir_.write("secret/.." + version + "/tokens", token + "\n");
    fs::create_directory_symlink(".." + version, mount_ + "/..data_tmp");
    fs::rename(mount_ + "/..data_tmp", mount_ + "/..data");  // atomic swap, as the kubelet does
    if (!fs::exists(mount_ + "/tokens")) fs::create_symlink("..data/tokens", mount_ + "/tokens");
  }

  std::string config(const std::string& reload_interval, const std::string& log_level) const {
    return "http: {listen: \"" + listen_ +
           "\", access_log: false}\n"
           "log: {level: " +
           log_level + "}\ndata: {dir: " + dir_.file("data") +
           "}\n"
           "roles: {api: [storage_sqlite, task_api]}\n"
           "storage_sqlite: {path: " +
           dir_.file("tasks.db") + "}\ntask_api: {auth: {tokens_file: " + mount_ +
           "/tokens, reload_interval: " + reload_interval + "}}\n";
  }

  void start(const std::string& reload_interval, const std::string& log_level = "info") {
    mountSecret("2026_01_01_00_00_00.1", kOldToken);
    config_ = appliance::test::writeConfig(dir_, config(reload_interval, log_level));
    app_ = std::make_unique<ApplianceProcess>(
        std::vector<std::string>{"--config=" + config_, "--role=api"}, dir_.path());
    ASSERT_TRUE(app_->waitReady(listen_)) << app_->output();
    pid_ = app_->pid();
    ASSERT_EQ(statusWith(kOldToken), 200) << app_->output();
  }

  int statusWith(const std::string& token) {
    return http(listen_, "GET", "/tasks", {}, {{"Authorization", "Bearer " + token}}).status;
  }

  bool rotated() { return statusWith(kOldToken) == 401 && statusWith(kNewToken) == 200; }

  void hangUp() { ASSERT_EQ(::kill(app_->pid(), SIGHUP), 0); }

  bool logged(const std::string& text) { return app_->output().find(text) != std::string::npos; }

  void expectSameProcessStillServing() {
    EXPECT_TRUE(app_->running()) << app_->output();
    EXPECT_EQ(app_->pid(), pid_);
    EXPECT_EQ(http(listen_, "GET", "/readyz").status, 200);
  }

  TempDir dir_;
  std::string mount_ = [this] {
    fs::create_directories(dir_.file("secret"));
    return dir_.file("secret");
  }();
  std::string listen_ = "127.0.0.1:" + std::to_string(appliance::test::freePort());
  std::string config_;
  std::unique_ptr<ApplianceProcess> app_;
  int pid_ = -1;
};

}  // namespace

TEST_F(AuthReloadE2E, KubernetesSecretSwapRotatesTokensWithoutRestart) {
  start("1s");
  mountSecret("2026_02_01_00_00_00.2", kNewToken);
  fs::remove_all(mount_ + "/..2026_01_01_00_00_00.1");
  EXPECT_TRUE(eventually([this] { return rotated(); })) << app_->output();
  expectSameProcessStillServing();
  EXPECT_TRUE(logged("auth file reloaded")) << app_->output();
  EXPECT_FALSE(logged(kNewToken));
  EXPECT_EQ(app_->terminate(), 0) << app_->output();
}

// reload_interval is an hour: only SIGHUP can explain the switch.
TEST_F(AuthReloadE2E, SighupRereadsTheTokensFileAtOnce) {
  start("1h");
  mountSecret("2026_02_01_00_00_00.2", kNewToken);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(statusWith(kOldToken), 200);
  hangUp();
  EXPECT_TRUE(eventually([this] { return rotated(); }, std::chrono::seconds(5))) << app_->output();
  expectSameProcessStillServing();
  EXPECT_EQ(app_->terminate(), 0) << app_->output();
}

// task_api logs refused requests at debug level: after the reload they appear.
TEST_F(AuthReloadE2E, SighupAppliesTheNewLogLevel) {
  start("1h", "info");
  EXPECT_EQ(statusWith("wrong-token"), 401);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(logged("request refused: not authenticated"));

  appliance::test::writeConfig(dir_, config("1h", "debug"));
  hangUp();
  ASSERT_TRUE(
      eventually([this] { return logged(R"("log_level":"debug")"); }, std::chrono::seconds(5)))
      << app_->output();
  EXPECT_EQ(statusWith("wrong-token"), 401);
  EXPECT_TRUE(eventually([this] { return logged("request refused: not authenticated"); },
                         std::chrono::seconds(5)))
      << app_->output();
  expectSameProcessStillServing();
  EXPECT_EQ(app_->terminate(), 0) << app_->output();
}

TEST_F(AuthReloadE2E, SighupWithABrokenConfigKeepsRunningOnTheOldSettings) {
  start("1h");
  appliance::test::writeConfig(dir_, "http:\n  listen: [oops\n");
  hangUp();
  EXPECT_TRUE(eventually([this] { return logged("cannot reload the configuration"); },
                         std::chrono::seconds(5)))
      << app_->output();
  EXPECT_TRUE(logged(config_ + ":")) << app_->output();  // the error names the file
  expectSameProcessStillServing();
  EXPECT_EQ(statusWith(kOldToken), 200);
  hangUp();  // and again: still no harm
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  expectSameProcessStillServing();
  EXPECT_EQ(app_->terminate(), 0) << app_->output();
}
