// Fuzz target: the host's HTTP/1.1 request reader (core/src/http_request_reader.h), driven
// the way the server's event loop drives it: bytes arrive in pieces of any size, bytes a
// feed() leaves are presented again in front of the next ones, the head is routed (a body
// limit is set; a declared length over it is refused with 413), pipelined requests follow one
// another, and the client may close its side at the end.
//
// Input: byte 0 picks the limits (body limit 0..1008 bytes; bit 0x40: a 512-byte head and 8
// headers instead of the defaults), bytes 1-2 the sizes of the pieces, the rest is what the
// client sends. Invariants: feed() never reports more than it was given; the head is
// reported once per message, within the head and header-count limits, with a path and an
// unambiguous framing (never both Content-Length and Transfer-Encoding; the Content-Length
// given is the one in the head); a body never exceeds its limit and matches its
// Content-Length; failures carry 400, 413, 431 or 501; finish() never completes a request;
// and the messages read do not depend on how the bytes were split.

#include <strings.h>

#include <array>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "http_request_reader.h"

namespace {

using appliance::HttpRequest;
using appliance::host::RequestReader;
using Progress = RequestReader::Progress;

struct Setup {
  appliance::host::RequestLimits limits;
  std::size_t body_limit = 0;
  std::array<std::size_t, 4> pieces{};  // sizes of the pieces, in turn; 0: all that is left
};

Setup setupFrom(const std::uint8_t* data) {
  Setup setup;
  setup.body_limit = static_cast<std::size_t>(data[0] & 0x3F) * 16;
  if (data[0] & 0x40) setup.limits = {512, 8};
  const unsigned low = data[1], high = data[2];
  const std::array<unsigned, 4> nibbles{low & 0xFu, low >> 4u, high & 0xFu, high >> 4u};
  for (std::size_t i = 0; i < nibbles.size(); ++i) {
    setup.pieces[i] = nibbles[i] == 15 ? 0 : 1 + nibbles[i] * nibbles[i];
  }
  return setup;
}

bool equalsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// One connection, as the server runs it. `transcript` records what the server would act on,
// so that two runs over different splits can be compared.
class Connection {
 public:
  explicit Connection(const Setup& setup) : setup_(setup), reader_(setup.limits) {
    reader_.reset(request_);
  }

  // The client sent `bytes`; false once the connection is over (refused or closed).
  bool receive(std::string_view bytes) {
    if (closed_) return false;
    pending_.append(bytes);
    std::size_t offset = 0;
    while (!closed_) {
      std::size_t used = 0;
      const std::string_view rest = std::string_view(pending_).substr(offset);
      const Progress progress = reader_.feed(rest, used);
      FUZZ_CHECK(used <= rest.size());
      offset += used;
      message_bytes_ += used;
      if (progress == Progress::kNeedMore) break;
      if (progress == Progress::kHeadComplete) {
        onHead();
      } else if (progress == Progress::kMessageComplete) {
        onMessage();
      } else {
        onFailure();
      }
    }
    pending_.erase(0, offset);
    return !closed_;
  }

  // The client closed its sending side.
  void close() {
    if (closed_) return;
    const bool started = reader_.started();
    const Progress progress = reader_.finish();
    if (started) {
      FUZZ_CHECK(progress == Progress::kFailed && reader_.failureStatus() == 400);
      transcript_ += "failed\n";
    } else {
      FUZZ_CHECK(progress == Progress::kNeedMore);
    }
    closed_ = true;
  }

  const std::string& transcript() const { return transcript_; }

 private:
  void onHead() {
    FUZZ_CHECK(!head_seen_);
    head_seen_ = true;
    // max_head_bytes covers the request line and the fields together, however split.
    FUZZ_CHECK(message_bytes_ <= setup_.limits.max_head_bytes);
    FUZZ_CHECK(request_.headers.size() <= setup_.limits.max_header_count);
    FUZZ_CHECK(!request_.method.empty() && !request_.path.empty() && request_.path[0] == '/');
    FUZZ_CHECK(reader_.version() == 10 || reader_.version() == 11);
    checkFraming();
    transcript_ += "head " + request_.method + " " + request_.path + "?" + request_.query + "\n";
    for (const auto& h : request_.headers) transcript_ += h.name + ":" + h.value + "\n";
    reader_.setBodyLimit(setup_.body_limit);
    if (reader_.contentLength().value_or(0) > setup_.body_limit) {
      transcript_ += "refused 413\n";  // the server answers before reading the body
      closed_ = true;
    }
  }

