#pragma once
// KubeClient: the few Kubernetes API calls the runner scaler makes, over the SDK's outbound
// HTTP client (TLS verified against the cluster's CA). Typed by ResourceType rather than by
// generated structs: objects are JSON (kube_json.h) in the documented shapes.
//
// Failures come back as Status: 404 kNotFound; 409 kConflict (on create: the name exists; on
// replace, merge-patch or delete with preconditions: a stale resourceVersion or uid, so
// re-read and try again); 400/422 kInvalidArgument; 401/403 kFailedPrecondition (credentials
// or RBAC); 5xx and 429 after the retries kUnavailable; transport faults as the HttpClient
// reports them. Messages name the method, the path and the API's reason, never a credential.
//
// Retries: 429 and 5xx are retried with exponential backoff (honouring Retry-After) for GET,
// PUT, PATCH and DELETE; a POST only on 429, 503 or any answer carrying Retry-After (the API
// server did not act on it), so a create is never repeated after an ambiguous failure. A 401
// re-reads the token file and retries once.
//
// Thread-safe. shutdown() aborts requests and watches in flight and ends backoff waits.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "appliance/http_client.h"
#include "appliance/logger.h"
#include "kube_access.h"
#include "kube_json.h"

namespace appliance::plugins::runner_scaler::kube {

struct ResourceType {
  std::string api_prefix;  // "/api/v1", "/apis/apps/v1"
  std::string plural;      // "pods"
  std::string kind;        // "Pod"
  bool namespaced = true;

  std::string apiVersion() const;  // "v1", "apps/v1"
};

extern const ResourceType kPods;
extern const ResourceType kSecrets;
extern const ResourceType kEvents;
extern const ResourceType kConfigMaps;
extern const ResourceType kNodes;
extern const ResourceType kLeases;
extern const ResourceType kDeployments;

struct ListOptions {
  std::string label_selector;    // "app=runner,pool=linux"
  std::string field_selector;    // "spec.nodeName=node-1"
  std::string resource_version;  // "" = the latest
  int limit = 0;                 // > 0: pages of this size, followed to the end
};

struct ObjectList {
  std::vector<Object> items;
  std::string resource_version;  // the list's metadata.resourceVersion: watch from here
};

enum class Propagation { kDefault, kBackground, kForeground, kOrphan };

struct DeleteOptions {
  Propagation propagation = Propagation::kDefault;
  std::string uid;               // precondition: delete only this incarnation
  std::string resource_version;  // precondition: delete only this version
};

enum class WatchEventType { kAdded, kModified, kDeleted, kBookmark, kError };
const char* watchEventTypeName(WatchEventType type);

struct WatchEvent {
  WatchEventType type;
  Object object;  // the object; for kError the Status
};

// Aborts a watch from another thread (KubeClient::watch blocks its caller).
class WatchCanceller {
 public:
  void cancel();  // aborts the watch using it now, and any later one at once
  bool cancelled() const;

 private:
  friend class KubeClient;
  bool attach(std::shared_ptr<HttpClient> channel);  // false when already cancelled
  void detach();
  mutable std::mutex mutex_;
  bool cancelled_ = false;
  std::shared_ptr<HttpClient> channel_;
};

struct WatchOptions {
  std::string label_selector;
  std::string field_selector;
  std::string resource_version;  // resume after this version; "" = current state as ADDED
  int timeout_seconds = 300;     // the server ends the watch after this long
  bool bookmarks = true;         // allowWatchBookmarks
  std::shared_ptr<WatchCanceller> canceller;  // optional
};

// How one watch connection ended.
struct WatchEnd {
  enum Reason {
    kClosed,   // the server ended it or the connection dropped: resume from resource_version
    kGone,     // 410: resource_version is too old; list again
    kStopped,  // the handler asked to stop, or the client shut down
    kFailed,   // the request was refused (error says why): back off, then resume
  };
  Reason reason = kClosed;
  std::string resource_version;  // the last version seen (events and bookmarks)
  Status error;
  std::size_t events = 0;  // events handed to the handler (bookmarks excluded)
};

using HttpClientFactory =
    std::function<Result<std::shared_ptr<HttpClient>>(const HttpClientOptions&)>;

struct KubeClientOptions {
  std::string client_name = "kubernetes";  // the HTTP client metrics label
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds request_timeout{15000};
  // A watch with no bytes (not even a bookmark) for this long is treated as dropped.
  std::chrono::milliseconds watch_idle_timeout{90000};
  int max_attempts = 5;  // per request, including the first
  std::chrono::milliseconds initial_backoff{200};
  std::chrono::milliseconds max_backoff{10000};
  std::chrono::milliseconds max_retry_after{30000};  // a longer Retry-After is cut to this
};

class KubeClient : public std::enable_shared_from_this<KubeClient> {
 public:
  // Makes the request client through `factory` (PluginContext::httpClient in the plugin).
  static Result<std::shared_ptr<KubeClient>> create(KubeAccess access, HttpClientFactory factory,
                                                    KubeClientOptions options,
                                                    const Logger& logger);
  ~KubeClient();
  KubeClient(const KubeClient&) = delete;
  KubeClient& operator=(const KubeClient&) = delete;

