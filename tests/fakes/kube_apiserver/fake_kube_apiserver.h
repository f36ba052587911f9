#pragma once
// FakeKubeApiServer: starts fake_kube_apiserver.py (this folder) for a test and talks to its
// /_fake/ control endpoints. At construction it makes a throwaway CA and a server certificate
// for 127.0.0.1 and localhost with the openssl command, writes a bearer token file, starts the
// server on a free port of 127.0.0.1 and waits until it listens. The destructor stops it
// (SIGTERM, then SIGKILL) and removes its folder.
//
// Link target: fake_kube_apiserver (Poco NetSSL for the control calls).

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace appliance::test {

class FakeKubeApiServer {
 public:
  FakeKubeApiServer();
  ~FakeKubeApiServer();
  FakeKubeApiServer(const FakeKubeApiServer&) = delete;
  FakeKubeApiServer& operator=(const FakeKubeApiServer&) = delete;

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }  // why it did not start

  int port() const { return port_; }
  std::string url(const std::string& host = "127.0.0.1") const;  // https://host:port
  const std::string& dir() const { return dir_; }
  std::string caFile() const { return dir_ + "/ca.pem"; }
  std::string tokenFile() const { return dir_ + "/token"; }  // what the server accepts
  const std::string& token() const { return token_; }

  // The server accepts only `token` from now on (the file is replaced atomically).
  void rotateToken(const std::string& token);
  // A client certificate signed by the test CA: {cert file, key file}.
  std::pair<std::string, std::string> clientCertificate(const std::string& common_name);

  // One control request; returns the HTTP status, the body in `body` when given.
  int control(const std::string& method, const std::string& path, const std::string& json = {},
              std::string* body = nullptr);
  void dropWatches() { control("POST", "/_fake/watches/drop"); }
  void compact() { control("POST", "/_fake/compact"); }
  // The next `count` API requests (matching method and path substring when given) get `status`.
  void failNext(int status, int count, const std::string& retry_after = {},
                const std::string& method = {}, const std::string& path_contains = {});

  struct SeenRequest {
    std::string method, path, query, auth;
    int status = 0;
  };
  std::vector<SeenRequest> requests();
  void clearRequests() { control("DELETE", "/_fake/requests"); }
  std::string output() const;  // the server's stdout and stderr

 private:
  std::string error_;
  std::string dir_;
  std::string token_;
  int pid_ = -1;
  int port_ = 0;
};

}  // namespace appliance::test