  // What the head says about the body must be what its fields say, without ambiguity.
  void checkFraming() {
    bool transfer_encoding = false;
    bool expect_continue = false;
    for (const auto& h : request_.headers) {
      if (equalsIgnoringCase(h.name, "Transfer-Encoding")) transfer_encoding = true;
      if (equalsIgnoringCase(h.name, "Expect") && equalsIgnoringCase(h.value, "100-continue")) {
        expect_continue = true;
      }
      if (equalsIgnoringCase(h.name, "Content-Length")) checkContentLength(h.value);
    }
    FUZZ_CHECK(!(transfer_encoding && reader_.contentLength()));
    FUZZ_CHECK(transfer_encoding == reader_.chunked());
    FUZZ_CHECK(reader_.expectsContinue() == expect_continue);
    FUZZ_CHECK(reader_.bodyExpected() ==
               (reader_.chunked() || reader_.contentLength().value_or(0) > 0));
  }

  // A list of one length, repeated ("42, 42") is allowed (RFC 9110 8.6); anything else
  // that names another length, or no number, must not have got this far.
  void checkContentLength(std::string_view value) {
    while (true) {
      const std::size_t comma = value.find(',');
      const std::string_view text = trimmed(value.substr(0, comma));
      std::uint64_t length = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), length);
      FUZZ_CHECK(ec == std::errc() && end == text.data() + text.size());
      FUZZ_CHECK(reader_.contentLength() == length);
      if (comma == std::string_view::npos) return;
      value.remove_prefix(comma + 1);
    }
  }

  void onMessage() {
    FUZZ_CHECK(head_seen_);
    FUZZ_CHECK(request_.body.size() <= setup_.body_limit);
    if (const auto length = reader_.contentLength()) FUZZ_CHECK(request_.body.size() == *length);
    transcript_ += "body " + request_.body + "\n";
    if (!reader_.keepAlive()) {
      transcript_ += "close\n";
      closed_ = true;
      return;
    }
    reader_.reset(request_);  // the next pipelined request
    head_seen_ = false;
    message_bytes_ = 0;
  }

  void onFailure() {
    const int status = reader_.failureStatus();
    FUZZ_CHECK(status == 400 || status == 413 || status == 431 || status == 501);
    FUZZ_CHECK(!reader_.failureMessage().empty());
    if (head_seen_ && status == 413) FUZZ_CHECK(request_.body.size() <= setup_.body_limit);
    std::size_t used = 1;
    FUZZ_CHECK(reader_.feed("GET / HTTP/1.1\r\n\r\n", used) == Progress::kFailed && used == 0);
    // Only that it failed: Beast may notice a bad byte at once or only when the head is whole
    // (or the client gives up), so the status may differ with the split; both refuse.
    transcript_ += "failed\n";
    closed_ = true;
  }

  const Setup& setup_;
  RequestReader reader_;
  HttpRequest request_;
  std::string pending_;  // bytes presented but not consumed yet
  std::string transcript_;
  std::size_t message_bytes_ = 0;  // consumed since the message started
  bool head_seen_ = false;
  bool closed_ = false;
};

std::string run(const Setup& setup, std::string_view stream, bool split) {
  Connection connection(setup);
  std::size_t i = 0;
  for (std::size_t pos = 0; pos < stream.size(); ++i) {
    const std::size_t piece = split ? setup.pieces[i % setup.pieces.size()] : 0;
    const std::string_view bytes = stream.substr(pos, piece == 0 ? stream.size() : piece);
    pos += bytes.size();
    if (!connection.receive(bytes)) break;
  }
  connection.close();
  return connection.transcript();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  const Setup setup = setupFrom(data);
  const std::string_view stream(reinterpret_cast<const char*>(data + 3), size - 3);
  const std::string split = run(setup, stream, true);
  const std::string whole = run(setup, stream, false);
  if (split != whole) {
    std::fprintf(stderr, "in pieces:\n%s\nat once:\n%s\n", split.c_str(), whole.c_str());
    FUZZ_CHECK(!"the messages read depend on how the bytes were split");
  }
  return 0;
}
