#pragma once
// Helpers shared by the end-to-end suites: request timestamps, the `postgres` CTest fixture's
// cluster, and reading fields out of JSON responses.

#include <cstdint>
#include <string>

namespace appliance::test {

std::int64_t nowMicros();
// ISO-8601 UTC with microseconds, e.g. "2026-11-26T12:00:00.000001Z".
std::string isoTimestamp(std::int64_t micros);
inline std::string isoNow(std::int64_t offset_us = 0) {
  return isoTimestamp(nowMicros() + offset_us);
}

// The state file of the `postgres` fixture (env APPLIANCE_TEST_PG_STATE, else the build's).
std::string postgresStateFile();
// The URL= line of a pg-test-cluster.sh state file, or "".
std::string postgresUrl(const std::string& state_file);
// Creates a fresh database on the server of `admin_url` and returns its URL ("" on failure,
// with a test failure recorded), so each test sees only its own rows.
std::string createDatabase(const std::string& admin_url);

// The value of "name" in a flat JSON object: the string's content, or the literal.
std::string jsonField(const std::string& json, const std::string& name);

}  // namespace appliance::test
