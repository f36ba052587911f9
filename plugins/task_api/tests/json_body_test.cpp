#include "json_body.h"

#include <gtest/gtest.h>

#include <array>
#include <random>
#include <string>

namespace appliance::plugins::task_api {
namespace {

struct Parsed {
  JsonParseResult result;
  std::array<JsonValue, 3> values;
};

// Parses `doc` asking for "title", "done" and "n".
Parsed parse(std::string_view doc) {
  static constexpr std::array<std::string_view, 3> kKeys{"title", "done", "n"};
  Parsed p;
  p.result = parseJsonObject(doc, kKeys, p.values);
  return p;
}

void expectError(std::string_view doc, std::string_view message, std::size_t position) {
  const Parsed p = parse(doc);
  EXPECT_FALSE(p.result.ok) << doc;
  EXPECT_EQ(p.result.message, message) << doc;
  EXPECT_EQ(p.result.position, position) << doc;
}

TEST(JsonBody, ReadsWantedMembersAndIgnoresOthers) {
  const std::string doc = R"({"other":"x","title":"Write","done":true,"n":-12.5e1,"z":null})";
  const Parsed p = parse(doc);
  ASSERT_TRUE(p.result.ok);
  EXPECT_EQ(p.result.top, JsonType::kObject);
  EXPECT_EQ(p.values[0].type, JsonType::kString);
  EXPECT_EQ(p.values[0].str, "Write");
  EXPECT_EQ(p.values[1].type, JsonType::kBool);
  EXPECT_TRUE(p.values[1].boolean);
  EXPECT_EQ(p.values[2].type, JsonType::kNumber);
  EXPECT_EQ(p.values[2].raw, "-12.5e1");
  EXPECT_FALSE(p.values[2].integral);
}

TEST(JsonBody, AbsentMembersAreMissingAndNullIsNull) {
  const Parsed p = parse(R"({"title":null})");
  ASSERT_TRUE(p.result.ok);
  EXPECT_EQ(p.values[0].type, JsonType::kNull);
  EXPECT_EQ(p.values[1].type, JsonType::kMissing);
  EXPECT_EQ(p.values[2].type, JsonType::kMissing);
}

TEST(JsonBody, DecodesEveryEscape) {
  const Parsed p = parse(R"({"title":"q\" b\\ s\/ \b\f\n\r\t \u00e9 \u20AC"})");
  ASSERT_TRUE(p.result.ok);
  EXPECT_EQ(p.values[0].str, "q\" b\\ s/ \b\f\n\r\t \xC3\xA9 \xE2\x82\xAC");
}

TEST(JsonBody, DecodesSurrogatePairsToUtf8) {
  const Parsed p = parse(R"({"title":"\ud83d\ude00!"})");
  ASSERT_TRUE(p.result.ok);
  EXPECT_EQ(p.values[0].str, "\xF0\x9F\x98\x80!");
  EXPECT_EQ(countCodePoints(p.values[0].str), 2u);
}

TEST(JsonBody, RejectsUnpairedSurrogates) {
  expectError(R"({"title":"\ud83d"})", "Unpaired surrogate in \\uXXXX escape", 10);
  expectError(R"({"title":"\ude00"})", "Unpaired surrogate in \\uXXXX escape", 10);
  expectError(R"({"title":"\ud83d\u0041"})", "Unpaired surrogate in \\uXXXX escape", 10);
  expectError(R"({"title":"\ud83d\uZZZZ"})", "Invalid \\uXXXX escape", 16);
}

TEST(JsonBody, RejectsBadEscapes) {
  expectError(R"({"title":"a\x"})", "Invalid \\escape", 11);
  expectError(R"({"title":"\u12"})", "Invalid \\uXXXX escape", 10);
  expectError("{\"title\":\"abc\\", "Unterminated string starting at", 9);
}

TEST(JsonBody, KeysWithEscapesStillMatch) {
  const Parsed p = parse(R"({"ti\u0074le":"x"})");
  ASSERT_TRUE(p.result.ok);
  EXPECT_EQ(p.values[0].str, "x");
}

TEST(JsonBody, LastDuplicateKeyWins) {
  const Parsed p = parse(R"({"title":"first\n","title":"second"})");
  ASSERT_TRUE(p.result.ok);
  EXPECT_EQ(p.values[0].str, "second");
}

TEST(JsonBody, SkipsNestedValuesOfUnwantedKeys) {
  const Parsed p =
      parse(R"({"a":{"b":[1,2,{"c":[],"d":{}},"\"]}"],"e":"}"},"title":"kept","f":[[[]]]})");
  ASSERT_TRUE(p.result.ok);
  EXPECT_EQ(p.values[0].str, "kept");
}

