#pragma once
// Test harness for whole-binary tests: temp folders, free ports, running the real appliance
// binary (or any command) and talking HTTP to it. Everything binds 127.0.0.1.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace appliance::test {

// A temp folder removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  std::string write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

int freePort();

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
// Runs a command to completion (argv[0] is the program), with extra environment variables.
CommandResult runCommand(const std::vector<std::string>& argv,
                         const std::map<std::string, std::string>& env = {},
                         std::chrono::seconds timeout = std::chrono::seconds(60));

struct HttpResult {
  int status = 0;  // 0: no response (connection refused, reset, timeout)
  std::string body;
  std::map<std::string, std::string> headers;  // lower-cased names
  std::string error;
  std::string header(const std::string& lower_name) const;
};

// One HTTP/1.1 request on a new connection (or `keep_alive` pooled per thread).
HttpResult http(const std::string& host_port, const std::string& method, const std::string& target,
                const std::string& body = {},
                const std::map<std::string, std::string>& headers = {},
                std::chrono::milliseconds timeout = std::chrono::seconds(10));

// A running appliance process, stopped (SIGTERM, then SIGKILL) on destruction. Its stdout and
// stderr go to files in `dir`.
class ApplianceProcess {
 public:
  ApplianceProcess(std::vector<std::string> args, const std::string& dir,
                   std::map<std::string, std::string> env = {});
  ~ApplianceProcess();

  // Polls GET /readyz on `host_port` until 200 or the process exits or `timeout` passes.
  bool waitReady(const std::string& host_port,
                 std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // Sends SIGTERM and waits for the exit code (-1 on timeout).
  int terminate(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  bool running();
  int pid() const { return pid_; }
  std::string output() const;  // stdout + stderr so far

 private:
  int pid_ = -1;
  int exit_code_ = -1;
  std::string out_file_, err_file_;
};

// The built binary and source tree (compile definitions of the test targets).
std::string applianceBinary();
std::string sourceDir();

// Writes a config YAML into `dir` and returns its path.
std::string writeConfig(const TempDir& dir, const std::string& yaml,
                        const std::string& name = "test.yaml");

}  // namespace appliance::test
