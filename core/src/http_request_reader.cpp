#include "http_request_reader.h"

#include <strings.h>

#include <algorithm>
#include <limits>

// Beast 1.74 asserts `n >= 5` in parse_chunk_header where a last chunk's trailer arrives a
// byte at a time (fixed upstream later): a Debug build would abort on a valid client. The
// checks it guards are bounds-safe without the assertion (BOOST_VERIFY still evaluates).
#define BOOST_DISABLE_ASSERTS

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>

namespace appliance::host {
namespace http = boost::beast::http;
using boost::beast::error_code;

namespace {

bool equalsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// Our own reasons to stop a message, reported through Beast's error_code.
enum class Refusal { kNone, kTooManyHeaders, kBodyTooLarge, kTarget, kCoding, kAmbiguousLength };

}  // namespace

// Stores what Beast parses straight into the caller's HttpRequest: no intermediate
// header container, one copy of each field.
class RequestReader::Parser : public http::basic_parser<true> {
 public:
  Parser(HttpRequest& request, const RequestLimits& limits) : request_(request), limits_(limits) {
    header_limit(static_cast<std::uint32_t>(limits.max_head_bytes));
    // Limits are per route, known only after the head: enforced here. (Not boost::none: Beast
    // 1.74 compares a Content-Length with an empty optional limit as "too large".)
    body_limit(std::numeric_limits<std::uint64_t>::max());
  }

  void setBodyLimit(std::size_t bytes) { body_limit_ = bytes; }
  bool expectsContinue() const { return expect_continue_; }
  int version() const { return version_; }
  Refusal refusal() const { return refusal_; }

 private:
  void on_request_impl(http::verb, boost::beast::string_view method,
                       boost::beast::string_view target, int version, error_code& ec) override {
    version_ = version;
    // Beast applies header_limit to the request line and to the fields separately when the
    // head arrives whole: what the line used leaves that much less for the fields, so the
    // whole head stays within max_head_bytes however it was split.
    const std::size_t line = method.size() + target.size() + 12;  // "M T HTTP/1.1\r\n"
    header_limit(static_cast<std::uint32_t>(limits_.max_head_bytes -
                                            std::min(limits_.max_head_bytes, line)));
    request_.method.assign(method.data(), method.size());
    std::string_view t(target.data(), target.size());
    if (t.front() != '/') {
      // absolute-form (RFC 9112 3.2.2): keep the path of "http://host/path?q".
      const std::size_t scheme = t.find("://");
      const std::size_t slash = scheme == std::string_view::npos ? scheme : t.find('/', scheme + 3);
      if (slash == std::string_view::npos) {
        refusal_ = Refusal::kTarget;  // "*" (OPTIONS) and authority-form (CONNECT) are not served
        ec = http::error::bad_target;
        return;
      }
      t.remove_prefix(slash);
    }
    const std::size_t q = t.find('?');
    request_.path.assign(t.substr(0, q));
    if (q != std::string_view::npos) request_.query.assign(t.substr(q + 1));
  }

  void on_response_impl(int, boost::beast::string_view, int, error_code&) override {}

  void on_field_impl(http::field name, boost::beast::string_view name_string,
                     boost::beast::string_view value, error_code& ec) override {
    if (request_.headers.size() >= limits_.max_header_count) {
      refusal_ = Refusal::kTooManyHeaders;
      ec = http::error::header_limit;
      return;
    }
    if (name == http::field::transfer_encoding) {
      // Only plain "chunked": a body in another coding ("gzip, chunked") would reach handlers
      // still encoded.
      std::string_view coding(value.data(), value.size());
      while (!coding.empty() && (coding.front() == ' ' || coding.front() == '\t')) {
        coding.remove_prefix(1);
      }
      while (!coding.empty() && (coding.back() == ' ' || coding.back() == '\t')) {
        coding.remove_suffix(1);
      }
      unsupported_coding_ |= has_transfer_encoding_ || !equalsIgnoringCase(coding, "chunked");
      has_transfer_encoding_ = true;
    }
    if (name == http::field::content_length) has_content_length_ = true;
    if (name == http::field::expect &&
        equalsIgnoringCase(std::string_view(value.data(), value.size()), "100-continue")) {
      expect_continue_ = true;
    }
    request_.headers.push_back({std::string(name_string.data(), name_string.size()),
                                std::string(value.data(), value.size())});
  }

  // RFC 9112 6.1 and 6.3: a request body is framed by chunked or by Content-Length, never by
  // another coding or by both (the classic request-smuggling ambiguity).
  void on_header_impl(error_code& ec) override {
    if (unsupported_coding_ || (has_transfer_encoding_ && !chunked())) {
      refusal_ = Refusal::kCoding;
      ec = http::error::bad_transfer_encoding;
    } else if (has_transfer_encoding_ && has_content_length_) {
      refusal_ = Refusal::kAmbiguousLength;
      ec = http::error::bad_content_length;
    }
  }

  void on_body_init_impl(const boost::optional<std::uint64_t>& length, error_code& ec) override {
    if (length && *length > body_limit_) {
      refusal_ = Refusal::kBodyTooLarge;
      ec = http::error::body_limit;
      return;
    }
    if (length) request_.body.reserve(static_cast<std::size_t>(*length));
  }

  std::size_t on_body_impl(boost::beast::string_view body, error_code& ec) override {
    return append(body, ec);
  }

