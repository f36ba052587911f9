// Fuzz target: the SDK's date and timestamp parsers (appliance/time.h), which read the
// request_timestamp and due_date of every task request. Any input: no crash, no UB; a
// timestamp that parses formats to the canonical form, which parses back to the same
// instant; a valid date survives daysFromCivil -> appendDate unchanged.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "appliance/time.h"
#include "fuzz_check.h"

namespace {

using appliance::Timestamp;

bool isDigit(char c) { return c >= '0' && c <= '9'; }

// "YYYY-MM-DDTHH:MM:SS.ffffffZ"
bool isCanonical(std::string_view s) {
  static constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:dd.ddddddZ";
  if (s.size() != kShape.size()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (kShape[i] == 'd' ? !isDigit(s[i]) : s[i] != kShape[i]) return false;
  }
  return true;
}

int number(std::string_view digits) {
  int value = 0;
  for (const char c : digits) value = value * 10 + (c - '0');
  return value;
}

void checkTimestamp(std::string_view text) {
  const appliance::Result<Timestamp> parsed = appliance::parseTimestamp(text);
  if (!parsed.isOk()) {
    FUZZ_CHECK(!parsed.status().message().empty());
    return;
  }
  FUZZ_CHECK(appliance::isValidDate(text.substr(0, 10)));
  const std::string formatted = appliance::formatTimestamp(*parsed);
  FUZZ_CHECK(isCanonical(formatted));
  const appliance::Result<Timestamp> again = appliance::parseTimestamp(formatted);
  FUZZ_CHECK(again.isOk());
  FUZZ_CHECK(*again == *parsed);
  FUZZ_CHECK(appliance::formatTimestamp(*again) == formatted);
}

void checkDate(std::string_view text) {
  if (!appliance::isValidDate(text)) return;
  FUZZ_CHECK(text.size() == 10);
  const int year = number(text.substr(0, 4));
  const int month = number(text.substr(5, 2));
  const int day = number(text.substr(8, 2));
  FUZZ_CHECK(year >= 1 && month >= 1 && month <= 12 && day >= 1 && day <= 31);
  const std::int64_t days =
      appliance::daysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  std::string formatted;
  appliance::appendDate(formatted, days);
  FUZZ_CHECK(formatted == text);
  // Midnight of that day is a timestamp of the same date.
  const appliance::Result<Timestamp> midnight =
      appliance::parseTimestamp(std::string(text) + "T00:00:00Z");
  FUZZ_CHECK(midnight.isOk() && *midnight == appliance::toTimestamp(days * 86400));
}

// Formatting any instant within years 1..9999 gives a canonical string that parses back.
void checkFormat(const std::uint8_t* data, std::size_t size) {
  if (size < sizeof(std::int64_t)) return;
  std::int64_t raw = 0;
  std::memcpy(&raw, data, sizeof raw);
  constexpr Timestamp kMin = -62135596800LL * 1'000'000;            // 0001-01-01T00:00:00Z
  constexpr Timestamp kMax = 253402300799LL * 1'000'000 + 999'999;  // 9999-12-31T23:59:59.999999Z
  const std::uint64_t span = static_cast<std::uint64_t>(kMax - kMin) + 1;
  const Timestamp ts = kMin + static_cast<Timestamp>(static_cast<std::uint64_t>(raw) % span);
  const std::string formatted = appliance::formatTimestamp(ts);
  FUZZ_CHECK(isCanonical(formatted));
  const appliance::Result<Timestamp> parsed = appliance::parseTimestamp(formatted);
  FUZZ_CHECK(parsed.isOk() && *parsed == ts);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  checkTimestamp(text);
  checkDate(text);
  checkFormat(data, size);
  return 0;
}