  const KubeAccess& access() const { return access_; }
  const std::string& defaultNamespace() const { return access_.default_namespace; }

  // `ns` is ignored for cluster-scoped types; `subresource` e.g. "scale", "status".
  Result<Object> get(const ResourceType& type, const std::string& ns, const std::string& name,
                     const std::string& subresource = {});
  Result<ObjectList> list(const ResourceType& type, const std::string& ns,
                          const ListOptions& options = {});
  // POST. Sets apiVersion and kind when the object lacks them. Returns the stored object.
  Result<Object> create(const ResourceType& type, const std::string& ns, const Object& object);
  // PUT; with metadata.resourceVersion set, only over that version (else kConflict).
  Result<Object> replace(const ResourceType& type, const std::string& ns, const std::string& name,
                         const Object& object, const std::string& subresource = {});
  // PATCH application/merge-patch+json (RFC 7386). A metadata.resourceVersion in the patch is
  // a precondition.
  Result<Object> mergePatch(const ResourceType& type, const std::string& ns,
                            const std::string& name, const Object& patch,
                            const std::string& subresource = {});
  // DELETE; returns what the server answered (the object for pods, a Status for most others).
  Result<Object> remove(const ResourceType& type, const std::string& ns, const std::string& name,
                        const DeleteOptions& options = {});

  // One watch connection: `on_event` gets each ADDED/MODIFIED/DELETED event in order, and
  // BOOKMARKs (which only move resource_version); it returns false to stop. An ERROR event
  // ends the watch (kGone for code 410). Runs on the caller's thread until it ends.
  WatchEnd watch(const ResourceType& type, const std::string& ns, const WatchOptions& options,
                 const std::function<bool(const WatchEvent&)>& on_event);

  // Aborts everything in flight; later calls fail with kUnavailable.
  void shutdown();
  bool isShutDown() const;

  // The path of a resource: /api/v1/namespaces/{ns}/pods/{name}/{subresource}.
  static std::string path(const ResourceType& type, const std::string& ns,
                          const std::string& name = {}, const std::string& subresource = {});

 private:
  struct Answer {
    int status = 0;
    std::string body;
  };
  KubeClient(KubeAccess access, HttpClientFactory factory, KubeClientOptions options,
             const Logger& logger);

  Result<Answer> execute(HttpClientRequest request, const std::string& where);
  Result<Object> call(const std::string& method, const std::string& path, const std::string& query,
                      const std::string& endpoint, std::string body = {},
                      std::string content_type = {});
  Status apiError(const std::string& where, int status, const std::string& body,
                  bool retried) const;
  std::string token();
  void addAuthorization(HttpClientRequest& request);
  bool reloadToken();
  bool sleepFor(std::chrono::milliseconds delay);  // false when shut down meanwhile
  std::chrono::milliseconds backoff(int attempt) const;
  std::string endpointOf(const ResourceType& type, const std::string& ns, bool named,
                         const std::string& subresource) const;
  Result<std::shared_ptr<HttpClient>> watchChannel();
  void releaseWatchChannel(const std::shared_ptr<HttpClient>& channel);

  KubeAccess access_;
  HttpClientFactory factory_;
  KubeClientOptions options_;
  const Logger& logger_;
  std::shared_ptr<HttpClient> http_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool shut_down_ = false;
  std::vector<std::shared_ptr<HttpClient>> watch_channels_;  // each open watch's own client
  std::string token_;
  std::string token_stamp_;  // the token file's identity when read (inode, size, mtime)
};

}  // namespace appliance::plugins::runner_scaler::kube
