#include "http_request_reader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace appliance::host {
namespace {

using Progress = RequestReader::Progress;

// Feeds `wire` in pieces of `step` bytes, keeping what the reader did not take in front of the
// next piece as the server does; routes every head with `body_limit`. Returns the requests.
struct Outcome {
  std::vector<HttpRequest> requests;
  int failure = 0;
  std::string message;
};

Outcome readAll(const std::string& wire, std::size_t step, std::size_t body_limit = 1 << 20,
                RequestLimits limits = {}) {
  Outcome out;
  RequestReader reader(limits);
  HttpRequest request;
  reader.reset(request);
  std::string pending;
  std::size_t at = 0;
  while (at < wire.size() || !pending.empty()) {
    const std::size_t take = std::min(step, wire.size() - at);
    pending.append(wire, at, take);
    at += take;
    bool progressed = true;
    while (progressed) {
      progressed = false;
      std::size_t used = 0;
      const Progress p = reader.feed(pending, used);
      pending.erase(0, used);
      if (p == Progress::kHeadComplete) {
        reader.setBodyLimit(body_limit);
        progressed = true;
      } else if (p == Progress::kMessageComplete) {
        out.requests.push_back(request);
        reader.reset(request);
        progressed = !pending.empty();
      } else if (p == Progress::kFailed) {
        out.failure = reader.failureStatus();
        out.message = reader.failureMessage();
        return out;
      }
    }
    if (take == 0) break;
  }
  return out;
}

TEST(RequestReader, ParsesARequestWhateverTheSplit) {
  const std::string wire =
      "POST /tasks/7?x=1&y=2 HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n"
      "Content-Length: 11\r\nX-Request-ID: abc\r\n\r\n{\"a\":\"bcd\"}";
  for (std::size_t step : {1u, 2u, 7u, 64u, 4096u}) {
    const Outcome out = readAll(wire, step);
    ASSERT_EQ(out.requests.size(), 1u) << "step " << step;
    const HttpRequest& r = out.requests[0];
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.path, "/tasks/7");
    EXPECT_EQ(r.query, "x=1&y=2");
    EXPECT_EQ(r.body, "{\"a\":\"bcd\"}");
    EXPECT_EQ(r.header("x-request-id").value_or(""), "abc");
    EXPECT_EQ(r.headers.size(), 4u);
  }
}

TEST(RequestReader, PipelinedRequestsComeOutInOrder) {
  const std::string wire =
      "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
      "PUT /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz"
      "GET /c HTTP/1.1\r\nHost: h\r\n\r\n";
  const Outcome out = readAll(wire, 4096);
  ASSERT_EQ(out.requests.size(), 3u);
  EXPECT_EQ(out.requests[0].path, "/a");
  EXPECT_EQ(out.requests[1].body, "xyz");
  EXPECT_EQ(out.requests[2].path, "/c");
  EXPECT_TRUE(out.requests[2].body.empty()) << "nothing of an earlier request leaks";
}

TEST(RequestReader, ChunkedBodiesAreJoined) {
  const std::string wire =
      "POST /t HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "4\r\nWiki\r\n5;name=v\r\npedia\r\n0\r\nTrailer: t\r\n\r\n";
  for (std::size_t step : {1u, 3u, 4096u}) {
    const Outcome out = readAll(wire, step);
    ASSERT_EQ(out.requests.size(), 1u);
    EXPECT_EQ(out.requests[0].body, "Wikipedia");
  }
}

TEST(RequestReader, AbsoluteFormTargetsKeepTheirPath) {
  const Outcome out = readAll("GET http://example.com/tasks?a=b HTTP/1.1\r\nHost: h\r\n\r\n", 99);
  ASSERT_EQ(out.requests.size(), 1u);
  EXPECT_EQ(out.requests[0].path, "/tasks");
  EXPECT_EQ(out.requests[0].query, "a=b");
  EXPECT_EQ(readAll("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", 99).failure, 400);
}

