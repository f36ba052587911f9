// In-cluster and kubeconfig access: what is read, from where, and the errors for bad input.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "kube_access.h"

namespace appliance::plugins::runner_scaler::kube {
namespace {

namespace fs = std::filesystem;

const char* kPem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
// base64 of kPem
std::string base64(const std::string& text) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < text.size(); i += 3) {
    const unsigned n = (static_cast<unsigned char>(text[i]) << 16) |
                       (static_cast<unsigned char>(text[i + 1]) << 8) |
                       static_cast<unsigned char>(text[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += alphabet[(n >> s) & 63];
  }
  if (i < text.size()) {
    unsigned n = static_cast<unsigned char>(text[i]) << 16;
    if (i + 1 < text.size()) n |= static_cast<unsigned char>(text[i + 1]) << 8;
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += i + 1 < text.size() ? alphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

class KubeAccessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("kube-access-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    const auto path = dir_ / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
    return path.string();
  }
  fs::path dir_;
};

TEST_F(KubeAccessTest, InClusterReadsTheServiceAccountAndTheServiceAddress) {
  write("sa/token", "secret-token\n");
  write("sa/ca.crt", kPem);
  write("sa/namespace", "ci-runners\n");
  std::map<std::string, std::string> env{{"KUBERNETES_SERVICE_HOST", "10.96.0.1"},
                                         {"KUBERNETES_SERVICE_PORT", "443"}};
  InClusterOptions options;
  options.service_account_dir = (dir_ / "sa").string();
  options.getenv = [&](const std::string& name) -> std::optional<std::string> {
    auto it = env.find(name);
    return it == env.end() ? std::nullopt : std::optional(it->second);
  };
  auto access = inClusterAccess(options);
  ASSERT_TRUE(access) << access.status().message();
  EXPECT_EQ(access->server, "https://10.96.0.1:443");
  EXPECT_EQ(access->token_file, (dir_ / "sa/token").string());
  EXPECT_EQ(access->ca_file, (dir_ / "sa/ca.crt").string());
  EXPECT_EQ(access->default_namespace, "ci-runners");
  EXPECT_TRUE(access->token.empty());  // read by the client, not held here
  EXPECT_EQ(access->describe().find("secret-token"), std::string::npos);

  env["KUBERNETES_SERVICE_HOST"] = "fd00::1";
  EXPECT_EQ(inClusterAccess(options)->server, "https://[fd00::1]:443");
}

TEST_F(KubeAccessTest, InClusterSaysWhatIsMissing) {
  InClusterOptions options;
  options.service_account_dir = (dir_ / "sa").string();
  options.getenv = [](const std::string&) { return std::optional<std::string>(); };
  auto outside = inClusterAccess(options);
  ASSERT_FALSE(outside);
  EXPECT_EQ(outside.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(outside.status().message().find("KUBERNETES_SERVICE_HOST"), std::string::npos);
  EXPECT_NE(outside.status().message().find("kubernetes.kubeconfig"), std::string::npos);

  options.getenv = [](const std::string&) { return std::optional<std::string>("1"); };
  auto no_token = inClusterAccess(options);
  ASSERT_FALSE(no_token);
  EXPECT_NE(no_token.status().message().find((dir_ / "sa/token").string()), std::string::npos);
}

TEST_F(KubeAccessTest, KubeconfigCurrentContextWithTokenAndCaFile) {
  write("certs/ca.pem", kPem);
  const std::string path = write("kube/config", R"(apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: other
  cluster: {server: "https://other:6443"}
- name: dev-cluster
  cluster:
    server: https://127.0.0.1:6443/
    certificate-authority: ../certs/ca.pem
contexts:
- name: dev
  context: {cluster: dev-cluster, user: dev-user, namespace: runners}
users:
- name: dev-user
  user: {token: abc.def}
)");
  auto access = kubeconfigAccess(path, (dir_ / "data").string());
  ASSERT_TRUE(access) << access.status().message();
  EXPECT_EQ(access->server, "https://127.0.0.1:6443");
  EXPECT_EQ(fs::path(access->ca_file), (dir_ / "certs/ca.pem").lexically_normal());
  EXPECT_EQ(access->token, "abc.def");
  EXPECT_EQ(access->default_namespace, "runners");
  EXPECT_NE(access->source.find("context dev"), std::string::npos);
  EXPECT_EQ(access->describe().find("abc.def"), std::string::npos);
}

TEST_F(KubeAccessTest, KubeconfigDataFieldsBecomePrivateFilesRemovedWithTheAccess) {
  const std::string path = write("config", R"(current-context: c
clusters:
- name: k
  cluster: {server: "https://k:443", certificate-authority-data: )" +
                                               base64(kPem) + R"(}
contexts:
- name: c
  context: {cluster: k, user: u}
users:
- name: u
  user: {client-certificate-data: )" + base64(kPem) +
                                               ", client-key-data: " +
                                               base64("-----BEGIN PRIVATE KEY-----\nx\n") +
                                               R"(}
)");
  std::string ca, key;
  {
    auto access = kubeconfigAccess(path, (dir_ / "data").string());
    ASSERT_TRUE(access) << access.status().message();
    ca = access->ca_file;
    key = access->client_key_file;
    EXPECT_TRUE(ca.starts_with((dir_ / "data/kubernetes").string())) << ca;
    std::ifstream in(ca);
    std::string first;
    std::getline(in, first);
    EXPECT_EQ(first, "-----BEGIN CERTIFICATE-----");
    struct stat st {};
    ASSERT_EQ(::stat(key.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(access->default_namespace, "default");
  }
  EXPECT_FALSE(fs::exists(ca));
  EXPECT_FALSE(fs::exists(key));
}

TEST_F(KubeAccessTest, KubeconfigErrorsNameTheFileTheEntryAndTheFix) {
  auto expectError = [&](const std::string& yaml, const std::string& fragment) {
    const std::string path = write("bad", yaml);
    auto access = kubeconfigAccess(path, (dir_ / "data").string());
    ASSERT_FALSE(access) << yaml;
    EXPECT_EQ(access.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(access.status().message().find("kubeconfig " + path), std::string::npos)
        << access.status().message();
    EXPECT_NE(access.status().message().find(fragment), std::string::npos)
        << access.status().message();
  };
  const std::string base = R"(current-context: c
clusters: [{name: k, cluster: {server: "https://k"}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
)";
  expectError(base + "users: [{name: u, user: {exec: {command: aws}}}]\n",
              "users[0] (u): exec is not supported");
  expectError(base + "users: [{name: u, user: {}}]\n", "no credentials");
  expectError(base + "users: [{name: someone-else, user: {token: t}}]\n",
              "users: no entry named 'u'");
  expectError(base + "users: [{name: u, user: {client-certificate-data: '!!!'," +
                  " client-key-data: '!!!'}}]\n",
              "client-certificate-data");
  expectError(base + "users: [{name: u, user: {tokenFile: /nonexistent/token}}]\n",
              "tokenFile '/nonexistent/token' cannot be read");
  expectError("clusters: [}\n", "kubeconfig");
  expectError("clusters: []\n", "current-context: is not set");
  expectError(R"(current-context: c
clusters: [{name: k, cluster: {server: "https://k", tls-server-name: x}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
users: [{name: u, user: {token: t}}]
)",
              "clusters[0] (k): tls-server-name is not supported");
  auto missing = kubeconfigAccess((dir_ / "absent").string(), dir_.string());
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.status().message().find("cannot be read"), std::string::npos);
}

TEST_F(KubeAccessTest, AnExplicitContextWinsOverTheCurrentOne) {
  const std::string path = write("config", R"(current-context: a
clusters: [{name: k, cluster: {server: "https://k"}}, {name: l, cluster: {server: "https://l"}}]
contexts:
- {name: a, context: {cluster: k, user: u}}
- {name: b, context: {cluster: l, user: u}}
users: [{name: u, user: {token: t}}]
)");
  auto access = kubeconfigAccess(path, dir_.string(), "b");
  ASSERT_TRUE(access) << access.status().message();
  EXPECT_EQ(access->server, "https://l");
}

}  // namespace
}  // namespace appliance::plugins::runner_scaler::kube
