#pragma once
// PostgresConfig: the typed `storage_postgres` config section, and how it becomes libpq
// connection parameters.
//
// Where the server is: `url` (a libpq URI or key=value conninfo); else, when no discrete
// `host` is given either, the DATABASE_URL environment variable. Discrete keys (host, port,
// dbname, user, password, password_file, sslmode, sslrootcert) override the matching parts of
// the URL, so `url: postgresql://app@db/tasks` + `password_file: /run/secrets/db` works.
// password_file is re-read for every new connection, so a rotated Kubernetes Secret is used
// without a restart.
//
// Values are validated in parsePostgresConfig() with no side effect but reading
// password_file's readability; no error message contains a password.

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "appliance/config.h"
#include "appliance/status.h"
#include "redaction.h"

namespace appliance::plugins::storage_postgres {

struct PoolConfig {
  int min = 1;
  int max = 8;
  std::chrono::milliseconds acquire_timeout{2000};
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(5)};
};

struct PostgresConfig {
  std::string url;         // base URI/conninfo; may be empty when discrete keys say it all
  std::string url_origin;  // "storage_postgres.url", "DATABASE_URL" or ""
  std::optional<std::string> host, port, dbname, user, password, password_file, sslmode,
      sslrootcert;
  PoolConfig pool;
  std::chrono::milliseconds statement_timeout{5000};
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds counts_max_age{5000};  // how stale counts() may be
  int write_batch_size = 64;  // writes committed together at most; 1 = no group commit
  int read_batch_size = 64;   // GETs by id answered by one statement at most; 1 = unbatched
  std::string application_name = "appliance";
  // Tombstones whose last request is older than this are purged in the background, and
  // writes with a request timestamp older than now minus this are refused (task_store.h).
  // 0 keeps tombstones forever and accepts any timestamp.
  std::chrono::milliseconds tombstone_retention{std::chrono::hours(24 * 30)};
};

using EnvLookup = std::function<const char*(const char*)>;

// Parses and validates the section; reader.finish() rejects unknown keys.
Result<PostgresConfig> parsePostgresConfig(const ConfigNode& section,
                                           const EnvLookup& env = nullptr);

// libpq keyword/value arrays for PQconnectdbParams(..., expand_dbname = 1), NUL-terminated.
struct ConnectArgs {
  std::vector<std::string> strings;  // owns what the pointers below point to
  std::vector<const char*> keywords;
  std::vector<const char*> values;
};

// Turns a PostgresConfig into connection arguments. Thread-safe: the pool dials from many
// threads at once.
class ConnectionParams {
 public:
  explicit ConnectionParams(const PostgresConfig& config);

  // Re-reads password_file when one is configured.
  Result<ConnectArgs> build() const;

  // "postgresql://app:***@db:5432/tasks" (plus overriding keys) for log lines.
  const std::string& description() const { return description_; }
  // Masks every known password in `text` (libpq error messages, server messages).
  std::string scrub(std::string_view text) const;

 private:
  std::vector<std::pair<std::string, std::string>> params_;  // in order; later ones win
  std::optional<std::string> password_file_;
  std::string description_;
  SecretScrubber scrubber_;  // the configured passwords
  mutable std::mutex file_password_mutex_;
  mutable std::string file_password_;  // last value read from password_file_
};

// Reads a password file: the first line, without its line ending.
Result<std::string> readPasswordFile(const std::string& path);

}  // namespace appliance::plugins::storage_postgres
