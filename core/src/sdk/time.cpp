#include "appliance/time.h"

#include <array>
#include <charconv>

namespace appliance {
namespace {

bool isLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned daysInMonth(int y, unsigned m) {
  static constexpr std::array<unsigned, 12> kDays{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && isLeap(y) ? 29 : kDays[m - 1];
}

// Reads exactly `n` digits at `pos`.
bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

bool parseDate(std::string_view s, int& y, int& m, int& d) {
  if (s.size() < 10 || s[4] != '-' || s[7] != '-') return false;
  if (!digits(s, 0, 4, y) || !digits(s, 5, 2, m) || !digits(s, 8, 2, d)) return false;
  if (y < 1 || m < 1 || m > 12 || d < 1) return false;
  return static_cast<unsigned>(d) <= daysInMonth(y, static_cast<unsigned>(m));
}

// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z in seconds since the epoch.
constexpr std::int64_t kFirstSecond = -62'135'596'800;
constexpr std::int64_t kLastSecond = 253'402'300'799;

Status bad(std::string_view why) {
  return Status::invalid("invalid datetime: " + std::string(why) +
                         " (expected ISO-8601, e.g. 2024-05-01T12:00:00.123456Z)");
}

}  // namespace

std::int64_t daysFromCivil(int y, unsigned m, unsigned d) {
  // Howard Hinnant's days_from_civil.
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return static_cast<std::int64_t>(era) * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool isValidDate(std::string_view text) {
  int y, m, d;
  return text.size() == 10 && parseDate(text, y, m, d);
}

Timestamp toTimestamp(std::int64_t seconds, std::int64_t micros) {
  return seconds * 1'000'000 + micros;
}

Result<Timestamp> parseTimestamp(std::string_view s) {
  int y, mo, d, h, mi, sec;
  if (!parseDate(s, y, mo, d)) return bad("the date part must be a real YYYY-MM-DD date");
  if (s.size() < 19 || (s[10] != 'T' && s[10] != 't' && s[10] != ' '))
    return bad("expected 'T' and a time after the date");
  if (!digits(s, 11, 2, h) || s[13] != ':' || !digits(s, 14, 2, mi) || s[16] != ':' ||
      !digits(s, 17, 2, sec))
    return bad("the time part must be HH:MM:SS");
  if (h > 23 || mi > 59 || sec > 59) return bad("hour, minute or second out of range");
  std::size_t pos = 19;
  std::int64_t micros = 0;
  if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
    ++pos;
    std::size_t n = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (++n > 6) return bad("more than 6 fractional digits (microseconds are the limit)");
      micros = micros * 10 + (s[pos] - '0');
      ++pos;
    }
    if (n == 0) return bad("a fraction needs at least one digit");
    for (; n < 6; ++n) micros *= 10;
  }
  std::int64_t offset_seconds = 0;
  if (pos < s.size()) {
    const char z = s[pos];
    if (z == 'Z' || z == 'z') {
      ++pos;
    } else if (z == '+' || z == '-') {
      int oh, om;
      if (!digits(s, pos + 1, 2, oh)) return bad("the zone offset must be +HH:MM");
      std::size_t next = pos + 3;
      if (next < s.size() && s[next] == ':') ++next;
      if (!digits(s, next, 2, om)) return bad("the zone offset must be +HH:MM");
      if (oh > 23 || om > 59) return bad("zone offset out of range");
      offset_seconds = (oh * 3600 + om * 60) * (z == '-' ? -1 : 1);
      pos = next + 2;
    } else {
      return bad("unexpected text after the time");
    }
  }
  if (pos != s.size()) return bad("unexpected text after the zone");
  const std::int64_t days = daysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  const std::int64_t seconds = days * 86400 + h * 3600 + mi * 60 + sec - offset_seconds;
  // An offset can move a local time at either end of the calendar out of years 1..9999 in
  // UTC ("0001-01-01T00:00:00+01:00"), which formatTimestamp cannot write.
  if (seconds < kFirstSecond || seconds > kLastSecond) {
    return bad("the instant in UTC is outside years 1-9999");
  }
  return toTimestamp(seconds, micros);
}

namespace {

struct CivilDate {
  std::int64_t year;
  unsigned month;
  unsigned day;
};

// Howard Hinnant's civil_from_days.
CivilDate civilFromDays(std::int64_t days) {
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2), m, d};
}

void putDigits(char* p, std::int64_t v, int width) {
  for (int i = width - 1; i >= 0; --i) {
    p[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
}

void putDate(char* buf, std::int64_t days) {
  const CivilDate date = civilFromDays(days);
  putDigits(buf, date.year, 4);
  buf[4] = '-';
  putDigits(buf + 5, date.month, 2);
  buf[7] = '-';
  putDigits(buf + 8, date.day, 2);
}

}  // namespace

void appendDate(std::string& out, std::int64_t days_since_epoch) {
  char buf[10];
  putDate(buf, days_since_epoch);
  out.append(buf, sizeof buf);
}

void appendTimestamp(std::string& out, Timestamp ts) {
  std::int64_t seconds = ts / 1'000'000;
  std::int64_t micros = ts % 1'000'000;
  if (micros < 0) {
    micros += 1'000'000;
    --seconds;
  }
  std::int64_t days = seconds / 86400;
  std::int64_t rem = seconds % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  char buf[27];
  putDate(buf, days);
  buf[10] = 'T';
  putDigits(buf + 11, rem / 3600, 2);
  buf[13] = ':';
  putDigits(buf + 14, rem / 60 % 60, 2);
  buf[16] = ':';
  putDigits(buf + 17, rem % 60, 2);
  buf[19] = '.';
  putDigits(buf + 20, micros, 6);
  buf[26] = 'Z';
  out.append(buf, sizeof buf);
}

std::string formatTimestamp(Timestamp ts) {
  std::string out;
  out.reserve(27);
  appendTimestamp(out, ts);
  return out;
}

}  // namespace appliance
