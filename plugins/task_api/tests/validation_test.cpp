#include "validation.h"

#include <gtest/gtest.h>

#include <string>

#include "appliance/time.h"

namespace appliance::plugins::task_api {
namespace {

constexpr std::string_view kValidCreate =
    R"({"title":"Write","content":"Report","due_date":"2024-05-01",)"
    R"("request_timestamp":"2024-05-01T12:00:00Z"})";

Timestamp utc(std::string_view text) {
  const Result<Timestamp> ts = parseTimestamp(text);
  EXPECT_TRUE(ts.isOk()) << text;
  return ts.isOk() ? ts.value() : 0;
}

std::string createErrors(std::string_view body) {
  NewTask task;
  ValidationErrors errors;
  EXPECT_FALSE(parseCreateBody(body, task, errors)) << body;
  return errors.toJson();
}

std::string updateErrors(std::string_view body) {
  TaskPatch patch;
  ValidationErrors errors;
  EXPECT_FALSE(parseUpdateBody(body, patch, errors)) << body;
  return errors.toJson();
}

// The body of a create request with one member replaced by `member` (raw JSON "key":value).
std::string createWith(std::string_view key, std::string_view value) {
  std::string body = R"({"title":"T","content":"C","due_date":"2024-05-01",)"
                     R"("request_timestamp":"2024-05-01T12:00:00Z"})";
  const std::string needle = "\"" + std::string(key) + "\":";
  const std::size_t start = body.find(needle) + needle.size();
  std::size_t end = body.find_first_of(",}", start);
  body.replace(start, end - start, value);
  return body;
}

TEST(CreateBody, AcceptsAValidBody) {
  NewTask task;
  ValidationErrors errors;
  ASSERT_TRUE(parseCreateBody(kValidCreate, task, errors)) << errors.toJson();
  EXPECT_EQ(task.title, "Write");
  EXPECT_EQ(task.content, "Report");
  EXPECT_EQ(task.due_date, "2024-05-01");
  EXPECT_EQ(task.request_at, utc("2024-05-01T12:00:00Z"));
}

TEST(CreateBody, IgnoresUnknownFields) {
  NewTask task;
  ValidationErrors errors;
  EXPECT_TRUE(
      parseCreateBody(R"({"extra":[1,{"x":2}],"title":"T","content":"C","due_date":"2024-05-01",)"
                      R"("request_timestamp":"2024-05-01T12:00:00Z","done":true})",
                      task, errors));
}

TEST(CreateBody, ReportsEveryMissingFieldAtOnceInModelOrder) {
  EXPECT_EQ(createErrors("{}"),
            R"({"detail":[)"
            R"({"type":"missing","loc":["body","title"],"msg":"Field required"},)"
            R"({"type":"missing","loc":["body","content"],"msg":"Field required"},)"
            R"({"type":"missing","loc":["body","due_date"],"msg":"Field required"},)"
            R"({"type":"missing","loc":["body","request_timestamp"],"msg":"Field required"}]})");
}

TEST(CreateBody, ReportsEveryInvalidFieldAtOnce) {
  const std::string json = createErrors(
      R"({"title":"","content":5,"due_date":"2023-02-30","request_timestamp":"yesterday"})");
  EXPECT_NE(json.find(R"({"type":"string_too_short","loc":["body","title"],)"
                      R"("msg":"String should have at least 1 character","ctx":{"min_length":1}})"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find(R"({"type":"string_type","loc":["body","content"],)"
                      R"("msg":"Input should be a valid string"})"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find(R"({"type":"date_from_datetime_parsing","loc":["body","due_date"],)"
                      R"("msg":"Input should be a valid date or datetime, day value is outside )"
                      R"(expected range","ctx":{"error":"day value is outside expected range"}})"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find(R"("type":"datetime_parsing","loc":["body","request_timestamp"])"),
            std::string::npos)
      << json;
}

TEST(CreateBody, EmptyBodyIsAMissingBody) {
  EXPECT_EQ(createErrors(""),
            R"({"detail":[{"type":"missing","loc":["body"],"msg":"Field required"}]})");
  EXPECT_EQ(createErrors("null"),
            R"({"detail":[{"type":"missing","loc":["body"],"msg":"Field required"}]})");
}

TEST(CreateBody, NonJsonBodyIsJsonInvalidWithOffset) {
  EXPECT_EQ(createErrors("title=x"),
            R"({"detail":[{"type":"json_invalid","loc":["body",0],"msg":"JSON decode error",)"
            R"("ctx":{"error":"Expecting value"}}]})");
  EXPECT_EQ(createErrors(R"({"title": "x",})"),
            R"({"detail":[{"type":"json_invalid","loc":["body",14],"msg":"JSON decode error",)"
            R"("ctx":{"error":"Expecting property name enclosed in double quotes"}}]})");
}

TEST(CreateBody, InvalidUtf8IsJsonInvalid) {
  const std::string json = createErrors("{\"title\":\"\xFF\"}");
  EXPECT_NE(json.find(R"("type":"json_invalid","loc":["body",10])"), std::string::npos) << json;
}

TEST(CreateBody, BodyThatIsNotAnObject) {
  for (const char* body : {"[]", "\"text\"", "42", "true"}) {
    EXPECT_EQ(createErrors(body),
              R"({"detail":[{"type":"model_attributes_type","loc":["body"],)"
              R"("msg":"Input should be a valid dictionary or object to extract fields from"}]})")
        << body;
  }
}

TEST(CreateBody, WrongTypes) {
  EXPECT_NE(createErrors(createWith("title", "null")).find(R"("type":"string_type")"),
            std::string::npos);
  EXPECT_NE(createErrors(createWith("title", "[\"a\"]")).find(R"("type":"string_type")"),
            std::string::npos);
  EXPECT_NE(createErrors(createWith("due_date", "20240501")).find(R"("type":"date_type")"),
            std::string::npos);
  EXPECT_NE(createErrors(createWith("due_date", "null")).find(R"("type":"date_type")"),
            std::string::npos);
  EXPECT_EQ(createErrors(createWith("request_timestamp", "true")),
            R"({"detail":[{"type":"datetime_type","loc":["body","request_timestamp"],)"
            R"("msg":"Input should be a valid datetime"}]})");
  EXPECT_NE(createErrors(createWith("request_timestamp", "{}")).find(R"("type":"datetime_type")"),
            std::string::npos);
}

TEST(CreateBody, LengthsCountCodePointsNotBytes) {
  NewTask task;
  ValidationErrors errors;
  std::string title;
  for (int i = 0; i < 200; ++i) title += "\xC3\xA9";  // 200 characters, 400 bytes
  EXPECT_TRUE(parseCreateBody(createWith("title", "\"" + title + "\""), task, errors))
      << errors.toJson();
  EXPECT_EQ(createErrors(createWith("title", "\"" + title + "x\"")),
            R"({"detail":[{"type":"string_too_long","loc":["body","title"],)"
            R"("msg":"String should have at most 200 characters","ctx":{"max_length":200}}]})");
}

TEST(CreateBody, ContentLengthLimits) {
  NewTask task;
  ValidationErrors errors;
  EXPECT_TRUE(
      parseCreateBody(createWith("content", "\"" + std::string(2000, 'c') + "\""), task, errors));
  EXPECT_NE(createErrors(createWith("content", "\"" + std::string(2001, 'c') + "\""))
                .find(R"("msg":"String should have at most 2000 characters")"),
            std::string::npos);
  EXPECT_NE(createErrors(createWith("content", "\"\"")).find(R"("loc":["body","content"])"),
            std::string::npos);
}

TEST(CreateBody, EscapedTextIsDecodedBeforeCounting) {
  NewTask task;
  ValidationErrors errors;
  ASSERT_TRUE(parseCreateBody(createWith("title", R"("\ud83d\ude00\u00e9")"), task, errors));
  EXPECT_EQ(task.title, "\xF0\x9F\x98\x80\xC3\xA9");
}

TEST(CreateBody, RejectsNulCharacters) {
  EXPECT_NE(createErrors(createWith("title", R"("a\u0000b")")).find(R"("type":"value_error")"),
            std::string::npos);
}

TEST(DueDate, ImpossibleAndMalformedDates) {
  struct Case {
    const char* input;
    const char* type;
    const char* reason;
  } cases[] = {
      {"2023-02-30", "date_from_datetime_parsing", "day value is outside expected range"},
      {"2023-13-01", "date_from_datetime_parsing", "month value is outside expected range of 1-12"},
      {"2023/01/01", "date_from_datetime_parsing", "invalid date separator, expected `-`"},
      {"soon", "date_from_datetime_parsing", "input is too short"},
      {"20xx-01-01", "date_from_datetime_parsing", "invalid character in year"},
      {"2023-0a-01", "date_from_datetime_parsing", "invalid character in month"},
      {"2023-01-0a", "date_from_datetime_parsing", "invalid character in day"},
      {"2024-05-01T10:30:00Z", "date_from_datetime_inexact", nullptr},
  };
  for (const auto& c : cases) {
    std::string date;
    ValueError error;
    EXPECT_FALSE(parseDateValue(c.input, date, error)) << c.input;
    EXPECT_EQ(error.type, c.type) << c.input;
    if (c.reason) {
      EXPECT_EQ(error.message, std::string("Input should be a valid date or datetime, ") + c.reason)
          << c.input;
    }
  }
}

TEST(DueDate, LeapDayAndMidnightDatetimeAreDates) {
  std::string date;
  ValueError error;
  EXPECT_TRUE(parseDateValue("2024-02-29", date, error));
  EXPECT_EQ(date, "2024-02-29");
  EXPECT_FALSE(parseDateValue("2023-02-29", date, error));
  EXPECT_TRUE(parseDateValue("2024-06-01T00:00:00Z", date, error));
  EXPECT_EQ(date, "2024-06-01");
}

TEST(RequestTimestamp, OffsetsNaiveAndFractions) {
  Timestamp ts = 0;
  ValueError error;
  ASSERT_TRUE(parseDateTimeValue("2024-05-01T14:00:00+02:00", ts, error));
  EXPECT_EQ(ts, utc("2024-05-01T12:00:00Z"));
  ASSERT_TRUE(parseDateTimeValue("2024-05-01T07:30:00-04:30", ts, error));
  EXPECT_EQ(ts, utc("2024-05-01T12:00:00Z"));
  ASSERT_TRUE(parseDateTimeValue("2024-05-01T12:00:00", ts, error));  // naive: UTC
  EXPECT_EQ(ts, utc("2024-05-01T12:00:00Z"));
  ASSERT_TRUE(parseDateTimeValue("2024-05-01T12:00:00.123456Z", ts, error));
  EXPECT_EQ(ts, utc("2024-05-01T12:00:00Z") + 123456);
  ASSERT_TRUE(parseDateTimeValue("2024-05-01T12:00:00.5Z", ts, error));
  EXPECT_EQ(ts, utc("2024-05-01T12:00:00Z") + 500000);
}

TEST(RequestTimestamp, UnixNumbersLikePydantic) {
  NewTask task;
  ValidationErrors errors;
  ASSERT_TRUE(parseCreateBody(createWith("request_timestamp", "1714564800"), task, errors));
  EXPECT_EQ(task.request_at, utc("2024-05-01T12:00:00Z"));
  ASSERT_TRUE(parseCreateBody(createWith("request_timestamp", "1714564800500"), task, errors));
  EXPECT_EQ(task.request_at, utc("2024-05-01T12:00:00.5Z"));  // milliseconds
  ASSERT_TRUE(parseCreateBody(createWith("request_timestamp", "\"1714564800.25\""), task, errors));
  EXPECT_EQ(task.request_at, utc("2024-05-01T12:00:00.25Z"));
  EXPECT_NE(createErrors(createWith("request_timestamp", "1e300")).find("datetime_parsing"),
            std::string::npos);
}

TEST(RequestTimestamp, InvalidStrings) {
  for (const char* text : {"2024-05-01T25:00:00Z", "2024-02-30T00:00:00Z", "2024-05-01T12:00:00+",
                           "2024-05-01T12:00:00.1234567Z", "", "now"}) {
    Timestamp ts = 0;
    ValueError error;
    EXPECT_FALSE(parseDateTimeValue(text, ts, error)) << text;
    EXPECT_EQ(error.type, "datetime_parsing") << text;
    EXPECT_EQ(error.message.rfind("Input should be a valid datetime, ", 0), 0u) << error.message;
  }
}

TEST(UpdateBody, AllFieldsOptionalExceptRequestTimestamp) {
  TaskPatch patch;
  ValidationErrors errors;
  ASSERT_TRUE(parseUpdateBody(R"({"request_timestamp":"2024-05-01T12:00:00Z"})", patch, errors));
  EXPECT_FALSE(patch.title || patch.content || patch.due_date || patch.done);
  EXPECT_EQ(updateErrors(R"({"title":"x"})"),
            R"({"detail":[{"type":"missing","loc":["body","request_timestamp"],)"
            R"("msg":"Field required"}]})");
}

TEST(UpdateBody, NullMeansUnchanged) {
  TaskPatch patch;
  ValidationErrors errors;
  ASSERT_TRUE(parseUpdateBody(R"({"title":null,"content":null,"due_date":null,"done":null,)"
                              R"("request_timestamp":"2024-05-01T12:00:00Z"})",
                              patch, errors));
  EXPECT_FALSE(patch.title || patch.content || patch.due_date || patch.done);
}

TEST(UpdateBody, ReadsEveryField) {
  TaskPatch patch;
  ValidationErrors errors;
  ASSERT_TRUE(parseUpdateBody(R"({"title":"N","content":"B","due_date":"2025-01-31","done":true,)"
                              R"("request_timestamp":"2024-05-01T12:00:00Z"})",
                              patch, errors));
  EXPECT_EQ(*patch.title, "N");
  EXPECT_EQ(*patch.content, "B");
  EXPECT_EQ(*patch.due_date, "2025-01-31");
  EXPECT_TRUE(*patch.done);
}

TEST(UpdateBody, DoneAcceptsPydanticLaxBooleans) {
  for (const char* value : {"true", "1", "1.0", "\"yes\"", "\"ON\"", "\"t\"", "\"1\""}) {
    TaskPatch patch;
    ValidationErrors errors;
    const std::string body =
        std::string(R"({"done":)") + value + R"(,"request_timestamp":"2024-05-01T12:00:00Z"})";
    ASSERT_TRUE(parseUpdateBody(body, patch, errors)) << body << errors.toJson();
    EXPECT_TRUE(*patch.done) << body;
  }
  for (const char* value : {"false", "0", "\"no\"", "\"off\"", "\"F\""}) {
    TaskPatch patch;
    ValidationErrors errors;
    const std::string body =
        std::string(R"({"done":)") + value + R"(,"request_timestamp":"2024-05-01T12:00:00Z"})";
    ASSERT_TRUE(parseUpdateBody(body, patch, errors)) << body;
    EXPECT_FALSE(*patch.done) << body;
  }
}

TEST(UpdateBody, DoneRejectsOtherValues) {
  EXPECT_EQ(updateErrors(R"({"done":"maybe","request_timestamp":"2024-05-01T12:00:00Z"})"),
            R"({"detail":[{"type":"bool_parsing","loc":["body","done"],)"
            R"("msg":"Input should be a valid boolean, unable to interpret input"}]})");
  EXPECT_NE(
      updateErrors(R"({"done":2,"request_timestamp":"2024-05-01T12:00:00Z"})").find("bool_parsing"),
      std::string::npos);
  EXPECT_EQ(updateErrors(R"({"done":[],"request_timestamp":"2024-05-01T12:00:00Z"})"),
            R"({"detail":[{"type":"bool_type","loc":["body","done"],)"
            R"("msg":"Input should be a valid boolean"}]})");
}

TEST(UpdateBody, ValidatesPresentFields) {
  const std::string json =
      updateErrors(R"({"title":"","content":7,"due_date":"2023-02-30","request_timestamp":"x"})");
  for (const char* field : {"title", "content", "due_date", "request_timestamp"}) {
    EXPECT_NE(json.find(std::string(R"("loc":["body",")") + field + "\"]"), std::string::npos)
        << field << " in " << json;
  }
}

TEST(DeleteRequest, BodyOrQuery) {
  Timestamp ts = 0;
  ValidationErrors errors;
  ASSERT_TRUE(parseDeleteRequest(R"({"request_timestamp":"2024-05-01T12:00:00Z"})", std::nullopt,
                                 ts, errors));
  EXPECT_EQ(ts, utc("2024-05-01T12:00:00Z"));
  ASSERT_TRUE(parseDeleteRequest("", std::string("2024-05-01T13:00:00+01:00"), ts, errors));
  EXPECT_EQ(ts, utc("2024-05-01T12:00:00Z"));
  ASSERT_TRUE(parseDeleteRequest("{}", std::string("2024-05-01T12:00:01Z"), ts, errors));
  EXPECT_EQ(ts, utc("2024-05-01T12:00:01Z"));
  // The body wins when it has the field.
  ASSERT_TRUE(parseDeleteRequest(R"({"request_timestamp":"2024-05-01T12:00:00Z"})",
                                 std::string("2030-01-01T00:00:00Z"), ts, errors));
  EXPECT_EQ(ts, utc("2024-05-01T12:00:00Z"));
  EXPECT_TRUE(errors.empty());
}

TEST(DeleteRequest, MissingOrInvalid) {
  Timestamp ts = 0;
  ValidationErrors missing;
  EXPECT_FALSE(parseDeleteRequest("", std::nullopt, ts, missing));
  EXPECT_EQ(missing.toJson(), R"({"detail":[{"type":"missing","loc":["body","request_timestamp"],)"
                              R"("msg":"Field required"}]})");
  ValidationErrors bad_query;
  EXPECT_FALSE(parseDeleteRequest("", std::string("tomorrow"), ts, bad_query));
  EXPECT_NE(bad_query.toJson().find(R"("loc":["query","request_timestamp"])"), std::string::npos);
  ValidationErrors bad_body;
  EXPECT_FALSE(parseDeleteRequest("{oops", std::string("2024-05-01T12:00:00Z"), ts, bad_body));
  EXPECT_NE(bad_body.toJson().find("json_invalid"), std::string::npos);
}

TEST(TaskId, IntegersOnly) {
  std::int64_t id = 0;
  bool out_of_range = false;
  ValidationErrors errors;
  EXPECT_TRUE(parseTaskId("42", id, out_of_range, errors));
  EXPECT_EQ(id, 42);
  EXPECT_FALSE(out_of_range);
  EXPECT_TRUE(parseTaskId("99999999999999999999", id, out_of_range, errors));
  EXPECT_TRUE(out_of_range);
  EXPECT_TRUE(errors.empty());
  EXPECT_FALSE(parseTaskId("abc", id, out_of_range, errors));
  EXPECT_FALSE(parseTaskId("1.5", id, out_of_range, errors));
  EXPECT_FALSE(parseTaskId("", id, out_of_range, errors));
  EXPECT_EQ(errors.items().size(), 3u);
  EXPECT_EQ(errors.items()[0].type, "int_parsing");
  EXPECT_EQ(errors.items()[0].source, "path");
  EXPECT_EQ(errors.items()[0].field, "task_id");
}

HttpRequest listRequest(std::string query) {
  HttpRequest request;
  request.method = "GET";
  request.path = "/tasks";
  request.query = std::move(query);
  return request;
}

TEST(ListQuery, DefaultsAndFilters) {
  TaskQuery query;
  ValidationErrors errors;
  ASSERT_TRUE(parseListQuery(listRequest(""), {100, 1000}, query, errors));
  EXPECT_EQ(query.limit, 100u);
  EXPECT_FALSE(query.done || query.due_before || query.due_after);
  EXPECT_EQ(query.before_id, 0);

  TaskQuery filtered;
  ASSERT_TRUE(parseListQuery(
      listRequest("done=TRUE&due_before=2024-06-01&due_after=2024-01-01&limit=5&cursor=17"),
      {100, 1000}, filtered, errors));
  EXPECT_TRUE(*filtered.done);
  EXPECT_EQ(*filtered.due_before, "2024-06-01");
  EXPECT_EQ(*filtered.due_after, "2024-01-01");
  EXPECT_EQ(filtered.limit, 5u);
  EXPECT_EQ(filtered.before_id, 17);
}

TEST(ListQuery, ReportsEveryBadParameter) {
  TaskQuery query;
  ValidationErrors errors;
  EXPECT_FALSE(parseListQuery(
      listRequest("done=perhaps&due_before=2023-02-30&due_after=x&limit=abc&cursor=-3"),
      {100, 1000}, query, errors));
  const std::string json = errors.toJson();
  EXPECT_EQ(errors.items().size(), 5u) << json;
  for (const char* name : {"done", "due_before", "due_after", "limit", "cursor"}) {
    EXPECT_NE(json.find(std::string(R"("loc":["query",")") + name + "\"]"), std::string::npos)
        << name;
  }
  EXPECT_NE(json.find(R"("msg":"Input should be a valid integer, unable to parse string as an )"
                      R"(integer")"),
            std::string::npos);
}

TEST(ListQuery, LimitBounds) {
  TaskQuery query;
  ValidationErrors too_big;
  EXPECT_FALSE(parseListQuery(listRequest("limit=1001"), {100, 1000}, query, too_big));
  EXPECT_EQ(too_big.toJson(),
            R"({"detail":[{"type":"less_than_equal","loc":["query","limit"],)"
            R"("msg":"Input should be less than or equal to 1000","ctx":{"le":1000}}]})");
  ValidationErrors zero;
  EXPECT_FALSE(parseListQuery(listRequest("limit=0"), {100, 1000}, query, zero));
  EXPECT_EQ(zero.items()[0].type, "greater_than_equal");
  ValidationErrors huge;
  EXPECT_FALSE(
      parseListQuery(listRequest("limit=99999999999999999999999"), {100, 1000}, query, huge));
  EXPECT_EQ(huge.items()[0].type, "less_than_equal");
  ValidationErrors ok;
  EXPECT_TRUE(parseListQuery(listRequest("limit=1000"), {100, 1000}, query, ok));
  EXPECT_EQ(query.limit, 1000u);
}

TEST(ListQuery, NextPageLinkRepeatsFilters) {
  TaskQuery query;
  query.limit = 2;
  query.done = false;
  query.due_before = "2024-06-01";
  EXPECT_EQ(nextPageLink(query, 9),
            R"(</tasks?limit=2&cursor=9&done=false&due_before=2024-06-01>; rel="next")");
}

}  // namespace
}  // namespace appliance::plugins::task_api