TEST(JsonBody, WantedKeyWithContainerValueReportsItsType) {
  const Parsed p = parse(R"({"title":["x"],"done":{"y":1}})");
  ASSERT_TRUE(p.result.ok);
  EXPECT_EQ(p.values[0].type, JsonType::kArray);
  EXPECT_EQ(p.values[1].type, JsonType::kObject);
}

TEST(JsonBody, DeepNestingIsSkippedUpToTheLimit) {
  const std::string deep =
      "{\"x\":" + std::string(500, '[') + std::string(500, ']') + ",\"title\":\"ok\"}";
  const Parsed p = parse(deep);
  ASSERT_TRUE(p.result.ok);
  EXPECT_EQ(p.values[0].str, "ok");
}

TEST(JsonBody, AbsurdNestingFailsWithoutCrashing) {
  const std::string deep = "{\"x\":" + std::string(200000, '[');
  const Parsed p = parse(deep);
  EXPECT_FALSE(p.result.ok);
  EXPECT_EQ(p.result.message, "Maximum nesting depth exceeded");
}

TEST(JsonBody, ReportsTrailingGarbage) {
  expectError(R"({"title":"x"} x)", "Extra data", 14);
  expectError(R"({} {})", "Extra data", 3);
}

TEST(JsonBody, ReportsPythonMessagesAndPositions) {
  expectError("", "Expecting value", 0);
  expectError("   ", "Expecting value", 3);
  expectError("{", "Expecting property name enclosed in double quotes", 1);
  expectError(R"({"a" 1})", "Expecting ':' delimiter", 5);
  expectError(R"({"a":1 "b":2})", "Expecting ',' delimiter", 7);
  expectError(R"({"a":1,})", "Expecting property name enclosed in double quotes", 7);
  expectError(R"({"a":[1,]})", "Expecting value", 8);
  expectError(R"({"a":[1 2]})", "Expecting ',' delimiter", 8);
  expectError(R"({"a":tru})", "Expecting value", 5);
  expectError(R"({"a":-})", "Expecting value", 5);
  expectError(R"({"a":01})", "Expecting ',' delimiter", 6);
  expectError(R"({"a":1.})", "Expecting ',' delimiter", 6);
  expectError(R"({'a':1})", "Expecting property name enclosed in double quotes", 1);
  expectError("{\"a\":\"x\ny\"}", "Invalid control character at", 7);
  expectError(R"({"a":"unterminated)", "Unterminated string starting at", 5);
}

TEST(JsonBody, ErrorPositionsCountCodePoints) {
  // "é" is two bytes but one character, as Python counts positions.
  expectError("{\"t\":\"\xC3\xA9\" x}", "Expecting ',' delimiter", 9);
}

TEST(JsonBody, RejectsInvalidUtf8) {
  expectError("{\"title\":\"\xC3\x28\"}", "Invalid UTF-8 byte sequence", 10);
  expectError("{\"title\":\"\xC0\xAF\"}", "Invalid UTF-8 byte sequence", 10);      // overlong
  expectError("{\"title\":\"\xED\xA0\x80\"}", "Invalid UTF-8 byte sequence", 10);  // surrogate
  expectError("{\"title\":\"\xF4\x90\x80\x80\"}", "Invalid UTF-8 byte sequence", 10);
  expectError("{\"x\":\"\xFF\",\"title\":\"ok\"}", "Invalid UTF-8 byte sequence", 6);
  expectError("{\"title\":\"\xE2\x82\"}", "Invalid UTF-8 byte sequence", 10);  // truncated
}

TEST(JsonBody, AcceptsValidMultibyteUtf8) {
  const Parsed p = parse("{\"title\":\"\xF0\x9F\x98\x80 \xE2\x82\xAC \xC3\xA9\"}");
  ASSERT_TRUE(p.result.ok);
  EXPECT_EQ(countCodePoints(p.values[0].str), 5u);
}

