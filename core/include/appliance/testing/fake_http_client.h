#pragma once
// FakeHttpClient: an HttpClient for unit tests. Every request is recorded; answers come from a
// handler the test sets (default: 404). stream() hands the handler's body to the stream
// handler in `stream_chunk_bytes` pieces. For tests over real sockets, run the plugin in the
// real binary against a fake server instead.

#include <functional>
#include <mutex>
#include <vector>

#include "appliance/http_client.h"

namespace appliance::testing {

class FakeHttpClient : public HttpClient {
 public:
  using Handler = std::function<Result<HttpClientResponse>(const HttpClientRequest&)>;

  Result<HttpClientResponse> send(const HttpClientRequest& request) override;
  Result<HttpClientResponse> stream(const HttpClientRequest& request,
                                    const HttpStreamHandler& handler) override;
  void shutdown() override;

  void setHandler(Handler handler);
  std::vector<HttpClientRequest> requests() const;
  void clearRequests();
  bool isShutDown() const;

  std::size_t stream_chunk_bytes = 4096;

 private:
  mutable std::mutex mutex_;
  Handler handler_;
  std::vector<HttpClientRequest> requests_;
  bool shut_down_ = false;
};

}  // namespace appliance::testing
