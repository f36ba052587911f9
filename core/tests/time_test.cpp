#include <gtest/gtest.h>

#include <cstdio>
#include <tuple>

#include "appliance/time.h"

using appliance::formatTimestamp;
using appliance::isValidDate;
using appliance::parseTimestamp;

TEST(Timestamp, ParsesZuluOffsetsFractionsAndNaiveAsUtc) {
  const auto base = parseTimestamp("2024-05-01T12:00:00Z");
  ASSERT_TRUE(base);
  EXPECT_EQ(*base, 1714564800LL * 1'000'000);
  EXPECT_EQ(*parseTimestamp("2024-05-01T14:00:00+02:00"), *base);
  EXPECT_EQ(*parseTimestamp("2024-05-01T07:30:00-0430"), *base);
  EXPECT_EQ(*parseTimestamp("2024-05-01T12:00:00"), *base);  // no zone: UTC
  EXPECT_EQ(*parseTimestamp("2024-05-01 12:00:00"), *base);
  EXPECT_EQ(*parseTimestamp("2024-05-01T12:00:00.5Z"), *base + 500'000);
  EXPECT_EQ(*parseTimestamp("2024-05-01T12:00:00.000001Z"), *base + 1);
  EXPECT_EQ(*parseTimestamp("1969-12-31T23:59:59.999999Z"), -1);
}

TEST(Timestamp, RejectsMalformedInput) {
  for (const char* bad :
       {"", "2024-05-01", "2024-13-01T00:00:00Z", "2023-02-29T00:00:00Z", "2024-05-01T24:00:00Z",
        "2024-05-01T12:00:60Z", "2024-05-01T12:00:00.Z", "2024-05-01T12:00:00.1234567Z",
        "2024-05-01T12:00:00+25:00", "2024-05-01T12:00:00Zjunk", "yesterday", "2024-05-01T12:00"}) {
    EXPECT_FALSE(parseTimestamp(bad)) << bad;
  }
}

// Found by the timestamps fuzz target: an offset moved the instant to year 0 or 10000, which
// formatted as "0000-12-31..." (refused when parsed back) or "0000-01-01..." (wrong).
TEST(Timestamp, RejectsInstantsOutsideYears1To9999InUtc) {
  EXPECT_FALSE(parseTimestamp("0001-01-01T00:00:00+01:00"));
  EXPECT_FALSE(parseTimestamp("9999-12-31T23:59:59-01:00"));
  const auto first = parseTimestamp("0001-01-01T00:00:00Z");
  ASSERT_TRUE(first);
  EXPECT_EQ(formatTimestamp(*first), "0001-01-01T00:00:00.000000Z");
  EXPECT_EQ(*parseTimestamp("0001-01-01T01:00:00+01:00"), *first);
  const auto last = parseTimestamp("9999-12-31T23:59:59.999999Z");
  ASSERT_TRUE(last);
  EXPECT_EQ(formatTimestamp(*last), "9999-12-31T23:59:59.999999Z");
  EXPECT_EQ(*parseTimestamp("9999-12-31T22:59:59.999999-01:00"), *last);
}

TEST(Timestamp, FormatsRoundTrip) {
  EXPECT_EQ(formatTimestamp(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(formatTimestamp(-1), "1969-12-31T23:59:59.999999Z");
  for (const char* text : {"2024-02-29T23:59:59.123456Z", "2000-01-01T00:00:00.000000Z",
                           "2099-12-31T12:34:56.000001Z"}) {
    auto ts = parseTimestamp(text);
    ASSERT_TRUE(ts) << text;
    EXPECT_EQ(formatTimestamp(*ts), text);
  }
}

TEST(Dates, FormatsDayCountsAndRoundTrips) {
  std::string out;
  appliance::appendDate(out, 0);
  EXPECT_EQ(out, "1970-01-01");
  for (const auto& [y, m, d] :
       {std::tuple{2024, 2u, 29u}, {1969, 12u, 31u}, {9999, 12u, 31u}, {2000, 3u, 1u}}) {
    std::string text;
    appliance::appendDate(text, appliance::daysFromCivil(y, m, d));
    char expected[16];
    std::snprintf(expected, sizeof expected, "%04d-%02u-%02u", y, m, d);
    EXPECT_EQ(text, expected);
  }
}

TEST(Dates, ValidatesRealCalendarDates) {
  EXPECT_TRUE(isValidDate("2024-02-29"));
  EXPECT_TRUE(isValidDate("2000-02-29"));
  EXPECT_FALSE(isValidDate("2023-02-29"));
  EXPECT_FALSE(isValidDate("1900-02-29"));
  EXPECT_FALSE(isValidDate("2023-02-30"));
  EXPECT_FALSE(isValidDate("2023-04-31"));
  EXPECT_FALSE(isValidDate("2023-4-1"));
  EXPECT_FALSE(isValidDate("2023-04-01T00:00:00"));
  EXPECT_FALSE(isValidDate("0000-01-01"));
}