TEST(RequestReader, LimitsGiveTheirStatus) {
  RequestLimits small;
  small.max_head_bytes = 1024;
  small.max_header_count = 3;
  const Outcome big_head =
      readAll("GET / HTTP/1.1\r\nX: " + std::string(2000, 'a') + "\r\n\r\n", 100, 10, small);
  EXPECT_EQ(big_head.failure, 431);
  EXPECT_NE(big_head.message.find("1024 bytes"), std::string::npos);
  // The line and the fields share the limit, whether the head arrives whole or in pieces.
  const std::string long_line_and_fields =
      "GET /" + std::string(700, 'p') + " HTTP/1.1\r\nX: " + std::string(700, 'v') + "\r\n\r\n";
  EXPECT_EQ(readAll(long_line_and_fields, 4096, 10, small).failure, 431);
  EXPECT_EQ(readAll(long_line_and_fields, 7, 10, small).failure, 431);
  // A 524-byte head in pieces of 65 bytes against a 512-byte limit (found by fuzz_http_request;
  // tests/fuzz/regressions/http_request/head-over-limit-in-pieces): Beast takes complete fields
  // as they arrive and had held only the rest to the limit.
  const std::string fuzzed_head =
      "GET /aaks HTTP/1.1\r\nHost: localh locaUhost\r\nTra.sfer-EncodingTransfer-EncodingH0: v" +
      std::string(198, 'a') + " HTTP/1.1\r\nHost: bbbTransfer-Encodqng" + std::string(96, 'b') +
      "Expect: 100-continue" + std::string(86, 'b') + "\r\n\r\n";
  ASSERT_EQ(fuzzed_head.size(), 524u);
  const RequestLimits fuzzed_limits{512, 8};
  EXPECT_EQ(readAll(fuzzed_head, 4096, 10, fuzzed_limits).failure, 431);
  EXPECT_EQ(readAll(fuzzed_head, 65, 10, fuzzed_limits).failure, 431);
  const Outcome many =
      readAll("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", 100, 10, small);
  EXPECT_EQ(many.failure, 431);
  const Outcome chunked_too_big = readAll(
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n12345678\r\n0"
      "\r\n\r\n",
      5, 10);
  EXPECT_EQ(chunked_too_big.failure, 413);
  EXPECT_NE(chunked_too_big.message.find("10 bytes"), std::string::npos);
  EXPECT_EQ(readAll("NOT HTTP AT ALL\r\n\r\n", 4).failure, 400);
  EXPECT_EQ(readAll("GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 100).failure, 501);
  EXPECT_EQ(
      readAll("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 100).failure,
      501);
  EXPECT_EQ(readAll("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"
                    "0\r\n\r\n",
                    100)
                .failure,
            400)
      << "both framings: a smuggling attempt";
}

TEST(RequestReader, ReportsKeepAliveContinueAndVersion) {
  RequestReader reader;
  HttpRequest request;
  reader.reset(request);
  const std::string head =
      "POST /x HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 2\r\nExpect: "
      "100-Continue\r\n\r\n";
  std::size_t used = 0;
  ASSERT_EQ(reader.feed(head, used), Progress::kHeadComplete);
  EXPECT_EQ(used, head.size());
  EXPECT_EQ(reader.version(), 10);
  EXPECT_TRUE(reader.keepAlive());
  EXPECT_TRUE(reader.expectsContinue());
  EXPECT_TRUE(reader.bodyExpected());
  EXPECT_EQ(reader.contentLength().value_or(0), 2u);
  reader.setBodyLimit(10);
  EXPECT_EQ(reader.feed("o", used), Progress::kNeedMore);
  EXPECT_EQ(reader.feed("k", used), Progress::kMessageComplete);
  EXPECT_EQ(request.body, "ok");

  reader.reset(request);
  ASSERT_EQ(reader.feed("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", used),
            Progress::kHeadComplete);
  EXPECT_FALSE(reader.keepAlive());
  EXPECT_FALSE(reader.bodyExpected());
}

TEST(RequestReader, AConnectionClosedMidRequestFailsIt) {
  RequestReader reader;
  HttpRequest request;
  reader.reset(request);
  EXPECT_EQ(reader.finish(), Progress::kNeedMore) << "nothing read: a clean end";
  std::size_t used = 0;
  reader.feed("GET / HT", used);
  EXPECT_TRUE(reader.started());
  EXPECT_EQ(reader.finish(), Progress::kFailed);
  EXPECT_EQ(reader.failureStatus(), 400);
}

TEST(CorrelationId, AcceptsOnlyShortPrintableTokens) {
  EXPECT_TRUE(acceptableCorrelationId("abc-123_x.y:z"));
  EXPECT_FALSE(acceptableCorrelationId(""));
  EXPECT_FALSE(acceptableCorrelationId(std::string(129, 'a')));
  EXPECT_FALSE(acceptableCorrelationId("a b"));
  EXPECT_FALSE(acceptableCorrelationId("a\r\nSet-Cookie: x"));
}

}  // namespace
}  // namespace appliance::host
