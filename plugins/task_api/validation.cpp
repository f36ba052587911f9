#include "validation.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstring>

#include <strings.h>

#include "appliance/time.h"
#include "json_body.h"

namespace appliance::plugins::task_api {
namespace {

constexpr std::string_view kBody = "body";
constexpr std::string_view kQuery = "query";
constexpr std::string_view kPath = "path";

// Unix timestamps above this are milliseconds (pydantic's rule).
constexpr double kMillisecondsThreshold = 2e10;
// 0001-01-01 .. 9999-12-31T23:59:59: the range of Python's datetime.
constexpr double kMinUnixSeconds = -62135596800.0;
constexpr double kMaxUnixSeconds = 253402300799.0;

void addError(ValidationErrors& errors, std::string_view source, std::string_view field,
              ValueError&& e) {
  errors.add(
      {source, field, FieldError::kNoPosition, e.type, std::move(e.message), std::move(e.ctx)});
}

void addMissing(ValidationErrors& errors, std::string_view source, std::string_view field) {
  errors.add({source, field, FieldError::kNoPosition, "missing", "Field required", {}});
}

std::string errorCtx(std::string_view reason) {
  std::string ctx = "\"error\":\"";
  appendJsonEscaped(ctx, reason);
  ctx += '"';
  return ctx;
}

// The reason inside an SDK time parse error, without its "invalid datetime: " prefix.
std::string_view sdkReason(const Status& status) {
  std::string_view m = status.message();
  constexpr std::string_view kPrefix = "invalid datetime: ";
  if (m.substr(0, kPrefix.size()) == kPrefix) m.remove_prefix(kPrefix.size());
  return m;
}

bool allDigits(std::string_view s) {
  if (s.empty()) return false;
  for (const char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// The first problem speedate (pydantic's date parser) reports for the date part of `s`, or
// "" when the first ten characters are a valid date.
std::string_view datePartError(std::string_view s) {
  if (s.size() < 10) return "input is too short";
  if (!allDigits(s.substr(0, 4))) return "invalid character in year";
  if (s[4] != '-') return "invalid date separator, expected `-`";
  if (!allDigits(s.substr(5, 2))) return "invalid character in month";
  if (s[7] != '-') return "invalid date separator, expected `-`";
  if (!allDigits(s.substr(8, 2))) return "invalid character in day";
  const int month = (s[5] - '0') * 10 + (s[6] - '0');
  if (month < 1 || month > 12) return "month value is outside expected range of 1-12";
  if (s.substr(0, 4) == "0000") return "year value is outside expected range of 1-9999";
  if (!isValidDate(s.substr(0, 10))) return "day value is outside expected range";
  return {};
}

// True when the time of day in a valid datetime string is exactly midnight.
bool isMidnight(std::string_view s) {
  for (std::size_t i = 11; i < s.size(); ++i) {
    const char c = s[i];
    if (c == 'Z' || c == 'z' || c == '+' || c == '-') return true;
    if (c != '0' && c != ':' && c != '.' && c != ',') return false;
  }
  return true;
}

bool parseDouble(std::string_view text, double& out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end && std::isfinite(out);
}

bool unixToTimestamp(double value, Timestamp& out, ValueError& error) {
  double seconds = std::fabs(value) > kMillisecondsThreshold ? value / 1000.0 : value;
  if (seconds < kMinUnixSeconds || seconds > kMaxUnixSeconds) {
    error = {"datetime_parsing",
             "Input should be a valid datetime, a Unix timestamp must be within years 1-9999",
             errorCtx("a Unix timestamp must be within years 1-9999")};
    return false;
  }
  out = static_cast<Timestamp>(std::llround(seconds * 1e6));
  return true;
}

enum class Need { kRequired, kOptional };  // kOptional: missing or null means "unchanged"

// True when the member holds a value to validate; records "missing" for a required field.
bool present(const JsonValue& v, Need need, std::string_view field, ValidationErrors& errors) {
  if (v.type == JsonType::kMissing) {
    if (need == Need::kRequired) addMissing(errors, kBody, field);
    return false;
  }
  return !(v.type == JsonType::kNull && need == Need::kOptional);
}

void checkString(const JsonValue& v, Need need, std::string_view field, std::size_t max_length,
                 std::optional<std::string>& out, ValidationErrors& errors) {
  if (!present(v, need, field, errors)) return;
  if (v.type != JsonType::kString) {
    addError(errors, kBody, field, {"string_type", "Input should be a valid string", {}});
    return;
  }
  const std::size_t length = countCodePoints(v.str);
  if (length < 1) {
    addError(errors, kBody, field,
             {"string_too_short", "String should have at least 1 character", "\"min_length\":1"});
  } else if (length > max_length) {
    const std::string n = std::to_string(max_length);
    addError(errors, kBody, field,
             {"string_too_long", "String should have at most " + n + " characters",
              "\"max_length\":" + n});
  } else if (std::memchr(v.str.data(), '\0', v.str.size()) != nullptr) {
    // Valid JSON and valid for pydantic, but PostgreSQL cannot store it: refuse it here.
    addError(errors, kBody, field,
             {"value_error", "Value error, the text must not contain NUL (\\u0000) characters",
              errorCtx("the text must not contain NUL (\\u0000) characters")});
  } else {
    out.emplace(v.str);
  }
}

void checkDate(const JsonValue& v, Need need, std::optional<std::string>& out,
               ValidationErrors& errors) {
  constexpr std::string_view kField = "due_date";
  if (!present(v, need, kField, errors)) return;
  if (v.type != JsonType::kString) {
    addError(errors, kBody, kField, {"date_type", "Input should be a valid date", {}});
    return;
  }
  std::string date;
  ValueError error;
  if (parseDateValue(v.str, date, error)) {
    out = std::move(date);
  } else {
    addError(errors, kBody, kField, std::move(error));
  }
}

void checkBool(const JsonValue& v, std::optional<bool>& out, ValidationErrors& errors) {
  constexpr std::string_view kField = "done";
  if (!present(v, Need::kOptional, kField, errors)) return;
  bool value = false;
  double number = 0;
  switch (v.type) {
    case JsonType::kBool:
      out = v.boolean;
      return;
    case JsonType::kString:
      if (parseBoolText(v.str, value)) {
        out = value;
        return;
      }
      break;
    case JsonType::kNumber:
      if (parseDouble(v.raw, number) && (number == 0 || number == 1)) {
        out = number == 1;
        return;
      }
      break;
    default:
      addError(errors, kBody, kField, {"bool_type", "Input should be a valid boolean", {}});
      return;
  }
  addError(errors, kBody, kField,
           {"bool_parsing", "Input should be a valid boolean, unable to interpret input", {}});
}

void checkRequestTimestamp(const JsonValue& v, std::optional<Timestamp>& out,
                           ValidationErrors& errors) {
  constexpr std::string_view kField = "request_timestamp";
  if (!present(v, Need::kRequired, kField, errors)) return;
  Timestamp ts = 0;
  ValueError error;
  double number = 0;
  if (v.type == JsonType::kString) {
    if (parseDateTimeValue(v.str, ts, error)) out = ts;
  } else if (v.type == JsonType::kNumber) {
    if (parseDouble(v.raw, number) && unixToTimestamp(number, ts, error)) out = ts;
  } else {
    error = {"datetime_type", "Input should be a valid datetime", {}};
  }
  if (!out) addError(errors, kBody, kField, std::move(error));
}

// Parses the body into `values`; records body-level errors. True when the body is an object.
bool readBodyObject(std::string_view body, std::span<const std::string_view> keys,
                    std::span<JsonValue> values, ValidationErrors& errors) {
  if (body.empty()) {
    addMissing(errors, kBody, {});
    return false;
  }
  const JsonParseResult parsed = parseJsonObject(body, keys, values);
  if (!parsed.ok) {
    errors.add({kBody,
                {},
                parsed.position,
                "json_invalid",
                "JSON decode error",
                errorCtx(parsed.message)});
    return false;
  }
  if (parsed.top == JsonType::kNull) {
    addMissing(errors, kBody, {});
    return false;
  }
  if (parsed.top != JsonType::kObject) {
    errors.add({kBody,
                {},
                FieldError::kNoPosition,
                "model_attributes_type",
                "Input should be a valid dictionary or object to extract fields from",
                {}});
    return false;
  }
  return true;
}

// A query integer with pydantic's ge/le errors.
bool parseQueryInt(std::string_view field, std::string_view text, std::int64_t min,
                   std::int64_t max, std::int64_t& out, ValidationErrors& errors) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  std::int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  const bool overflow = ec == std::errc::result_out_of_range && ptr == end;
  if ((ec != std::errc() && !overflow) || ptr != end || text.empty()) {
    addError(errors, kQuery, field,
             {"int_parsing",
              "Input should be a valid integer, unable to parse string as an integer",
              {}});
    return false;
  }
  const bool negative_overflow = overflow && text.front() == '-';
  if ((overflow && !negative_overflow) || (!overflow && value > max)) {
    const std::string n = std::to_string(max);
    addError(errors, kQuery, field,
             {"less_than_equal", "Input should be less than or equal to " + n, "\"le\":" + n});
    return false;
  }
  if (negative_overflow || value < min) {
    const std::string n = std::to_string(min);
    addError(
        errors, kQuery, field,
        {"greater_than_equal", "Input should be greater than or equal to " + n, "\"ge\":" + n});
    return false;
  }
  out = value;
  return true;
}

void appendLoc(std::string& out, const FieldError& e) {
  out += "[\"";
  out += e.source;
  out += '"';
  if (e.position != FieldError::kNoPosition) {
    out += ',';
    out += std::to_string(e.position);
  } else if (!e.field.empty()) {
    out += ",\"";
    appendJsonEscaped(out, e.field);
    out += '"';
  }
  out += ']';
}

}  // namespace

std::string ValidationErrors::toJson() const {
  std::string out;
  out.reserve(32 + errors_.size() * 128);
  out += "{\"detail\":[";
  for (std::size_t i = 0; i < errors_.size(); ++i) {
    const FieldError& e = errors_[i];
    if (i) out += ',';
    out += "{\"type\":\"";
    out += e.type;
    out += "\",\"loc\":";
    appendLoc(out, e);
    out += ",\"msg\":\"";
    appendJsonEscaped(out, e.message);
    out += '"';
    if (!e.ctx.empty()) {
      out += ",\"ctx\":{";
      out += e.ctx;
      out += '}';
    }
    out += '}';
  }
  out += "]}";
  return out;
}

bool parseBoolText(std::string_view s, bool& out) {
  const auto is = [&](std::string_view word) {
    return s.size() == word.size() && strncasecmp(s.data(), word.data(), s.size()) == 0;
  };
  if (s == "0" || is("f") || is("n") || is("no") || is("off") || is("false")) {
    out = false;
    return true;
  }
  if (s == "1" || is("t") || is("y") || is("yes") || is("on") || is("true")) {
    out = true;
    return true;
  }
  return false;
}

bool parseDateValue(std::string_view text, std::string& date, ValueError& error) {
  if (text.size() == 10 && isValidDate(text)) {
    date.assign(text);
    return true;
  }
  std::string_view reason = datePartError(text);
  Status sdk_error;
  if (reason.empty()) {
    // A datetime is accepted as a date when its time is exactly midnight (pydantic's rule).
    const Result<Timestamp> ts = parseTimestamp(text);
    if (ts.isOk() && isMidnight(text)) {
      date.assign(text.substr(0, 10));
      return true;
    }
    if (ts.isOk()) {
      error = {"date_from_datetime_inexact",
               "Datetimes provided to dates should have zero time - e.g. be exact dates",
               {}};
      return false;
    }
    sdk_error = ts.status();
    reason = sdkReason(sdk_error);
  }
  error = {"date_from_datetime_parsing",
           "Input should be a valid date or datetime, " + std::string(reason), errorCtx(reason)};
  return false;
}

bool parseDateTimeValue(std::string_view text, Timestamp& out, ValueError& error) {
  const Result<Timestamp> ts = parseTimestamp(text);
  if (ts.isOk()) {
    out = ts.value();
    return true;
  }
  // pydantic also takes a Unix timestamp written as a string.
  double number = 0;
  if (parseDouble(text, number)) return unixToTimestamp(number, out, error);
  const Status status = ts.status();  // status() returns a copy: keep it alive
  const std::string_view reason = sdkReason(status);
  error = {"datetime_parsing", "Input should be a valid datetime, " + std::string(reason),
           errorCtx(reason)};
  return false;
}

bool parseCreateBody(std::string_view body, NewTask& out, ValidationErrors& errors) {
  static constexpr std::array<std::string_view, 4> kKeys{"title", "content", "due_date",
                                                         "request_timestamp"};
  std::array<JsonValue, 4> v;
  if (!readBodyObject(body, kKeys, v, errors)) return false;
  std::optional<std::string> title, content, due_date;
  std::optional<Timestamp> request_at;
  checkString(v[0], Need::kRequired, "title", kTitleMaxLength, title, errors);
  checkString(v[1], Need::kRequired, "content", kContentMaxLength, content, errors);
  checkDate(v[2], Need::kRequired, due_date, errors);
  checkRequestTimestamp(v[3], request_at, errors);
  if (!errors.empty()) return false;
  out.title = std::move(*title);
  out.content = std::move(*content);
  out.due_date = std::move(*due_date);
  out.request_at = *request_at;
  return true;
}

bool parseUpdateBody(std::string_view body, TaskPatch& out, ValidationErrors& errors) {
  static constexpr std::array<std::string_view, 5> kKeys{"title", "content", "due_date", "done",
                                                         "request_timestamp"};
  std::array<JsonValue, 5> v;
  if (!readBodyObject(body, kKeys, v, errors)) return false;
  std::optional<Timestamp> request_at;
  checkString(v[0], Need::kOptional, "title", kTitleMaxLength, out.title, errors);
  checkString(v[1], Need::kOptional, "content", kContentMaxLength, out.content, errors);
  checkDate(v[2], Need::kOptional, out.due_date, errors);
  checkBool(v[3], out.done, errors);
  checkRequestTimestamp(v[4], request_at, errors);
  if (!errors.empty()) return false;
  out.request_at = *request_at;
  return true;
}

bool parseDeleteRequest(std::string_view body, const std::optional<std::string>& query_value,
                        Timestamp& out, ValidationErrors& errors) {
  static constexpr std::array<std::string_view, 1> kKeys{"request_timestamp"};
  std::array<JsonValue, 1> v;
  if (!body.empty()) {
    if (!readBodyObject(body, kKeys, v, errors)) return false;
  }
  if (v[0].type == JsonType::kMissing && query_value) {
    ValueError error;
    if (parseDateTimeValue(*query_value, out, error)) return true;
    addError(errors, kQuery, "request_timestamp", std::move(error));
    return false;
  }
  std::optional<Timestamp> request_at;
  checkRequestTimestamp(v[0], request_at, errors);
  if (!request_at) return false;
  out = *request_at;
  return true;
}

bool parseTaskId(std::string_view text, std::int64_t& id, bool& out_of_range,
                 ValidationErrors& errors) {
  out_of_range = false;
  std::string_view digits = text;
  if (!digits.empty() && (digits.front() == '+' || digits.front() == '-')) digits.remove_prefix(1);
  if (allDigits(digits)) {
    const char* end = text.data() + text.size();
    const char* begin = text.front() == '+' ? text.data() + 1 : text.data();
    auto [ptr, ec] = std::from_chars(begin, end, id);
    if (ec == std::errc() && ptr == end) return true;
    out_of_range = true;
    return true;
  }
  addError(
      errors, kPath, "task_id",
      {"int_parsing", "Input should be a valid integer, unable to parse string as an integer", {}});
  return false;
}

bool parseListQuery(const HttpRequest& request, const ListLimits& limits, TaskQuery& out,
                    ValidationErrors& errors) {
  if (auto done = request.queryParam("done")) {
    bool value = false;
    if (parseBoolText(*done, value)) {
      out.done = value;
    } else {
      addError(errors, kQuery, "done",
               {"bool_parsing", "Input should be a valid boolean, unable to interpret input", {}});
    }
  }
  for (const std::string_view name : {"due_before", "due_after"}) {
    auto text = request.queryParam(name);
    if (!text) continue;
    std::string date;
    ValueError error;
    if (!parseDateValue(*text, date, error)) {
      addError(errors, kQuery, name, std::move(error));
    } else {
      (name == "due_before" ? out.due_before : out.due_after) = std::move(date);
    }
  }
  std::int64_t limit = static_cast<std::int64_t>(limits.default_limit);
  if (auto text = request.queryParam("limit")) {
    parseQueryInt("limit", *text, 1, static_cast<std::int64_t>(limits.max_limit), limit, errors);
  }
  out.limit = static_cast<std::size_t>(limit);
  if (auto text = request.queryParam("cursor")) {
    std::int64_t cursor = 0;
    const char* end = text->data() + text->size();
    auto [ptr, ec] = std::from_chars(text->data(), end, cursor);
    if (ec != std::errc() || ptr != end || cursor < 1) {
      constexpr std::string_view kWhy =
          "invalid cursor: pass the cursor from the previous page's Link header unchanged";
      addError(errors, kQuery, "cursor",
               {"value_error", "Value error, " + std::string(kWhy), errorCtx(kWhy)});
    } else {
      out.before_id = cursor;
    }
  }
  return errors.empty();
}

std::string nextPageLink(const TaskQuery& query, std::int64_t last_id) {
  std::string link;
  link.reserve(96);
  link += "</tasks?limit=";
  link += std::to_string(query.limit);
  link += "&cursor=";
  link += std::to_string(last_id);
  if (query.done) link += *query.done ? "&done=true" : "&done=false";
  // Dates are validated YYYY-MM-DD: nothing to percent-encode.
  if (query.due_before) link += "&due_before=" + *query.due_before;
  if (query.due_after) link += "&due_after=" + *query.due_after;
  link += ">; rel=\"next\"";
  return link;
}

}  // namespace appliance::plugins::task_api
