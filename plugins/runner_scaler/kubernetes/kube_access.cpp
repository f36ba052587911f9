#include "kube_access.h"

#include <Poco/Base64Decoder.h>
#include <Poco/Exception.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace appliance::plugins::runner_scaler::kube {
namespace {

namespace fs = std::filesystem;

std::optional<std::string> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string trim(std::string text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

std::string hostForUrl(const std::string& host) {
  return host.find(':') != std::string::npos && host.front() != '[' ? "[" + host + "]" : host;
}

// Errors about one kubeconfig: "kubeconfig <path>: <where>: <what>".
struct KubeconfigReader {
  std::string path;
  std::string dir;
  std::string data_dir;
  std::shared_ptr<OwnedFiles> owned = std::make_shared<OwnedFiles>();

  Status fail(const std::string& where, const std::string& what) const {
    return Status::invalid("kubeconfig " + path + ": " + where + ": " + what);
  }

  std::string resolve(const std::string& file) const {
    if (file.empty() || fs::path(file).is_absolute()) return file;
    return (fs::path(dir) / file).lexically_normal().string();
  }

  // A named entry of a list (clusters, contexts, users) and the index it was found at.
  Result<std::pair<YAML::Node, std::string>> find(const YAML::Node& root, const char* list,
                                                  const char* inner, const std::string& name) {
    const YAML::Node entries = root[list];
    if (entries && !entries.IsSequence()) return fail(list, "must be a list");
    if (entries) {
      for (std::size_t i = 0; i < entries.size(); ++i) {
        const YAML::Node entry = entries[i];
        if (entry.IsMap() && entry["name"] && entry["name"].as<std::string>() == name) {
          const std::string where =
              std::string(list) + "[" + std::to_string(i) + "] (" + name + ")";
          if (!entry[inner] || !entry[inner].IsMap()) {
            return fail(where, std::string("has no '") + inner + "' map");
          }
          return std::pair{entry[inner], where};
        }
      }
    }
    return fail(list, "no entry named '" + name + "'");
  }

  // A *-data field decoded into a 0600 file under <data_dir>/kubernetes/.
  Result<std::string> writeData(const std::string& where, const std::string& field,
                                const std::string& base64, bool must_be_pem) {
    std::string decoded;
    try {
      std::istringstream in(base64);
      Poco::Base64Decoder decoder(in);
      std::ostringstream out;
      out << decoder.rdbuf();
      decoded = out.str();
    } catch (const Poco::Exception&) {
      return fail(where, field + " is not valid base64");
    }
    if (decoded.empty() || (must_be_pem && decoded.find("-----BEGIN") == std::string::npos)) {
      return fail(where, field + " does not decode to PEM data");
    }
    std::error_code ec;
    const fs::path folder = fs::path(data_dir) / "kubernetes";
    fs::create_directories(folder, ec);
    if (ec) {
      return fail(where, "cannot create " + folder.string() + " for " + field + ": " +
                             ec.message() + " (check data.dir)");
    }
    fs::permissions(folder, fs::perms::owner_all, fs::perm_options::replace, ec);
    std::string file = (folder / (field + "-XXXXXX")).string();
    const int fd = ::mkstemp(file.data());  // created 0600
    if (fd < 0) return fail(where, "cannot create a file under " + folder.string());
    owned->add(file);
    const bool ok =
        ::write(fd, decoded.data(), decoded.size()) == static_cast<ssize_t>(decoded.size());
    ::close(fd);
    if (!ok) return fail(where, "cannot write " + file);
    return file;
  }

  // `file_key` (a path) or `data_key` (base64 contents); "" when neither is set.
  Result<std::string> fileOrData(const YAML::Node& node, const std::string& where,
                                 const char* file_key, const char* data_key, bool pem) {
    if (node[data_key]) return writeData(where, data_key, node[data_key].as<std::string>(), pem);
    if (!node[file_key]) return std::string();
    const std::string file = resolve(node[file_key].as<std::string>());
    if (!readFile(file))
      return fail(where, std::string(file_key) + " '" + file + "' cannot be read");
    return file;
  }

  Status readCluster(const YAML::Node& cluster, const std::string& where, KubeAccess& access) {
    for (const char* unsupported : {"tls-server-name", "proxy-url"}) {
      if (cluster[unsupported]) return fail(where, std::string(unsupported) + " is not supported");
    }
    if (!cluster["server"]) return fail(where, "server is required");
    access.server = cluster["server"].as<std::string>();
    while (!access.server.empty() && access.server.back() == '/') access.server.pop_back();
    if (!access.server.starts_with("https://") && !access.server.starts_with("http://")) {
      return fail(where, "server '" + access.server + "' must be an https:// URL");
    }
    auto ca =
        fileOrData(cluster, where, "certificate-authority", "certificate-authority-data", true);
    if (!ca) return ca.status();
    access.ca_file = ca.value();
    if (cluster["insecure-skip-tls-verify"] && cluster["insecure-skip-tls-verify"].as<bool>()) {
      access.verify_tls = false;
    }
    return Status::ok();
  }

  Status readUser(const YAML::Node& user, const std::string& where, KubeAccess& access) {
    for (const char* unsupported : {"exec", "auth-provider", "username", "password", "as"}) {
      if (user[unsupported]) {
        return fail(where, std::string(unsupported) +
                               " is not supported; use token, tokenFile or a client certificate");
      }
    }
    if (user["token"]) access.token = user["token"].as<std::string>();
    if (user["tokenFile"]) {
      access.token_file = resolve(user["tokenFile"].as<std::string>());
      if (!readFile(access.token_file)) {
        return fail(where, "tokenFile '" + access.token_file + "' cannot be read");
      }
    }
    auto cert = fileOrData(user, where, "client-certificate", "client-certificate-data", true);
    if (!cert) return cert.status();
    auto key = fileOrData(user, where, "client-key", "client-key-data", true);
    if (!key) return key.status();
    access.client_cert_file = cert.value();
    access.client_key_file = key.value();
    if (access.client_cert_file.empty() != access.client_key_file.empty()) {
      return fail(where, "a client certificate needs its key (client-key or client-key-data)");
    }
    if (access.token.empty() && access.token_file.empty() && access.client_cert_file.empty()) {
      return fail(where, "no credentials: set token, tokenFile or client-certificate and key");
    }
    return Status::ok();
  }
};

}  // namespace

OwnedFiles::~OwnedFiles() {
  for (const auto& path : paths_) ::unlink(path.c_str());
}

Result<KubeAccess> inClusterAccess(const InClusterOptions& options) {
  auto env = options.getenv ? options.getenv : [](const std::string& name) {
    const char* value = std::getenv(name.c_str());
    return value && *value ? std::optional<std::string>(value) : std::nullopt;
  };
  const auto host = env("KUBERNETES_SERVICE_HOST");
  const auto port = env("KUBERNETES_SERVICE_PORT");
  if (!host || !port) {
    return Status::failedPrecondition(
        "kubernetes: not running in a pod (KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT "
        "are unset); set kubernetes.kubeconfig to reach a cluster from outside");
  }
  KubeAccess access;
  access.server = "https://" + hostForUrl(*host) + ":" + *port;
  const fs::path dir(options.service_account_dir);
  access.token_file = (dir / "token").string();
  access.ca_file = (dir / "ca.crt").string();
  for (const auto& file : {access.token_file, access.ca_file}) {
    if (!readFile(file)) {
      return Status::failedPrecondition(
          "kubernetes: service account file " + file +
          " cannot be read (is automountServiceAccountToken off for this pod?)");
    }
  }
  if (auto ns = readFile((dir / "namespace").string())) {
    if (!trim(*ns).empty()) access.default_namespace = trim(*ns);
  }
  access.source = "in-cluster";
  return access;
}

Result<KubeAccess> kubeconfigAccess(const std::string& path, const std::string& data_dir,
                                    const std::string& context) {
  KubeconfigReader reader;
  reader.path = path;
  reader.dir = fs::path(path).parent_path().string();
  reader.data_dir = data_dir;
  try {
    const YAML::Node root = YAML::LoadFile(path);
    if (!root.IsMap()) return reader.fail("top level", "must be a map");
    std::string context_name = context;
    if (context_name.empty() && root["current-context"]) {
      context_name = root["current-context"].as<std::string>();
    }
    if (context_name.empty()) {
      return reader.fail("current-context", "is not set (name a context with kubernetes.context)");
    }
    auto ctx = reader.find(root, "contexts", "context", context_name);
    if (!ctx) return ctx.status();
    const YAML::Node& c = ctx->first;
    if (!c["cluster"]) return reader.fail(ctx->second, "cluster is required");
    KubeAccess access;
    auto cluster = reader.find(root, "clusters", "cluster", c["cluster"].as<std::string>());
    if (!cluster) return cluster.status();
    if (auto s = reader.readCluster(cluster->first, cluster->second, access); !s) return s;
    if (!c["user"]) return reader.fail(ctx->second, "user is required");
    auto user = reader.find(root, "users", "user", c["user"].as<std::string>());
    if (!user) return user.status();
    if (auto s = reader.readUser(user->first, user->second, access); !s) return s;
    if (c["namespace"]) access.default_namespace = c["namespace"].as<std::string>();
    access.source = "kubeconfig " + path + " (context " + context_name + ")";
    access.owned_files = reader.owned;
    return access;
  } catch (const YAML::BadFile&) {
    return Status::invalid("kubeconfig " + path + ": cannot be read");
  } catch (const YAML::Exception& e) {
    return Status::invalid("kubeconfig " + path + ":" + std::to_string(e.mark.line + 1) + ": " +
                           e.msg);
  }
}

}  // namespace appliance::plugins::runner_scaler::kube
