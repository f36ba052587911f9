#pragma once
// RequestReader: turns bytes from a client into one HttpRequest at a time, head and body,
// on top of Boost.Beast's incremental HTTP/1.1 parser (basic_parser; Beast parses, we only
// store what it hands us). It knows nothing of sockets: the server feeds what it read, the
// fuzzer (tests/fuzz/) feeds anything, in any split.
//
// Use: reset(request) -> feed() until kHeadComplete (route it, setBodyLimit, maybe send
// "100 Continue") -> feed() until kMessageComplete -> reset() for the next one. Bytes a feed
// did not consume (the rest of an incomplete head, a pipelined request) must be presented
// again, in front of the next bytes. Not thread-safe; one per connection.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "appliance/http.h"

namespace appliance::host {

struct RequestLimits {
  std::size_t max_head_bytes = 16 * 1024;  // request line and every header field together
  std::size_t max_header_count = 100;
};

class RequestReader {
 public:
  enum class Progress { kNeedMore, kHeadComplete, kMessageComplete, kFailed };

  explicit RequestReader(RequestLimits limits = {});
  ~RequestReader();
  RequestReader(const RequestReader&) = delete;
  RequestReader& operator=(const RequestReader&) = delete;

  // Starts a new message, parsed into `into` (which must outlive the message). Clears its
  // method, path, query, headers and body, keeping their capacity.
  void reset(HttpRequest& into);
  // Parses a prefix of `data`; `consumed` is how much. kHeadComplete is reported once per
  // message, before any body byte is taken; kMessageComplete once the body is whole.
  Progress feed(std::string_view data, std::size_t& consumed);
  // The client closed its sending side: completes a message whose end is the connection's end
  // (never for requests), else fails it if any byte of it was read.
  Progress finish();

  // Valid from kHeadComplete on.
  void setBodyLimit(std::size_t bytes);  // beyond it: kFailed with 413
  std::optional<std::uint64_t> contentLength() const;
  bool chunked() const;
  bool bodyExpected() const;  // Content-Length > 0 or chunked
  bool expectsContinue() const;
  bool keepAlive() const;  // HTTP/1.1 without "Connection: close", or 1.0 with keep-alive
  int version() const;     // 10 or 11

  bool started() const;  // any byte of this message was read
  // After kFailed: the status to answer with (400, 413, 431, 501) and why, for the client.
  int failureStatus() const { return failure_status_; }
  const std::string& failureMessage() const { return failure_message_; }

 private:
  class Parser;
  std::unique_ptr<Parser> parser_;
  RequestLimits limits_;
  HttpRequest* request_ = nullptr;
  std::size_t body_limit_ = 0;
  int failure_status_ = 0;
  std::string failure_message_;
  bool head_reported_ = false;
  std::size_t head_bytes_ = 0;  // consumed of this message's head so far

  Progress fail(int status, std::string message);
};

// A correlation id a client may choose: 1-128 characters of [A-Za-z0-9._:-].
bool acceptableCorrelationId(std::string_view id);

}  // namespace appliance::host
