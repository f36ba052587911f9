#pragma once
// Versioned schema migrations, compiled into the plugin from migrations/NNNN_name.sql (see
// embed_migrations.cmake), so the .so needs no files at run time.
//
// applyMigrations() takes a session-level advisory lock (kMigrationLockKey) so that many
// processes starting at once apply each migration exactly once: the first applies them, the
// others wait for the lock and then find them recorded in schema_migrations. Each migration
// runs in its own transaction together with its schema_migrations row.

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/logger.h"
#include "appliance/status.h"
#include "pg_connection.h"

namespace appliance::plugins::storage_postgres {

struct Migration {
  int version;            // from the file name's leading digits
  std::string_view name;  // file name without .sql
  std::string_view sql;
};

// The migrations built into this binary, ascending by version.
std::span<const Migration> embeddedMigrations();

struct MigrationOutcome {
  std::vector<int> applied;  // versions this call applied
  int schema_version = 0;    // highest version recorded in the database afterwards
};

// `conn` must be a plain (non-pooled) session. `lock_wait` bounds the wait for another
// process's migration run.
Result<MigrationOutcome> applyMigrations(PgConnection& conn, std::span<const Migration> migrations,
                                         const Logger& logger, std::chrono::milliseconds lock_wait);

// FNV-1a 64 as 16 hex digits: recorded per migration to notice an edited file.
std::string migrationChecksum(std::string_view sql);

}  // namespace appliance::plugins::storage_postgres
