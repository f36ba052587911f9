#include "pg_codec.h"

#include <gtest/gtest.h>

namespace appliance::plugins::storage_postgres {
namespace {

std::int64_t bigEndian(const char* bytes, int length) {
  std::int64_t value = 0;
  for (int i = 0; i < length; ++i) value = (value << 8) | static_cast<unsigned char>(bytes[i]);
  if (length == 4) value = static_cast<std::int32_t>(value);
  return value;
}

TEST(FormatDate, ConvertsDaysSinceTheUnixEpoch) {
  EXPECT_EQ(formatDate(0), "1970-01-01");
  EXPECT_EQ(formatDate(10957), "2000-01-01");
  EXPECT_EQ(formatDate(-1), "1969-12-31");
  EXPECT_EQ(formatDate(daysFromCivil(2024, 2, 29)), "2024-02-29");
  EXPECT_EQ(formatDate(daysFromCivil(9999, 12, 31)), "9999-12-31");
}

TEST(Params, EncodesDatesAsDaysSincePostgresEpoch) {
  Params params;
  ASSERT_TRUE(params.date("2000-01-02"));
  ASSERT_TRUE(params.date("1999-12-31"));
  EXPECT_EQ(params.lengths()[0], 4);
  EXPECT_EQ(bigEndian(params.values()[0], 4), 1);
  EXPECT_EQ(bigEndian(params.values()[1], 4), -1);
  EXPECT_EQ(params.formats()[0], 1);
}

TEST(Params, RejectsImpossibleDatesAndSendsNull) {
  Params params;
  EXPECT_FALSE(params.date("2023-02-30"));
  EXPECT_FALSE(params.date("2023-2-3"));
  ASSERT_EQ(params.count(), 2);
  EXPECT_EQ(params.values()[0], nullptr);
  EXPECT_EQ(params.values()[1], nullptr);
}

TEST(Params, EncodesTimestampsRelativeToPostgresEpoch) {
  Params params;
  params.timestamp(kPostgresEpochMicros + 5);
  params.timestamp(0);
  EXPECT_EQ(bigEndian(params.values()[0], 8), 5);
  EXPECT_EQ(bigEndian(params.values()[1], 8), -kPostgresEpochMicros);
}

TEST(Params, ReferencesTextWithoutCopyingAndKeepsEmbeddedBytes) {
  const std::string text("a\0b", 3);
  Params params;
  params.text(text);
  params.int8(-2);
  params.boolean(true);
  params.null();
  ASSERT_EQ(params.count(), 4);
  EXPECT_EQ(params.values()[0], text.data());
  EXPECT_EQ(params.lengths()[0], 3);
  EXPECT_EQ(bigEndian(params.values()[1], 8), -2);
  EXPECT_EQ(params.values()[2][0], 1);
  EXPECT_EQ(params.values()[3], nullptr);
}

}  // namespace
}  // namespace appliance::plugins::storage_postgres
