#include "pg_codec.h"

#include <cstring>

namespace appliance::plugins::storage_postgres {
namespace {

void putBigEndian(char* out, std::uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) {
    out[i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
}

std::uint64_t getBigEndian(const char* in, int bytes) {
  std::uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value = (value << 8) | static_cast<unsigned char>(in[i]);
  return value;
}

std::int64_t signExtend(std::uint64_t value, int bytes) {
  if (bytes == 8) return static_cast<std::int64_t>(value);
  const int shift = 64 - bytes * 8;
  return static_cast<std::int64_t>(value << shift) >> shift;
}

}  // namespace

char* Params::slot(int length) {
  char* out = scratch_[count_].data();
  values_[count_] = out;
  lengths_[count_] = length;
  formats_[count_] = 1;
  ++count_;
  return out;
}

void Params::int8(std::int64_t value) {
  putBigEndian(slot(8), static_cast<std::uint64_t>(value), 8);
}

void Params::int4(std::int32_t value) {
  putBigEndian(slot(4), static_cast<std::uint32_t>(value), 4);
}

void Params::text(std::string_view value) {
  values_[count_] = value.data();
  lengths_[count_] = static_cast<int>(value.size());
  formats_[count_] = 1;  // binary text = the raw bytes; no NUL terminator needed
  ++count_;
}

void Params::boolean(bool value) { *slot(1) = value ? 1 : 0; }

void Params::timestamp(Timestamp value) {
  putBigEndian(slot(8), static_cast<std::uint64_t>(value - kPostgresEpochMicros), 8);
}

bool Params::date(std::string_view value) {
  if (!isValidDate(value)) {
    null();
    return false;
  }
  const auto number = [&](std::size_t pos, std::size_t n) {
    int v = 0;
    for (std::size_t i = pos; i < pos + n; ++i) v = v * 10 + (value[i] - '0');
    return v;
  };
  const std::int64_t days = daysFromCivil(number(0, 4), static_cast<unsigned>(number(5, 2)),
                                          static_cast<unsigned>(number(8, 2))) -
                            kPostgresEpochDays;
  putBigEndian(slot(4), static_cast<std::uint64_t>(days), 4);
  return true;
}

void Params::int8Array(std::span<const std::int64_t> values, std::string& buffer) {
  // ndim, has-nulls flag, element type, then per dimension its length and lower bound, then
  // each element as (length, value).
  buffer.resize(20 + 12 * values.size());
  char* out = buffer.data();
  const auto put32 = [&out](std::uint32_t v) {
    putBigEndian(out, v, 4);
    out += 4;
  };
  put32(1);
  put32(0);
  put32(kInt8Oid);
  put32(static_cast<std::uint32_t>(values.size()));
  put32(1);
  for (std::int64_t value : values) {
    put32(8);
    putBigEndian(out, static_cast<std::uint64_t>(value), 8);
    out += 8;
  }
  text(buffer);
}

void Params::null() {
  values_[count_] = nullptr;
  lengths_[count_] = 0;
  formats_[count_] = 1;
  ++count_;
}

std::int64_t readInt(const PGresult* result, int row, int column) {
  const int length = PQgetlength(result, row, column);
  return signExtend(getBigEndian(PQgetvalue(result, row, column), length), length);
}

bool readBool(const PGresult* result, int row, int column) {
  return PQgetlength(result, row, column) == 1 && PQgetvalue(result, row, column)[0] != 0;
}

Timestamp readTimestamp(const PGresult* result, int row, int column) {
  return signExtend(getBigEndian(PQgetvalue(result, row, column), 8), 8) + kPostgresEpochMicros;
}

std::string formatDate(std::int64_t days_since_unix_epoch) {
  std::string out;
  out.reserve(10);
  appendDate(out, days_since_unix_epoch);
  return out;
}

Status readTaskView(const PGresult* result, int row, TaskView& out, std::string& date_scratch,
                    int c) {
  static constexpr int kLengths[kTaskColumns] = {0, -1, -1, 4, 1, 8, 8, 8};
  for (int i = 0; i < kTaskColumns; ++i) {
    const int length = PQgetlength(result, row, c + i);
    const bool ok = PQgetisnull(result, row, c + i) == 0 &&
                    (i == 0 ? (length == 2 || length == 4 || length == 8)
                            : (kLengths[i] < 0 || length == kLengths[i]));
    if (!ok) {
      return Status::internal(std::string("unexpected value in column ") + PQfname(result, c + i) +
                              " of tasks (was the table altered?)");
    }
  }
  const auto text = [&](int column) {
    return std::string_view(PQgetvalue(result, row, column),
                            static_cast<std::size_t>(PQgetlength(result, row, column)));
  };
  const std::int64_t pg_days = signExtend(getBigEndian(PQgetvalue(result, row, c + 3), 4), 4);
  date_scratch.clear();
  appendDate(date_scratch, pg_days + kPostgresEpochDays);
  out.id = readInt(result, row, c);
  out.title = text(c + 1);
  out.content = text(c + 2);
  out.due_date = date_scratch;
  out.done = readBool(result, row, c + 4);
  out.created_at = readTimestamp(result, row, c + 5);
  out.updated_at = readTimestamp(result, row, c + 6);
  out.last_request_at = readTimestamp(result, row, c + 7);
  return Status::ok();
}

Result<Task> readTask(const PGresult* result, int row, int first_column) {
  TaskView view;
  std::string date;
  if (Status s = readTaskView(result, row, view, date, first_column); !s.isOk()) return s;
  return taskOf(view);
}

}  // namespace appliance::plugins::storage_postgres
