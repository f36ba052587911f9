#include "test_clock.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

namespace appliance::host {
namespace {

using namespace std::chrono;
namespace fs = std::filesystem;

system_clock::time_point epoch(double seconds) {
  return system_clock::time_point(duration_cast<system_clock::duration>(duration<double>(seconds)));
}

class FileClockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("file-clock-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    path_ = (dir_ / "now").string();
  }
  void TearDown() override { fs::remove_all(dir_); }
  // As a test should: a temporary file renamed over the clock file.
  void write(const std::string& text) {
    const std::string tmp = path_ + ".tmp";
    std::ofstream(tmp) << text;
    fs::rename(tmp, path_);
  }

  fs::path dir_;
  std::string path_;
};

TEST(ParseEpochSeconds, AcceptsDecimalSecondsWithWhitespace) {
  EXPECT_EQ(parseEpochSeconds("1764748800"), epoch(1764748800));
  EXPECT_EQ(parseEpochSeconds(" 1764748800.5\n"), epoch(1764748800.5));
  EXPECT_EQ(parseEpochSeconds("0"), epoch(0));
  EXPECT_EQ(*parseEpochSeconds("1.000000001") - epoch(1), nanoseconds(1));
  EXPECT_EQ(parseEpochSeconds("7258118399"),  // 2199-12-31T23:59:59Z
            system_clock::time_point(seconds(7258118399)));
}

TEST(ParseEpochSeconds, RefusesAnythingElse) {
  for (const char* bad :
       {"", " ", "-1", "+5", "1e9", "0x10", "1.", ".5", "1 2", "12:00", "inf", "nan", "7258118400",
        "99999999999999999999", "2026-12-03T10:00:00Z", "1764748800\n1764748801"}) {
    EXPECT_FALSE(parseEpochSeconds(bad)) << bad;
  }
}

TEST_F(FileClockTest, RunsOnFromTheFilesTimeWithTheSteadyClock) {
  write("1764748800\n");
  auto clock = FileClock::open(path_);
  ASSERT_TRUE(clock) << clock.status().message();
  const auto a = (*clock)->now();
  EXPECT_GE(a, epoch(1764748800));
  EXPECT_LT(a, epoch(1764748800) + seconds(5));
  std::this_thread::sleep_for(milliseconds(20));
  const auto b = (*clock)->now();
  EXPECT_GE(b - a, milliseconds(20));
}

TEST_F(FileClockTest, JumpsWhenANewTimeIsWrittenAndIgnoresATouch) {
  write("1764748800");
  auto clock = FileClock::open(path_);
  ASSERT_TRUE(clock);
  write("1764835200.25");  // a day and a quarter second later
  const auto jumped = (*clock)->now();
  EXPECT_GE(jumped, epoch(1764835200.25));
  EXPECT_LT(jumped, epoch(1764835200.25) + seconds(5));
  std::this_thread::sleep_for(milliseconds(20));
  write("1764835200.25");  // the same time again: the clock does not go back
  EXPECT_GE((*clock)->now(), epoch(1764835200.25) + milliseconds(20));
  write("1764662400");  // and backwards, when a test says so
  EXPECT_LT((*clock)->now(), epoch(1764662400) + seconds(5));
}

TEST_F(FileClockTest, ABadRewriteKeepsTheLastGoodTime) {
  write("1764748800");
  auto clock = FileClock::open(path_);
  ASSERT_TRUE(clock);
  write("tomorrow");
  EXPECT_LT((*clock)->now(), epoch(1764748800) + seconds(5));
  fs::remove(path_);
  EXPECT_LT((*clock)->now(), epoch(1764748800) + seconds(5));
  write("1764835200");
  EXPECT_GE((*clock)->now(), epoch(1764835200));
}

TEST_F(FileClockTest, OpenNamesTheVariableTheFileAndTheFix) {
  auto missing = FileClock::open(path_);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.status().message(),
            "APPLIANCE_TEST_CLOCK_FILE " + path_ +
                ": cannot read (write epoch seconds such as 1764748800 to it)");
  write("next tuesday");
  auto malformed = FileClock::open(path_);
  ASSERT_FALSE(malformed);
  EXPECT_EQ(malformed.status().message(),
            "APPLIANCE_TEST_CLOCK_FILE " + path_ +
                ": not epoch seconds between 1970 and 2200 (write e.g. 1764748800 or "
                "1764748800.5)");
}

}  // namespace
}  // namespace appliance::host
