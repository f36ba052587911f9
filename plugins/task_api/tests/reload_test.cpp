// Secret rotation without a restart, driven through FakeContext: the auth.reload_interval timer
// (fired by hand) and the host's reload hook (fake.reload(), as on SIGHUP).
#include <gtest/gtest.h>

#include <Poco/Crypto/RSAKey.h>
#include <Poco/JWT/Signer.h>
#include <Poco/JWT/Token.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "appliance/testing/fake_context.h"
#include "appliance/testing/in_memory_task_store.h"
#include "auth_reload.h"
#include "task_api.h"
#include "test_support.h"

namespace appliance::plugins::task_api {
namespace {

namespace fs = std::filesystem;
using testing::FakeContext;
using testing::InMemoryTaskStore;

constexpr const char* kTimer = "task_api.auth_reload";
constexpr const char* kOldToken = "old-token-0123456789abcdef";
constexpr const char* kNewToken = "new-token-0123456789abcdef";
constexpr const char* kSecretA = "secret-a-0123456789abcdef0123456789abcdef";
constexpr const char* kSecretB = "secret-b-0123456789abcdef0123456789abcdef";

// Writes `content` next to `path` and renames it over `path`, as rotation tools do.
void replaceFile(const std::string& path, const std::string& content) {
  const std::string temp = path + ".new";
  std::ofstream(temp, std::ios::binary) << content;
  fs::rename(temp, path);
}

std::string hs256Jwt(const std::string& secret) {
  Poco::JWT::Token token;
  token.setExpiration(Poco::Timestamp::fromEpochTime(1'700'000'000 + 600));  // the fake clock's
  return Poco::JWT::Signer(secret).sign(token, Poco::JWT::Signer::ALGO_HS256);
}

struct RsaKeys {
  Poco::SharedPtr<Poco::Crypto::RSAKey> key;
  std::string public_pem;
};

RsaKeys generateRsa() {
  RsaKeys keys;
  keys.key =
      new Poco::Crypto::RSAKey(Poco::Crypto::RSAKey::KL_2048, Poco::Crypto::RSAKey::EXP_LARGE);
  std::ostringstream pub;
  keys.key->save(&pub);
  keys.public_pem = pub.str();
  return keys;
}

std::string rs256Jwt(const RsaKeys& keys) {
  Poco::JWT::Token token;
  token.setExpiration(Poco::Timestamp::fromEpochTime(1'700'000'000 + 600));
  Poco::JWT::Signer signer(keys.key);
  signer.addAlgorithm(Poco::JWT::Signer::ALGO_RS256);
  return signer.sign(token, Poco::JWT::Signer::ALGO_RS256);
}

class AuthReloadTest : public ::testing::Test {
 protected:
  void start(const std::string& auth_yaml) {
    ctx_ = std::make_unique<FakeContext>("task_api");
    store_ = std::make_shared<InMemoryTaskStore>(&ctx_->manual_clock);
    ASSERT_TRUE(ctx_->services().provide<TaskStore>(store_).isOk());
    plugin_ = std::make_unique<TaskApiPlugin>();
    Status s =
        plugin_->configure(test::yamlNode("auth:\n" + auth_yaml + "docs: {enabled: false}\n"));
    ASSERT_TRUE(s.isOk()) << s.message();
    s = plugin_->init(*ctx_);
    ASSERT_TRUE(s.isOk()) << s.message();
    ASSERT_TRUE(plugin_->start().isOk());
  }

  // The status of GET /tasks with `token`.
  int statusWith(const std::string& token) {
    return ctx_->router.call("GET", "/tasks", {}, {{"Authorization", "Bearer " + token}}).status;
  }

  double reloads(const std::string& result) const {
    return ctx_->metricValue("appliance_task_api_auth_reloads_total", {{"result", result}})
        .value_or(-1);
  }

  // The fields of the last log line whose message contains `text`.
  std::map<std::string, std::string> lastLog(const std::string& text) const {
    std::map<std::string, std::string> fields;
    for (const auto& line : ctx_->log.lines()) {
      if (line.message.find(text) != std::string::npos) fields = line.fields;
    }
    return fields;
  }

  void TearDown() override {
    plugin_.reset();
    ctx_.reset();
  }

  test::TempDir dir_;
  std::unique_ptr<FakeContext> ctx_;
  std::shared_ptr<InMemoryTaskStore> store_;
  std::unique_ptr<TaskApiPlugin> plugin_;
};

TEST_F(AuthReloadTest, TokensFileRenamedOverTheOldOneIsPickedUpByTheTimer) {
  const std::string file = dir_.write("tokens", std::string(kOldToken) + "\n");
  start("  tokens: [list-token-0123456789abcdef]\n  tokens_file: " + file + "\n");
  EXPECT_EQ(statusWith(kOldToken), 200);

  replaceFile(file, std::string("# rotated\n") + kNewToken + "\nsecond-token-0123456789abc\n");
  EXPECT_EQ(statusWith(kNewToken), 401);  // nothing re-reads until the timer runs
  ASSERT_TRUE(ctx_->timers.fire(kTimer));
  EXPECT_EQ(statusWith(kOldToken), 401);
  EXPECT_EQ(statusWith(kNewToken), 200);
  EXPECT_EQ(statusWith("second-token-0123456789abc"), 200);
  EXPECT_EQ(statusWith("list-token-0123456789abcdef"), 200);  // auth.tokens stay

  EXPECT_EQ(reloads("ok"), 1);
  EXPECT_EQ(reloads("error"), 0);
  const auto logged = lastLog("auth file reloaded");
  EXPECT_EQ(logged.at("file"), file);
  EXPECT_EQ(logged.at("tokens"), "2");
  EXPECT_FALSE(ctx_->log.contains(kNewToken));
  EXPECT_FALSE(ctx_->log.contains(kOldToken));
}

TEST_F(AuthReloadTest, UnchangedFilesAreNotReRead) {
  const std::string file = dir_.write("tokens", std::string(kOldToken) + "\n");
  start("  tokens_file: " + file + "\n");
  ASSERT_TRUE(ctx_->timers.fire(kTimer));
  ASSERT_TRUE(ctx_->timers.fire(kTimer));
  EXPECT_EQ(reloads("ok"), 0);
  EXPECT_EQ(reloads("error"), 0);
  EXPECT_EQ(statusWith(kOldToken), 200);
}

// Kubernetes updates a mounted Secret by swapping the `..data` symlink to a new folder; the
// file's own path (tokens -> ..data/tokens) never changes.
TEST_F(AuthReloadTest, KubernetesSymlinkSwapIsPickedUpByTheTimer) {
  const std::string mount = dir_.path();
  fs::create_directory(mount + "/..2026_01_01_a");
  dir_.write("..2026_01_01_a/tokens", std::string(kOldToken) + "\n");
  fs::create_directory_symlink("..2026_01_01_a", mount + "/..data");
  fs::create_symlink("..data/tokens", mount + "/tokens");
  start("  tokens_file: " + mount + "/tokens\n");
  EXPECT_EQ(statusWith(kOldToken), 200);

  fs::create_directory(mount + "/..2026_02_01_b");
  dir_.write("..2026_02_01_b/tokens", std::string(kNewToken) + "\n");
  fs::create_directory_symlink("..2026_02_01_b", mount + "/..data_tmp");
  fs::rename(mount + "/..data_tmp", mount + "/..data");
  fs::remove_all(mount + "/..2026_01_01_a");

  ASSERT_TRUE(ctx_->timers.fire(kTimer));
  EXPECT_EQ(statusWith(kOldToken), 401);
  EXPECT_EQ(statusWith(kNewToken), 200);
  EXPECT_EQ(reloads("ok"), 1);
}

TEST_F(AuthReloadTest, InvalidNewFileKeepsThePreviousTokensUntilAValidOneArrives) {
  const std::string file = dir_.write("tokens", std::string(kOldToken) + "\n");
  start("  tokens_file: " + file + "\n");

  replaceFile(file, "# emptied by mistake\n\n");
  ASSERT_TRUE(ctx_->timers.fire(kTimer));
  EXPECT_EQ(statusWith(kOldToken), 200);  // nobody is locked out
  EXPECT_EQ(reloads("error"), 1);
  const auto logged = lastLog("cannot reload an auth file");
  EXPECT_EQ(logged.at("file"), file);
  EXPECT_NE(logged.at("error").find("task_api.auth.tokens_file: " + file + " holds no token"),
            std::string::npos)
      << logged.at("error");
  ASSERT_TRUE(ctx_->timers.fire(kTimer));
  EXPECT_EQ(reloads("error"), 1);  // one error per bad version, not one per check

  replaceFile(file, std::string("a-token with-space\n"));
  ASSERT_TRUE(ctx_->timers.fire(kTimer));
  EXPECT_EQ(reloads("error"), 2);
  EXPECT_NE(lastLog("cannot reload").at("error").find(":1: a token must not contain whitespace"),
            std::string::npos);
  EXPECT_FALSE(ctx_->log.contains("with-space"));

  fs::remove(file);
  ASSERT_TRUE(ctx_->timers.fire(kTimer));
  EXPECT_EQ(reloads("error"), 3);
  EXPECT_NE(lastLog("cannot reload").at("error").find("cannot open " + file), std::string::npos);
  EXPECT_EQ(statusWith(kOldToken), 200);

  dir_.write("tokens", std::string(kNewToken) + "\n");
  ASSERT_TRUE(ctx_->timers.fire(kTimer));
  EXPECT_EQ(reloads("ok"), 1);
  EXPECT_EQ(statusWith(kOldToken), 401);
  EXPECT_EQ(statusWith(kNewToken), 200);
}

// The stamp (inode, size, mtime) is unchanged, so only the host reload can explain the switch.
TEST_F(AuthReloadTest, HostReloadRereadsTheFilesAtOnce) {
  const std::string file = dir_.write("tokens", std::string(kOldToken) + "\n");
  start("  tokens_file: " + file + "\n");
  const auto mtime = fs::last_write_time(file);
  std::ofstream(file, std::ios::binary | std::ios::trunc) << kNewToken << "\n";  // same size
  fs::last_write_time(file, mtime);

  ASSERT_TRUE(ctx_->timers.fire(kTimer));
  EXPECT_EQ(statusWith(kNewToken), 401);
  ctx_->reload();
  EXPECT_EQ(statusWith(kOldToken), 401);
  EXPECT_EQ(statusWith(kNewToken), 200);
  EXPECT_EQ(lastLog("auth file reloaded").at("trigger"), "host_reload");
  EXPECT_EQ(reloads("ok"), 1);
}

TEST_F(AuthReloadTest, Hs256SecretFileRotates) {
  const std::string file = dir_.write("hs256", std::string(kSecretA) + "\n");
  start("  jwt:\n    hs256_secret_file: " + file + "\n");
  EXPECT_EQ(statusWith(hs256Jwt(kSecretA)), 200);

  replaceFile(file, std::string(kSecretB) + "\n");
  ASSERT_TRUE(ctx_->timers.fire(kTimer));
  EXPECT_EQ(statusWith(hs256Jwt(kSecretA)), 401);
  EXPECT_EQ(statusWith(hs256Jwt(kSecretB)), 200);
  EXPECT_EQ(reloads("ok"), 1);

  replaceFile(file, "too-short-secret\n");
  ASSERT_TRUE(ctx_->timers.fire(kTimer));
  EXPECT_EQ(statusWith(hs256Jwt(kSecretB)), 200);
  EXPECT_EQ(reloads("error"), 1);
  const std::string error = lastLog("cannot reload an auth file").at("error");
  EXPECT_NE(error.find("task_api.auth.jwt.hs256_secret_file: " + file + " holds 16 bytes"),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("at least 32 bytes"), std::string::npos);
  EXPECT_FALSE(ctx_->log.contains("too-short-secret"));
  EXPECT_FALSE(ctx_->log.contains(kSecretB));
}

TEST_F(AuthReloadTest, Rs256KeyFileRotatesAndABadPemKeepsTheOldKey) {
  static const RsaKeys first = generateRsa();
  static const RsaKeys second = generateRsa();
  const std::string file = dir_.write("jwt.pub.pem", first.public_pem);
  start("  jwt:\n    rs256_public_key_file: " + file + "\n");
  EXPECT_EQ(statusWith(rs256Jwt(first)), 200);

  replaceFile(file, "-----BEGIN PUBLIC KEY-----\nnot a key\n");
  ASSERT_TRUE(ctx_->timers.fire(kTimer));
  EXPECT_EQ(statusWith(rs256Jwt(first)), 200);
  EXPECT_EQ(reloads("error"), 1);
  EXPECT_NE(lastLog("cannot reload").at("error").find(file + " is not a PEM RSA public key"),
            std::string::npos);

  replaceFile(file, second.public_pem);
  ASSERT_TRUE(ctx_->timers.fire(kTimer));
  EXPECT_EQ(statusWith(rs256Jwt(first)), 401);
  EXPECT_EQ(statusWith(rs256Jwt(second)), 200);
  EXPECT_EQ(reloads("ok"), 1);
}

// One broken file does not hold back another file's rotation.
TEST_F(AuthReloadTest, EachFileKeepsItsLastGoodVersion) {
  const std::string tokens = dir_.write("tokens", std::string(kOldToken) + "\n");
  const std::string secret = dir_.write("hs256", std::string(kSecretA) + "\n");
  start("  tokens_file: " + tokens + "\n  jwt:\n    hs256_secret_file: " + secret + "\n");
  replaceFile(tokens, std::string(kNewToken) + "\n");
  replaceFile(secret, "\n");
  ctx_->reload();
  EXPECT_EQ(statusWith(kNewToken), 200);
  EXPECT_EQ(statusWith(kOldToken), 401);
  EXPECT_EQ(statusWith(hs256Jwt(kSecretA)), 200);
  EXPECT_EQ(reloads("ok"), 1);
  EXPECT_EQ(reloads("error"), 1);
  EXPECT_NE(lastLog("cannot reload").at("error").find(" holds 0 bytes"), std::string::npos);
}

// Requests keep being answered, with one set of credentials or the other, while the
// Authenticator is swapped under them (run under `make asan` to catch a use after free).
TEST_F(AuthReloadTest, RequestsDuringRotationSeeOldOrNewCredentials) {
  const std::string file = dir_.write("tokens", std::string(kOldToken) + "\n");
  start("  tokens_file: " + file + "\n");
  std::atomic<bool> done{false};
  std::atomic<int> unexpected{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 4; ++i) {
    clients.emplace_back([&] {
      while (!done.load()) {
        const int status = statusWith(kOldToken);
        if (status != 200 && status != 401) ++unexpected;
      }
    });
  }
  for (int i = 0; i < 50; ++i) {
    replaceFile(file, std::string(i % 2 ? kOldToken : kNewToken) + "\n");
    ctx_->reload();
  }
  done.store(true);
  for (auto& client : clients) client.join();
  EXPECT_EQ(unexpected.load(), 0);
  EXPECT_EQ(reloads("ok"), 50);
  EXPECT_EQ(statusWith(kOldToken), 200);  // the last version written lists it
}

TEST_F(AuthReloadTest, GeneratedTokensFileIsWatchedToo) {
  const std::string file = dir_.path() + "/api-token";
  start("  tokens_file: " + file + "\n  tokens_file_create: true\n");
  replaceFile(file, std::string(kNewToken) + "\n");
  ASSERT_TRUE(ctx_->timers.fire(kTimer));
  EXPECT_EQ(statusWith(kNewToken), 200);
}

TEST_F(AuthReloadTest, NothingIsWatchedWithoutSecretFiles) {
  start("  tokens: [list-token-0123456789abcdef]\n");
  for (const auto& name : ctx_->timers.names()) EXPECT_NE(name, kTimer);
  ctx_->reload();  // no hook registered: nothing happens
  EXPECT_EQ(reloads("ok"), 0);
}

TEST(AuthReloadConfig, ReloadIntervalDefaultsToTenSecondsAndIsBounded) {
  AuthSettings defaults;
  ConfigReader plain(test::yamlNode("tokens: [a-token-0123456789abcdef]\n"));
  readAuthSettings(plain, defaults);
  ASSERT_TRUE(plain.finish().isOk());
  EXPECT_EQ(defaults.reload_interval, std::chrono::seconds(10));

  AuthSettings set;
  ConfigReader given(test::yamlNode("tokens: [a-token-0123456789abcdef]\nreload_interval: 2s\n"));
  readAuthSettings(given, set);
  ASSERT_TRUE(given.finish().isOk());
  EXPECT_EQ(set.reload_interval, std::chrono::seconds(2));

  AuthSettings zero;
  ConfigReader bad(test::yamlNode("tokens: [a-token-0123456789abcdef]\nreload_interval: 0s\n"));
  readAuthSettings(bad, zero);
  const Status s = bad.finish();
  EXPECT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("reload_interval"), std::string::npos) << s.message();
}

TEST(FileStampTest, FollowsSymlinksAndSeesRenames) {
  test::TempDir dir;
  const std::string file = dir.write("a", "one\n");
  fs::create_symlink(file, dir.path() + "/link");
  const FileStamp before = FileStamp::of(dir.path() + "/link");
  EXPECT_EQ(before, FileStamp::of(file));
  EXPECT_EQ(before.error, 0);
  replaceFile(file, "two\n");
  EXPECT_NE(FileStamp::of(dir.path() + "/link"), before);
  EXPECT_EQ(FileStamp::of(dir.path() + "/missing").error, ENOENT);
}

}  // namespace
}  // namespace appliance::plugins::task_api
