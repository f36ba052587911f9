#include "migrations.h"

#include <cstdio>
#include <cstdlib>
#include <map>

namespace appliance::plugins::storage_postgres {
namespace {

// Statements after the lock may run long (adopting a big table): no client deadline below
// this, and no server statement_timeout in this session.
constexpr auto kMigrationDeadline = std::chrono::hours(1);

std::string quoteLiteral(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

Result<std::map<int, std::string>> appliedVersions(PgConnection& conn,
                                                   SteadyClock::time_point deadline) {
  PgResult result;
  if (Status s =
          conn.exec("SELECT version::text, checksum FROM schema_migrations", deadline, &result);
      !s.isOk()) {
    return s;
  }
  std::map<int, std::string> versions;
  for (int row = 0; result && row < PQntuples(result.get()); ++row) {
    versions[std::atoi(PQgetvalue(result.get(), row, 0))] = PQgetvalue(result.get(), row, 1);
  }
  return versions;
}

Status applyOne(PgConnection& conn, const Migration& migration, SteadyClock::time_point deadline) {
  // One simple-protocol string: BEGIN ... COMMIT, so the migration and its record commit
  // together or not at all (an error aborts the rest of the string).
  std::string sql = "BEGIN;\n";
  sql.append(migration.sql);
  sql += "\n;\nINSERT INTO schema_migrations (version, name, checksum) VALUES (" +
         std::to_string(migration.version) + ", " + quoteLiteral(migration.name) + ", " +
         quoteLiteral(migrationChecksum(migration.sql)) + ");\nCOMMIT;";
  Status s = conn.exec(sql, deadline);
  if (!s.isOk() && !conn.broken()) (void)conn.exec("ROLLBACK", deadline);
  return s;
}

}  // namespace

std::string migrationChecksum(std::string_view sql) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : sql) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  char buffer[17];
  std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(hash));
  return buffer;
}

Result<MigrationOutcome> applyMigrations(PgConnection& conn, std::span<const Migration> migrations,
                                         const Logger& logger,
                                         std::chrono::milliseconds lock_wait) {
  const auto deadline = SteadyClock::now() + kMigrationDeadline;
  const std::string setup = "SET statement_timeout = 0; SET TimeZone = 'UTC'; SET lock_timeout = " +
                            std::to_string(lock_wait.count()) + "; SELECT pg_advisory_lock(" +
                            std::to_string(kMigrationLockKey) + "); SET lock_timeout = 0";
  if (Status s = conn.exec(setup, deadline); !s.isOk()) {
    return Status(s.code(), "cannot take the migration lock: " + s.message());
  }
  auto unlock = [&] {
    if (!conn.broken()) {
      (void)conn.exec("SELECT pg_advisory_unlock(" + std::to_string(kMigrationLockKey) + ")",
                      deadline);
    }
  };
  Status s = conn.exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT "
      "NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
      deadline);
  auto applied = s.isOk() ? appliedVersions(conn, deadline) : Result<std::map<int, std::string>>(s);
  if (!applied.isOk()) {
    unlock();
    return Status(applied.status().code(),
                  "cannot read schema_migrations: " + applied.status().message());
  }
  MigrationOutcome outcome;
  for (const Migration& migration : migrations) {
    auto found = applied->find(migration.version);
    if (found != applied->end()) {
      if (found->second != migrationChecksum(migration.sql)) {
        logger.warn("migration file changed after it was applied; not re-applied",
                    {{"migration", migration.name}});
      }
      continue;
    }
    if (Status m = applyOne(conn, migration, deadline); !m.isOk()) {
      unlock();
      // A connection or lock problem is worth retrying; anything else the server refused.
      const bool transient =
          m.code() == StatusCode::kUnavailable || m.code() == StatusCode::kTimeout;
      return Status(transient ? m.code() : StatusCode::kFailedPrecondition,
                    "migration " + std::string(migration.name) + " failed: " + m.message());
    }
    logger.info("applied migration", {{"migration", migration.name}});
    outcome.applied.push_back(migration.version);
    applied.value()[migration.version] = migrationChecksum(migration.sql);
  }
  unlock();
  outcome.schema_version = applied->empty() ? 0 : applied->rbegin()->first;
  return outcome;
}

}  // namespace appliance::plugins::storage_postgres
