#pragma once
// Where the Kubernetes API is and how to authenticate to it: in a pod (the service account's
// token, CA and namespace) or from a kubeconfig file (its current context). Resolved once at
// start-up with precise errors; the token file is re-read by KubeClient whenever it changes,
// because Kubernetes rotates projected service-account tokens.
//
// Secrets (tokens, client keys) never appear in describe() or in any error message.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "appliance/status.h"

namespace appliance::plugins::runner_scaler::kube {

// Files written for this access (a CA or client key decoded from kubeconfig *-data fields),
// removed when the last KubeAccess copy holding them goes away.
class OwnedFiles {
 public:
  OwnedFiles() = default;
  ~OwnedFiles();
  OwnedFiles(const OwnedFiles&) = delete;
  OwnedFiles& operator=(const OwnedFiles&) = delete;
  void add(std::string path) { paths_.push_back(std::move(path)); }

 private:
  std::vector<std::string> paths_;
};

struct KubeAccess {
  std::string server;            // "https://10.96.0.1:443"
  std::string ca_file;           // PEM; "" = the system store
  bool verify_tls = true;        // kubeconfig insecure-skip-tls-verify: true turns it off
  std::string token;             // a fixed bearer token (kubeconfig user.token)
  std::string token_file;        // a bearer token re-read when it changes
  std::string client_cert_file;  // mutual TLS (kubeconfig client-certificate[-data])
  std::string client_key_file;
  std::string default_namespace = "default";
  std::string source;  // for logs: "in-cluster" or "kubeconfig /path (context ctx)"
  std::shared_ptr<OwnedFiles> owned_files;

  std::string describe() const { return server + " (" + source + ")"; }
};

struct InClusterOptions {
  // Where the service account is mounted (tests point it elsewhere).
  std::string service_account_dir = "/var/run/secrets/kubernetes.io/serviceaccount";
  // Reads an environment variable; default ::getenv.
  std::function<std::optional<std::string>(const std::string&)> getenv;
};

// KUBERNETES_SERVICE_HOST/_PORT, <dir>/token, <dir>/ca.crt, <dir>/namespace.
// kFailedPrecondition when not in a pod or a file is missing, naming what and where.
Result<KubeAccess> inClusterAccess(const InClusterOptions& options = {});

// The kubeconfig's current context (or `context` when not empty): its cluster's server and CA
// (certificate-authority file or certificate-authority-data), its user's token, tokenFile or
// client certificate and key (files or *-data). *-data values are decoded into 0600 files
// under <data_dir>/kubernetes/. Relative paths are taken from the kubeconfig's folder.
// kInvalidArgument for a malformed file: "kubeconfig <path>: users[0] (admin): ...".
Result<KubeAccess> kubeconfigAccess(const std::string& path, const std::string& data_dir,
                                    const std::string& context = {});

}  // namespace appliance::plugins::runner_scaler::kube
