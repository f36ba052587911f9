#pragma once
// Timestamps and dates as the Task API exchanges them.
// Timestamp: microseconds since the Unix epoch, UTC.

#include <cstdint>
#include <string>
#include <string_view>

#include "appliance/status.h"

namespace appliance {

using Timestamp = std::int64_t;

// ISO-8601 / RFC 3339: "2024-05-01T12:00:00Z", "...T12:00:00.123456+02:00",
// "2024-05-01 12:00:00". A timestamp without a zone is taken as UTC. Up to 6 fractional
// digits are kept; more digits are rejected rather than silently rounded. Leap second 60 is
// rejected.
Result<Timestamp> parseTimestamp(std::string_view text);

// "2024-05-01T12:00:00.123456Z" (always six fractional digits, always Z).
std::string formatTimestamp(Timestamp ts);
void appendTimestamp(std::string& out, Timestamp ts);

Timestamp toTimestamp(std::int64_t seconds, std::int64_t micros = 0);

// "YYYY-MM-DD" with a real calendar date (2023-02-30 is not).
bool isValidDate(std::string_view text);

// Days since 1970-01-01 for a valid civil date (proleptic Gregorian).
std::int64_t daysFromCivil(int year, unsigned month, unsigned day);

// "YYYY-MM-DD" for a day count since 1970-01-01 (years 0..9999).
void appendDate(std::string& out, std::int64_t days_since_epoch);

}  // namespace appliance
