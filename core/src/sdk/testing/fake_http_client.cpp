#include "appliance/testing/fake_http_client.h"

#include <algorithm>

namespace appliance::testing {

Result<HttpClientResponse> FakeHttpClient::send(const HttpClientRequest& request) {
  Handler handler;
  {
    std::lock_guard lock(mutex_);
    if (shut_down_)
      return Status::unavailable(request.method + " " + request.url + ": client shut down");
    requests_.push_back(request);
    handler = handler_;
  }
  if (!handler) {
    HttpClientResponse not_found;
    not_found.status = 404;
    not_found.body = R"({"message":"Not Found"})";
    return not_found;
  }
  return handler(request);
}

Result<HttpClientResponse> FakeHttpClient::stream(const HttpClientRequest& request,
                                                  const HttpStreamHandler& handler) {
  auto full = send(request);
  if (!full) return full;
  HttpClientResponse head = std::move(full.value());
  std::string body = std::move(head.body);
  head.body.clear();
  if (handler.on_head && !handler.on_head(head)) return head;
  const std::size_t step = std::max<std::size_t>(1, stream_chunk_bytes);
  for (std::size_t at = 0; at < body.size(); at += step) {
    if (handler.on_chunk && !handler.on_chunk(std::string_view(body).substr(at, step))) break;
  }
  return head;
}

void FakeHttpClient::shutdown() {
  std::lock_guard lock(mutex_);
  shut_down_ = true;
}

void FakeHttpClient::setHandler(Handler handler) {
  std::lock_guard lock(mutex_);
  handler_ = std::move(handler);
}

std::vector<HttpClientRequest> FakeHttpClient::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

void FakeHttpClient::clearRequests() {
  std::lock_guard lock(mutex_);
  requests_.clear();
}

bool FakeHttpClient::isShutDown() const {
  std::lock_guard lock(mutex_);
  return shut_down_;
}

}  // namespace appliance::testing
