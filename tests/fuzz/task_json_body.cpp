// Fuzz target: the task API's JSON body reader (json_body.h) and the request validation
// built on it (validation.h): POST/PUT/DELETE bodies, the GET /tasks query string and the
// {id} path segment, exactly as the routes call them.
//
// Input: a request body, optionally followed by "\n?" and a query string (which also serves
// as the task id). Invariants: no crash or UB; a successful parse yields well-formed values
// that point into the document; parsing does not depend on which keys are asked for; every
// validation error renders as JSON that the reader itself accepts; what validation accepts
// satisfies the documented limits; the next-page Link header stays one clean header line.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "appliance/http.h"
#include "appliance/time.h"
#include "fuzz_check.h"
#include "json_body.h"
#include "utf8.h"
#include "validation.h"

namespace tapi = appliance::plugins::task_api;

namespace {

using tapi::JsonType;
using tapi::JsonValue;

constexpr std::array<std::string_view, 5> kKeys{"title", "content", "due_date", "done",
                                                "request_timestamp"};

bool inside(std::string_view part, std::string_view whole) {
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

// RFC 8259 number grammar.
bool isJsonNumber(std::string_view s) {
  std::size_t i = 0;
  const auto digit = [&] { return i < s.size() && s[i] >= '0' && s[i] <= '9'; };
  if (i < s.size() && s[i] == '-') ++i;
  if (!digit()) return false;
  if (s[i] == '0') {
    ++i;
  } else {
    while (digit()) ++i;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digit()) return false;
    while (digit()) ++i;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digit()) return false;
    while (digit()) ++i;
  }
  return i == s.size();
}

void checkValue(const JsonValue& v, std::string_view document) {
  switch (v.type) {
    case JsonType::kString:
      FUZZ_CHECK(appliance::fuzz::isValidUtf8(v.str));
      FUZZ_CHECK(tapi::countCodePoints(v.str) == appliance::fuzz::codePoints(v.str));
      FUZZ_CHECK(inside(v.str, document) || inside(v.str, v.decoded));
      break;
    case JsonType::kNumber:
      FUZZ_CHECK(inside(v.raw, document) && isJsonNumber(v.raw));
      FUZZ_CHECK(v.integral == (v.raw.find_first_of(".eE") == std::string_view::npos));
      break;
    case JsonType::kBool:
      FUZZ_CHECK(inside(v.raw, document) && v.raw == (v.boolean ? "true" : "false"));
      break;
    case JsonType::kNull:
      FUZZ_CHECK(inside(v.raw, document) && v.raw == "null");
      break;
    default:
      break;
  }
}

void checkReader(std::string_view document) {
  std::array<JsonValue, kKeys.size()> values;
  const tapi::JsonParseResult result = tapi::parseJsonObject(document, kKeys, values);
  // Asking for no member must not change the verdict.
  const tapi::JsonParseResult bare = tapi::parseJsonObject(document, {}, {});
  FUZZ_CHECK(bare.ok == result.ok && bare.top == result.top);
  FUZZ_CHECK(bare.position == result.position && bare.message == result.message);
  if (!result.ok) {
    FUZZ_CHECK(!result.message.empty());
    FUZZ_CHECK(result.position <= document.size());
    return;
  }
  FUZZ_CHECK(result.top != JsonType::kMissing);
  for (const JsonValue& v : values) {
    if (result.top != JsonType::kObject) FUZZ_CHECK(v.type == JsonType::kMissing);
    checkValue(v, document);
  }
}

// The 422 body must be JSON: {"detail":[...]}.
void checkErrors(const tapi::ValidationErrors& errors) {
  if (errors.empty()) return;
  const std::string json = errors.toJson();
  static constexpr std::array<std::string_view, 1> kDetail{"detail"};
  std::array<JsonValue, 1> detail;
  const tapi::JsonParseResult parsed = tapi::parseJsonObject(json, kDetail, detail);
  FUZZ_CHECK(parsed.ok && parsed.top == JsonType::kObject);
  FUZZ_CHECK(detail[0].type == JsonType::kArray);
}

bool validText(const std::string& text, std::size_t max_length) {
  const std::size_t length = appliance::fuzz::codePoints(text);
  return appliance::fuzz::isValidUtf8(text) && length >= 1 && length <= max_length &&
         text.find('\0') == std::string::npos;
}

bool validInstant(appliance::Timestamp ts) {
  constexpr appliance::Timestamp kFirst = -62135596800LL * 1'000'000;
  constexpr appliance::Timestamp kLast = 253402300800LL * 1'000'000;
  return ts >= kFirst && ts < kLast;
}

void checkBodies(std::string_view body, const std::optional<std::string>& query_timestamp) {
  tapi::ValidationErrors create_errors;
  appliance::NewTask task;
  if (tapi::parseCreateBody(body, task, create_errors)) {
    FUZZ_CHECK(create_errors.empty());
    FUZZ_CHECK(validText(task.title, tapi::kTitleMaxLength));
    FUZZ_CHECK(validText(task.content, tapi::kContentMaxLength));
    FUZZ_CHECK(appliance::isValidDate(task.due_date));
    FUZZ_CHECK(validInstant(task.request_at));
  }
  checkErrors(create_errors);

  tapi::ValidationErrors update_errors;
  appliance::TaskPatch patch;
  if (tapi::parseUpdateBody(body, patch, update_errors)) {
    FUZZ_CHECK(!patch.title || validText(*patch.title, tapi::kTitleMaxLength));
    FUZZ_CHECK(!patch.content || validText(*patch.content, tapi::kContentMaxLength));
    FUZZ_CHECK(!patch.due_date || appliance::isValidDate(*patch.due_date));
    FUZZ_CHECK(validInstant(patch.request_at));
  }
  checkErrors(update_errors);

  tapi::ValidationErrors delete_errors;
  appliance::Timestamp deleted_at = 0;
  if (tapi::parseDeleteRequest(body, query_timestamp, deleted_at, delete_errors)) {
    FUZZ_CHECK(validInstant(deleted_at));
  }
  checkErrors(delete_errors);
}

void checkQuery(std::string_view query) {
  appliance::HttpRequest request;
  request.query = std::string(query);
  tapi::ValidationErrors errors;
  appliance::TaskQuery list;
  const tapi::ListLimits limits;
  if (tapi::parseListQuery(request, limits, list, errors)) {
    FUZZ_CHECK(list.limit >= 1 && list.limit <= limits.max_limit);
    FUZZ_CHECK(!list.due_before || appliance::isValidDate(*list.due_before));
    FUZZ_CHECK(!list.due_after || appliance::isValidDate(*list.due_after));
    FUZZ_CHECK(list.before_id >= 0);
    for (const char c : tapi::nextPageLink(list, 42)) FUZZ_CHECK(c >= 0x20 && c < 0x7F);
  }
  checkErrors(errors);

  tapi::ValidationErrors id_errors;
  std::int64_t id = 0;
  bool out_of_range = false;
  if (!tapi::parseTaskId(query, id, out_of_range, id_errors)) FUZZ_CHECK(!id_errors.empty());
  checkErrors(id_errors);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t split = input.find("\n?");
  const std::string_view body = input.substr(0, split);
  std::optional<std::string> query_timestamp;
  checkReader(body);
  if (split != std::string_view::npos) {
    const std::string_view query = input.substr(split + 2);
    checkQuery(query);
    appliance::HttpRequest request;
    request.query = std::string(query);
    query_timestamp = request.queryParam("request_timestamp");
  }
  checkBodies(body, query_timestamp);
  return 0;
}
