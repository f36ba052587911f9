#pragma once
// Binary wire formats of the PostgreSQL types the store exchanges: parameters are sent and
// results received in binary, so no text is formatted or parsed for ids, timestamps, dates
// or booleans, and nothing depends on the server's DateStyle or TimeZone.

#include <libpq-fe.h>

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "appliance/status.h"
#include "appliance/task_store.h"
#include "appliance/time.h"
#include "statements.h"

namespace appliance::plugins::storage_postgres {

// Microseconds between the Unix epoch and PostgreSQL's (2000-01-01).
inline constexpr std::int64_t kPostgresEpochMicros = 946'684'800'000'000;
inline constexpr std::int32_t kPostgresEpochDays = 10'957;

// Binary parameters for one statement, without heap allocation. Text values are referenced,
// not copied: they must outlive the call. Not copyable (pointers into itself).
class Params {
 public:
  static constexpr int kMax = 7;
  Params() = default;
  Params(const Params&) = delete;
  Params& operator=(const Params&) = delete;

  void int8(std::int64_t value);
  void int4(std::int32_t value);
  void text(std::string_view value);
  void boolean(bool value);
  void timestamp(Timestamp value);
  // "YYYY-MM-DD"; false (and a NULL is sent) when it is not a real calendar date.
  bool date(std::string_view value);
  void null();
  // int8[] in the binary array format, encoded into `buffer`, which must outlive the call.
  void int8Array(std::span<const std::int64_t> values, std::string& buffer);

  int count() const { return count_; }
  const char* const* values() const { return values_.data(); }
  const int* lengths() const { return lengths_.data(); }
  const int* formats() const { return formats_.data(); }

 private:
  char* slot(int length);
  std::array<const char*, kMax> values_{};
  std::array<int, kMax> lengths_{};
  std::array<int, kMax> formats_{};
  std::array<std::array<char, 8>, kMax> scratch_{};
  int count_ = 0;
};

// Column readers for binary results. Callers check PQgetisnull first where NULL is possible.
std::int64_t readInt(const PGresult* result, int row, int column);  // int2, int4 or int8
bool readBool(const PGresult* result, int row, int column);
Timestamp readTimestamp(const PGresult* result, int row, int column);

// Days since 1970-01-01 -> "YYYY-MM-DD" (proleptic Gregorian).
std::string formatDate(std::int64_t days_since_unix_epoch);

// One task from the kTaskColumns columns starting at `first_column`; kInternal when the
// columns do not have the expected binary shapes (a table altered behind our back).
Result<Task> readTask(const PGresult* result, int row, int first_column = 0);
// The same row lent as views into `result`, its due date formatted into `date_scratch` (short
// enough for the string's inline buffer: no allocation). Valid while both live, unchanged.
Status readTaskView(const PGresult* result, int row, TaskView& out, std::string& date_scratch,
                    int first_column = 0);

}  // namespace appliance::plugins::storage_postgres
