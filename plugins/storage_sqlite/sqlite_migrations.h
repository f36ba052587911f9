#pragma once
// Versioned schema migrations. Each numbered step runs in its own BEGIN IMMEDIATE transaction
// together with its row in `schema_migrations` (and PRAGMA user_version), so a step is applied
// exactly once, also when two processes open the same file at once.

#include <cstdint>
#include <span>
#include <string_view>

#include "appliance/status.h"
#include "sqlite_connection.h"

namespace appliance::plugins::storage_sqlite {

struct Migration {
  int version;            // 1, 2, 3, ... without gaps
  std::string_view name;  // short description, stored with the version
  std::string_view sql;   // fixed DDL/DML, no values
};

// The steps this build knows, in order.
std::span<const Migration> migrations();

// Applies every step above the database's version. Refuses (kFailedPrecondition) a database
// whose version is newer than this build knows. `now` is stored as applied_at (micros).
// Returns the number of steps applied.
Result<int> applyMigrations(Connection& db, std::int64_t now);

// The highest applied version (0 for a new file).
Result<int> schemaVersion(Connection& db);

}  // namespace appliance::plugins::storage_sqlite
