#include "harness/harness.h"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace appliance::test {
namespace fs = std::filesystem;

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "appliance-test-XXXXXX").string();
  char* made = ::mkdtemp(tmpl.data());
  path_ = made ? made : "";
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!path_.empty()) fs::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& name, const std::string& content) const {
  const std::string p = file(name);
  fs::create_directories(fs::path(p).parent_path());
  std::ofstream(p) << content;
  return p;
}

int freePort() {
  Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
  return socket.address().port();
}

namespace {

std::vector<std::string> mergedEnvironment(const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> all;
  for (char** e = environ; e && *e; ++e) {
    std::string kv(*e);
    const auto eq = kv.find('=');
    if (eq != std::string::npos) all[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : extra) all[k] = v;
  std::vector<std::string> out;
  for (const auto& [k, v] : all) out.push_back(k + "=" + v);
  return out;
}

int spawn(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
          const std::string& out_file, const std::string& err_file) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_addopen(&actions, 2, err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const auto env_strings = mergedEnvironment(env);
  std::vector<char*> envp;
  for (const auto& e : env_strings) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Waits for `pid`; returns its exit code (128+signal when killed) or -1 on timeout.
int waitFor(int pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (r < 0) return -1;
    if (std::chrono::steady_clock::now() > deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace

CommandResult runCommand(const std::vector<std::string>& argv,
                         const std::map<std::string, std::string>& env,
                         std::chrono::seconds timeout) {
  TempDir dir;
  CommandResult result;
  const int pid = spawn(argv, env, dir.file("out"), dir.file("err"));
  if (pid < 0) {
    result.err = "cannot start " + argv.at(0);
    return result;
  }
  result.exit_code = waitFor(pid, timeout);
  if (result.exit_code == -1) {
    ::kill(pid, SIGKILL);
    waitFor(pid, std::chrono::seconds(5));
  }
  result.out = readFile(dir.file("out"));
  result.err = readFile(dir.file("err"));
  return result;
}

std::string HttpResult::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

HttpResult http(const std::string& host_port, const std::string& method, const std::string& target,
                const std::string& body, const std::map<std::string, std::string>& headers,
                std::chrono::milliseconds timeout) {
  HttpResult result;
  try {
    Poco::Net::SocketAddress address(host_port);
    Poco::Net::HTTPClientSession session(address);
    session.setTimeout(Poco::Timespan(timeout.count() * 1000));
    Poco::Net::HTTPRequest request(method, target, Poco::Net::HTTPMessage::HTTP_1_1);
    for (const auto& [k, v] : headers) request.set(k, v);
    if (!body.empty() || method == "POST" || method == "PUT") {
      request.setContentLength64(static_cast<Poco::Int64>(body.size()));
      if (!request.has("Content-Type")) request.setContentType("application/json");
    }
    std::ostream& out = session.sendRequest(request);
    out.write(body.data(), static_cast<std::streamsize>(body.size()));
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    result.status = response.getStatus();
    for (const auto& [k, v] : response) {
      std::string lower = k;
      std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
      result.headers[lower] = v;
    }
    Poco::StreamCopier::copyToString(in, result.body);
  } catch (const Poco::Exception& e) {
    result.status = 0;
    result.error = e.displayText();
  } catch (const std::exception& e) {
    result.status = 0;
    result.error = e.what();
  }
  return result;
}

ApplianceProcess::ApplianceProcess(std::vector<std::string> args, const std::string& dir,
                                   std::map<std::string, std::string> env) {
  out_file_ = dir + "/appliance.out";
  err_file_ = dir + "/appliance.err";
  args.insert(args.begin(), applianceBinary());
  env.emplace("APPLIANCE__LOG__FORMAT", "json");
  pid_ = spawn(args, env, out_file_, err_file_);
}

ApplianceProcess::~ApplianceProcess() {
  if (pid_ > 0 && exit_code_ == -1) {
    ::kill(pid_, SIGTERM);
    if (waitFor(pid_, std::chrono::seconds(15)) == -1) {
      ::kill(pid_, SIGKILL);
      waitFor(pid_, std::chrono::seconds(5));
    }
  }
}

bool ApplianceProcess::running() {
  if (pid_ <= 0 || exit_code_ != -1) return false;
  const int code = waitFor(pid_, std::chrono::milliseconds(0));
  if (code != -1) {
    exit_code_ = code;
    return false;
  }
  return true;
}

bool ApplianceProcess::waitReady(const std::string& host_port, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!running()) return false;
    if (http(host_port, "GET", "/readyz", {}, {}, std::chrono::seconds(1)).status == 200)
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return false;
}

int ApplianceProcess::terminate(std::chrono::milliseconds timeout) {
  if (exit_code_ != -1) return exit_code_;
  ::kill(pid_, SIGTERM);
  exit_code_ = waitFor(pid_, timeout);
  return exit_code_;
}

std::string ApplianceProcess::output() const { return readFile(out_file_) + readFile(err_file_); }

std::string applianceBinary() { return APPLIANCE_BINARY; }
std::string sourceDir() { return APPLIANCE_SOURCE_DIR; }

std::string writeConfig(const TempDir& dir, const std::string& yaml, const std::string& name) {
  return dir.write(name, yaml);
}

}  // namespace appliance::test
