#include "fake_kube_apiserver.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/StreamCopier.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

extern char** environ;

namespace appliance::test {
namespace {

namespace fs = std::filesystem;

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

bool run(const std::string& command) { return std::system(command.c_str()) == 0; }

int waitExit(int pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) return 0;
    if (std::chrono::steady_clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

FakeKubeApiServer::FakeKubeApiServer() {
  char pattern[] = "/tmp/fake-kube-XXXXXX";
  if (!::mkdtemp(pattern)) {
    error_ = "mkdtemp failed";
    return;
  }
  dir_ = pattern;
  const std::string certs =
      "cd " + dir_ +
      " && openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=fake-kube-ca "
      "-keyout ca.key -out ca.pem 2>/dev/null"
      " && openssl req -newkey rsa:2048 -nodes -subj /CN=kube-apiserver -keyout server.key "
      "-out server.csr 2>/dev/null"
      " && printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > san.ext"
      " && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 "
      "-extfile san.ext -out server.pem 2>/dev/null";
  if (!run(certs)) {
    error_ = "the openssl command failed to make test certificates";
    return;
  }
  rotateToken("initial-token-" + std::to_string(::getpid()));
  const std::string port_file = dir_ + "/port";
  std::vector<std::string> args = {FAKE_KUBE_PYTHON, FAKE_KUBE_APISERVER_SCRIPT,
                                   "--cert",         dir_ + "/server.pem",
                                   "--key",          dir_ + "/server.key",
                                   "--ca",           dir_ + "/ca.pem",
                                   "--token-file",   tokenFile(),
                                   "--port-file",    port_file};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, (dir_ + "/server.out").c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, (dir_ + "/server.err").c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  const int rc = ::posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    pid_ = -1;
    error_ = std::string("cannot start ") + FAKE_KUBE_PYTHON;
    return;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string text = readFile(port_file);
    if (!text.empty()) {
      port_ = std::atoi(text.c_str());
      break;
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      error_ = "the fake API server exited: " + output();
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (port_ == 0) error_ = "the fake API server did not start within 20 s: " + output();
}

FakeKubeApiServer::~FakeKubeApiServer() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    if (waitExit(pid_, std::chrono::seconds(5)) != 0) {
      ::kill(pid_, SIGKILL);
      waitExit(pid_, std::chrono::seconds(5));
    }
  }
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

std::string FakeKubeApiServer::url(const std::string& host) const {
  return "https://" + host + ":" + std::to_string(port_);
}

std::string FakeKubeApiServer::output() const {
  return readFile(dir_ + "/server.out") + readFile(dir_ + "/server.err");
}

void FakeKubeApiServer::rotateToken(const std::string& token) {
  token_ = token;
  const std::string tmp = tokenFile() + ".tmp";
  std::ofstream(tmp) << token << "\n";
  fs::rename(tmp, tokenFile());
}

std::pair<std::string, std::string> FakeKubeApiServer::clientCertificate(
    const std::string& common_name) {
  const std::string base = dir_ + "/client-" + common_name;
  run("cd " + dir_ + " && openssl req -newkey rsa:2048 -nodes -subj /CN=" + common_name +
      " -keyout " + base + ".key -out " + base + ".csr 2>/dev/null && openssl x509 -req -in " +
      base + ".csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -out " + base +
      ".pem 2>/dev/null");
  return {base + ".pem", base + ".key"};
}

int FakeKubeApiServer::control(const std::string& method, const std::string& path,
                               const std::string& json, std::string* body) {
  static std::once_flag ssl_once;
  std::call_once(ssl_once, [] { Poco::Net::initializeSSL(); });
  Poco::Net::Context::Ptr context = new Poco::Net::Context(
      Poco::Net::Context::TLS_CLIENT_USE, "", "", caFile(), Poco::Net::Context::VERIFY_RELAXED);
  context->enableExtendedCertificateVerification(false);  // the chain is checked, not the name
  Poco::Net::HTTPSClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port_), context);
  session.setTimeout(Poco::Timespan(10, 0));
  Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
  request.setContentType("application/json");
  request.setContentLength(static_cast<std::streamsize>(json.size()));
  session.sendRequest(request) << json;
  Poco::Net::HTTPResponse response;
  std::istream& in = session.receiveResponse(response);
  std::string text;
  Poco::StreamCopier::copyToString(in, text);
  if (body) *body = text;
  return static_cast<int>(response.getStatus());
}

void FakeKubeApiServer::failNext(int status, int count, const std::string& retry_after,
                                 const std::string& method, const std::string& path_contains) {
  Poco::JSON::Object rule;
  rule.set("status", status);
  rule.set("count", count);
  if (!retry_after.empty()) rule.set("retry_after", retry_after);
  if (!method.empty()) rule.set("method", method);
  if (!path_contains.empty()) rule.set("path_contains", path_contains);
  std::ostringstream out;
  rule.stringify(out);
  control("POST", "/_fake/fail", out.str());
}

std::vector<FakeKubeApiServer::SeenRequest> FakeKubeApiServer::requests() {
  std::string body;
  control("GET", "/_fake/requests", {}, &body);
  std::vector<SeenRequest> out;
  Poco::JSON::Parser parser;
  auto root = parser.parse(body).extract<Poco::JSON::Object::Ptr>();
  auto list = root->getArray("requests");
  for (std::size_t i = 0; i < list->size(); ++i) {
    auto r = list->getObject(static_cast<unsigned>(i));
    out.push_back({r->getValue<std::string>("method"), r->getValue<std::string>("path"),
                   r->getValue<std::string>("query"), r->getValue<std::string>("auth"),
                   r->getValue<int>("status")});
  }
  return out;
}

}  // namespace appliance::test
