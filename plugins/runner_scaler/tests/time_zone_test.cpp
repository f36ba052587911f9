#include "time_zone.h"

#include <gtest/gtest.h>

namespace appliance::plugins::runner_scaler {
namespace {

using namespace std::chrono;

sys_seconds utc(int y, unsigned m, unsigned d, int h, int min = 0) {
  return sys_days{year{y} / month{m} / day{d}} + hours{h} + minutes{min};
}

TEST(TimeZone, UtcHasNoOffset) {
  auto zone = TimeZone::load("UTC");
  ASSERT_TRUE(zone.isOk());
  EXPECT_EQ(zone->offsetAt(utc(2026, 7, 1, 12)), seconds{0});
}

TEST(TimeZone, BerlinFromTheSystemDatabaseFollowsDst) {
  auto zone = TimeZone::load("Europe/Berlin");
  ASSERT_TRUE(zone.isOk()) << zone.status().message();
  EXPECT_EQ(zone->offsetAt(utc(2026, 1, 15, 12)), hours{1});
  EXPECT_EQ(zone->offsetAt(utc(2026, 7, 15, 12)), hours{2});
  // 2026-03-29 01:00 UTC: clocks go from 02:00 CET to 03:00 CEST.
  EXPECT_EQ(zone->offsetAt(utc(2026, 3, 29, 0, 59)), hours{1});
  EXPECT_EQ(zone->offsetAt(utc(2026, 3, 29, 1, 0)), hours{2});
  // 2026-10-25 01:00 UTC: back to CET.
  EXPECT_EQ(zone->offsetAt(utc(2026, 10, 25, 0, 59)), hours{2});
  EXPECT_EQ(zone->offsetAt(utc(2026, 10, 25, 1, 0)), hours{1});
  // Far beyond any transition table: the POSIX footer rule (or the fat file's table) decides.
  EXPECT_EQ(zone->offsetAt(utc(2090, 7, 1, 12)), hours{2});
  EXPECT_EQ(zone->offsetAt(utc(2090, 12, 1, 12)), hours{1});
}

TEST(TimeZone, SouthernHemisphereAndHalfHours) {
  auto sydney = TimeZone::load("Australia/Sydney");
  ASSERT_TRUE(sydney.isOk());
  EXPECT_EQ(sydney->offsetAt(utc(2026, 1, 15, 0)), hours{11});
  EXPECT_EQ(sydney->offsetAt(utc(2026, 7, 15, 0)), hours{10});
  auto kolkata = TimeZone::load("Asia/Kolkata");
  ASSERT_TRUE(kolkata.isOk());
  EXPECT_EQ(kolkata->offsetAt(utc(2026, 7, 15, 0)), hours{5} + minutes{30});
}

TEST(TimeZone, PosixRulesAloneMatchTheDatabase) {
  auto ny = TimeZone::fromPosixRule("America/New_York", "EST5EDT,M3.2.0,M11.1.0");
  ASSERT_TRUE(ny.isOk());
  auto db = TimeZone::load("America/New_York");
  ASSERT_TRUE(db.isOk());
  for (auto t = utc(2026, 1, 1, 0); t < utc(2027, 1, 1, 0); t += hours{7}) {
    ASSERT_EQ(ny->offsetAt(t), db->offsetAt(t)) << t.time_since_epoch().count();
  }
  auto berlin = TimeZone::fromPosixRule("x", "CET-1CEST,M3.5.0,M10.5.0/3");
  ASSERT_TRUE(berlin.isOk());
  EXPECT_EQ(berlin->offsetAt(utc(2031, 3, 30, 0, 59)), hours{1});
  EXPECT_EQ(berlin->offsetAt(utc(2031, 3, 30, 1, 0)), hours{2});
  auto chile = TimeZone::fromPosixRule("x", "<-04>4<-03>,M9.1.6/24,M4.1.6/24");
  ASSERT_TRUE(chile.isOk());
  EXPECT_EQ(chile->offsetAt(utc(2031, 1, 10, 0)), hours{-3});
  EXPECT_EQ(chile->offsetAt(utc(2031, 6, 10, 0)), hours{-4});
}

TEST(TimeZone, UnknownOrUnsafeNamesAreRefusedWithTheReason) {
  auto missing = TimeZone::load("Mars/Olympus_Mons");
  ASSERT_FALSE(missing.isOk());
  EXPECT_NE(missing.status().message().find("not found"), std::string::npos);
  EXPECT_NE(missing.status().message().find("tzdata"), std::string::npos);
  EXPECT_FALSE(TimeZone::load("../../etc/passwd").isOk());
  EXPECT_FALSE(TimeZone::load("/etc/localtime").isOk());
  EXPECT_FALSE(TimeZone::fromPosixRule("x", "CET-1CEST,M13.5.0,M10.5.0").isOk());
  EXPECT_FALSE(TimeZone::fromPosixRule("x", "nonsense").isOk());
}

}  // namespace
}  // namespace appliance::plugins::runner_scaler