  void on_chunk_header_impl(std::uint64_t, boost::beast::string_view, error_code&) override {}

  std::size_t on_chunk_body_impl(std::uint64_t, boost::beast::string_view body,
                                 error_code& ec) override {
    return append(body, ec);
  }

  void on_finish_impl(error_code&) override {}

  std::size_t append(boost::beast::string_view body, error_code& ec) {
    if (request_.body.size() + body.size() > body_limit_) {
      refusal_ = Refusal::kBodyTooLarge;
      ec = http::error::body_limit;
      return 0;
    }
    request_.body.append(body.data(), body.size());
    return body.size();
  }

  HttpRequest& request_;
  const RequestLimits& limits_;
  std::size_t body_limit_ = 0;  // nothing until the server has routed the head
  int version_ = 11;
  bool expect_continue_ = false;
  bool has_transfer_encoding_ = false;
  bool has_content_length_ = false;
  bool unsupported_coding_ = false;
  Refusal refusal_ = Refusal::kNone;
};

RequestReader::RequestReader(RequestLimits limits) : limits_(limits) {}
RequestReader::~RequestReader() = default;

void RequestReader::reset(HttpRequest& into) {
  request_ = &into;
  into.method.clear();
  into.path.clear();
  into.query.clear();
  into.route.clear();
  into.body.clear();
  into.correlation_id.clear();
  into.headers.clear();
  into.path_params.clear();
  parser_ = std::make_unique<Parser>(into, limits_);
  failure_status_ = 0;
  failure_message_.clear();
  head_reported_ = false;
  head_bytes_ = 0;
}

RequestReader::Progress RequestReader::fail(int status, std::string message) {
  failure_status_ = status;
  failure_message_ = std::move(message);
  return Progress::kFailed;
}

RequestReader::Progress RequestReader::feed(std::string_view data, std::size_t& consumed) {
  consumed = 0;
  if (failure_status_) return Progress::kFailed;
  while (true) {
    if (parser_->is_header_done() && !head_reported_) {
      head_reported_ = true;
      return Progress::kHeadComplete;
    }
    if (parser_->is_done()) return Progress::kMessageComplete;
    if (consumed == data.size()) return Progress::kNeedMore;
    error_code ec;
    const bool in_head = !parser_->is_header_done();
    if (in_head && head_bytes_ > 0) {
      // Beast takes a head's complete fields as they arrive and applies header_limit to what
      // is left each time, so a head arriving in pieces is held to what its earlier pieces
      // left of max_head_bytes.
      parser_->header_limit(static_cast<std::uint32_t>(
          limits_.max_head_bytes - std::min(limits_.max_head_bytes, head_bytes_)));
    }
    const std::size_t used =
        parser_->put(boost::asio::const_buffer(data.data() + consumed, data.size() - consumed), ec);
    consumed += used;
    if (in_head) head_bytes_ += used;
    if (ec == http::error::need_more) return Progress::kNeedMore;
    if (ec) {
      switch (parser_->refusal()) {
        case Refusal::kTooManyHeaders:
          return fail(431, "Request has more than " + std::to_string(limits_.max_header_count) +
                               " header fields");
        case Refusal::kBodyTooLarge:
          return fail(413, "Request body too large: the limit is " + std::to_string(body_limit_) +
                               " bytes");
        case Refusal::kTarget:
          return fail(400, "Bad request: the request target must be a path (\"/tasks\")");
        case Refusal::kCoding:
          return fail(501, "Transfer-Encoding not supported: a request body may only be chunked");
        case Refusal::kAmbiguousLength:
          return fail(400,
                      "Bad request: both Content-Length and Transfer-Encoding are set; send "
                      "one");
        case Refusal::kNone:
          break;
      }
      if (ec == http::error::header_limit) {
        return fail(431, "Request head too large: the limit is " +
                             std::to_string(limits_.max_head_bytes) + " bytes");
      }
      return fail(400, "Bad request: " + ec.message());
    }
    if (used == 0 && !parser_->is_done() && head_reported_) return Progress::kNeedMore;
  }
}

RequestReader::Progress RequestReader::finish() {
  if (failure_status_) return Progress::kFailed;
  // A request's end is always framed (Content-Length, chunked, or no body), never the
  // connection's end: a request cut short is incomplete.
  if (!parser_->got_some()) return Progress::kNeedMore;
  return fail(400, "Bad request: the connection closed before the request was complete");
}

void RequestReader::setBodyLimit(std::size_t bytes) {
  body_limit_ = bytes;
  parser_->setBodyLimit(bytes);
}

std::optional<std::uint64_t> RequestReader::contentLength() const {
  auto length = parser_->content_length();
  return length ? std::optional<std::uint64_t>(*length) : std::nullopt;
}

bool RequestReader::chunked() const { return parser_->chunked(); }

bool RequestReader::bodyExpected() const { return chunked() || contentLength().value_or(0) > 0; }

bool RequestReader::expectsContinue() const { return parser_->expectsContinue(); }

bool RequestReader::keepAlive() const { return parser_->keep_alive(); }

int RequestReader::version() const { return parser_->version(); }

bool RequestReader::started() const { return parser_ && parser_->got_some(); }

bool acceptableCorrelationId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == ':';
    if (!ok) return false;
  }
  return true;
}

}  // namespace appliance::host
