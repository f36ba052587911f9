// Fuzz target: the request headers the host and the task API act on before any handler
// runs: the client's correlation id (appliance::host::acceptableCorrelationId, which decides
// whether a client value is echoed into the response and every log line) and the
// Authorization header (task_api's Authenticator::check with static tokens configured).
//
// Input: header lines "Name: value" separated by '\n' (the value is everything after the
// first ':', untrimmed). Invariants: an accepted correlation id is 1-128 characters of
// [A-Za-z0-9._:-] and every such id is accepted; the request authenticates if and only if
// its first Authorization header is "Bearer" + whitespace + one of the configured tokens
// (surrounding whitespace allowed): a token that is not configured never authenticates.

#include <strings.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "auth.h"
#include "fuzz_check.h"
#include "http_request_reader.h"

namespace tapi = appliance::plugins::task_api;

namespace {

constexpr std::array<std::string_view, 2> kTokens{"fuzz-static-token-0123456789abcdef",
                                                  "short-tok"};

class FixedClock : public appliance::Clock {
 public:
  std::chrono::system_clock::time_point now() const override {
    return std::chrono::system_clock::time_point(std::chrono::seconds(1764158400));
  }
  std::chrono::steady_clock::time_point steadyNow() const override { return {}; }
};

const tapi::Authenticator& authenticator() {
  static const FixedClock clock;
  static const std::shared_ptr<const tapi::Authenticator> instance = [] {
    tapi::AuthSettings settings;
    for (const std::string_view token : kTokens) {
      settings.token_hashes.push_back(tapi::sha256(token));
    }
    auto created = tapi::Authenticator::create(settings, clock);
    FUZZ_CHECK(created.isOk());
    return created.value();
  }();
  return *instance;
}

bool equalsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
  return s;
}

bool expectedCorrelationId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (const char c : id) {
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' || c == '-';
    if (!allowed) return false;
  }
  return true;
}

void checkCorrelationId(std::string_view id) {
  FUZZ_CHECK(appliance::host::acceptableCorrelationId(id) == expectedCorrelationId(id));
}

// The configured token this Authorization value presents, if any.
bool presentsConfiguredToken(std::string_view value) {
  value = trimmed(value);
  if (value.size() < 7 || !equalsIgnoringCase(value.substr(0, 6), "Bearer") || !isSpace(value[6])) {
    return false;
  }
  const std::string_view token = trimmed(value.substr(7));
  for (const std::string_view known : kTokens) {
    if (token == known) return true;
  }
  return false;
}

void checkAuthorization(const appliance::HttpRequest& request) {
  const tapi::AuthOutcome outcome = authenticator().check(request);
  const appliance::HttpHeader* first = nullptr;
  for (const auto& header : request.headers) {
    if (equalsIgnoringCase(header.name, "Authorization")) {
      first = &header;
      break;
    }
  }
  if (first == nullptr) {
    FUZZ_CHECK(outcome.result == tapi::AuthResult::kMissing);
    return;
  }
  const bool expected = presentsConfiguredToken(first->value);
  FUZZ_CHECK((outcome.result == tapi::AuthResult::kOk) == expected);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  checkCorrelationId(input);
  appliance::HttpRequest request;
  for (std::string_view rest = input; !rest.empty();) {
    const std::size_t nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    request.headers.push_back(
        {std::string(line.substr(0, colon)), std::string(line.substr(colon + 1))});
    checkCorrelationId(request.headers.back().value);
  }
  checkAuthorization(request);
  return 0;
}
