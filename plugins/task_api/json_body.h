#pragma once
// A small, allocation-frugal JSON reader for flat request objects such as
// {"title":"...","done":true,"request_timestamp":"..."}.
//
// It validates the whole document (strict RFC 8259 plus UTF-8 validation) but materialises
// only the top-level members whose keys the caller asks for: strings are decoded (every
// escape, \uXXXX surrogate pairs to UTF-8), numbers and literals are returned as raw text,
// nested arrays and objects are checked and skipped without building anything. A repeated
// key keeps its last value, as Python's json module does.
//
// Errors carry Python's json messages ("Expecting value", ...) and the position in code
// points, so the API can answer exactly as FastAPI does. Stateless and thread-safe.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace appliance::plugins::task_api {

enum class JsonType : std::uint8_t { kMissing, kNull, kBool, kNumber, kString, kArray, kObject };

// One requested member. Reuse instances across parses to reuse their string capacity.
struct JsonValue {
  JsonType type = JsonType::kMissing;
  bool boolean = false;   // kBool
  bool integral = false;  // kNumber without fraction or exponent
  std::string_view raw;   // the value's text in the document (kNumber, kBool, kNull)
  // kString: the decoded UTF-8 string. Views the document when the string has no escapes,
  // else `decoded`; so it is valid while both the document and this value are unchanged.
  std::string_view str;
  std::string decoded;

  void reset() {
    type = JsonType::kMissing;
    boolean = integral = false;
    raw = str = {};
    decoded.clear();
  }
};

struct JsonParseResult {
  bool ok = true;
  JsonType top = JsonType::kMissing;  // type of the document's top-level value when ok
  std::size_t position = 0;           // on error: code point offset of the fault
  std::string_view message;           // on error: Python json's message (static storage)
};

// Parses `document`. When the top-level value is an object, fills values[i] with the member
// named keys[i] (kMissing when absent). `keys` and `values` must have the same size.
JsonParseResult parseJsonObject(std::string_view document, std::span<const std::string_view> keys,
                                std::span<JsonValue> values);

// Counts Unicode code points of valid UTF-8 text.
std::size_t countCodePoints(std::string_view utf8);

}  // namespace appliance::plugins::task_api