TEST(JsonBody, ReportsTopLevelTypeOfNonObjects) {
  EXPECT_EQ(parse("[1,2]").result.top, JsonType::kArray);
  EXPECT_EQ(parse(" \"s\" ").result.top, JsonType::kString);
  EXPECT_EQ(parse("null").result.top, JsonType::kNull);
  EXPECT_EQ(parse("12").result.top, JsonType::kNumber);
  EXPECT_EQ(parse("false").result.top, JsonType::kBool);
}

TEST(JsonBody, SkipsAUtf8ByteOrderMark) {
  const Parsed p = parse("\xEF\xBB\xBF{\"title\":\"x\"}");
  ASSERT_TRUE(p.result.ok);
  EXPECT_EQ(p.values[0].str, "x");
}

TEST(JsonBody, NumbersAreMarkedIntegralOrNot) {
  const Parsed a = parse(R"({"n":-0})");
  ASSERT_TRUE(a.result.ok);
  EXPECT_TRUE(a.values[2].integral);
  const Parsed b = parse(R"({"n":1E+2})");
  ASSERT_TRUE(b.result.ok);
  EXPECT_FALSE(b.values[2].integral);
  EXPECT_EQ(b.values[2].raw, "1E+2");
}

TEST(JsonBody, ValuesAreResetBetweenParses) {
  static constexpr std::array<std::string_view, 1> kKeys{"title"};
  std::array<JsonValue, 1> values;
  ASSERT_TRUE(parseJsonObject(R"({"title":"a\tb"})", kKeys, values).ok);
  ASSERT_TRUE(parseJsonObject(R"({})", kKeys, values).ok);
  EXPECT_EQ(values[0].type, JsonType::kMissing);
  EXPECT_TRUE(values[0].decoded.empty());
}

TEST(JsonBody, EveryProperPrefixOfAnObjectIsAnError) {
  const std::string doc =
      "{\"title\":\"a\\u00e9\\ud83d\\ude00\\n\",\"done\":false,\"n\":-1.5e+3,"
      "\"x\":[null,true,{\"y\":\"\xC3\xA9\"}],\"z\":{}}";
  ASSERT_TRUE(parse(doc).result.ok);
  for (std::size_t n = 0; n < doc.size(); ++n) {
    const Parsed p = parse(doc.substr(0, n));
    EXPECT_FALSE(p.result.ok) << "prefix of " << n << " bytes was accepted";
    EXPECT_LE(p.result.position, n);
  }
}

TEST(JsonBody, WhitespaceBetweenTokensIsAccepted) {
  const Parsed p =
      parse(" \t\r\n{ \"title\" : \"x\" ,\n\"done\"\t:\ttrue , \"a\" : [ 1 , { } ] } \n");
  ASSERT_TRUE(p.result.ok) << p.result.message << " at " << p.result.position;
  EXPECT_EQ(p.values[0].str, "x");
  EXPECT_TRUE(p.values[1].boolean);
}

// Random byte edits of a valid body: the parser must never crash or read out of bounds (this
// test runs under ASan in CI) and must place every error inside the document.
TEST(JsonBody, SurvivesRandomMutations) {
  const std::string seed =
      R"({"title":"Write \"it\" \u00e9","content":"x","due_date":"2024-05-01",)"
      R"("done":true,"request_timestamp":"2024-05-01T12:00:00Z","n":[1,{"a":null}]})";
  std::mt19937 rng(12345);
  const std::string alphabet = "{}[]\":,\\u0123456789abcdefnulltrue -+.eE\x80\xC3\xA9\xF0\xED";
  std::size_t accepted = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string doc = seed;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !doc.empty(); ++e) {
      const std::size_t at = rng() % doc.size();
      const char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0:
          doc[at] = c;
          break;
        case 1:
          doc.insert(doc.begin() + static_cast<std::ptrdiff_t>(at), c);
          break;
        default:
          doc.erase(at, 1);
      }
    }
    const Parsed p = parse(doc);
    if (p.result.ok) {
      ++accepted;
    } else {
      EXPECT_LE(p.result.position, countCodePoints(doc)) << doc;
      EXPECT_FALSE(p.result.message.empty());
    }
  }
  EXPECT_GT(accepted, 0u);  // some edits keep the document valid: both paths were exercised
}

}  // namespace
}  // namespace appliance::plugins::task_api
