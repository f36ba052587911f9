#pragma once
// SqliteConfig: the typed `storage_sqlite` config section. Parsed in configure() (no side
// effects, so --check-config can run it); the default path is resolved in init(), once the
// data folder is known from the runtime facts.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "appliance/config.h"
#include "appliance/status.h"

namespace appliance::plugins::storage_sqlite {

// PRAGMA synchronous in WAL mode. kFull (the default) syncs the WAL on every commit, so an
// acknowledged write survives power loss; kNormal syncs only at checkpoints, so the last
// commits before a power loss may be lost (the file is never corrupted); kOff leaves syncing to
// the OS (a crash of the machine may corrupt the file); kExtra also syncs the folder.
enum class Synchronous { kOff, kNormal, kFull, kExtra };

std::string_view synchronousName(Synchronous mode);

struct SqliteConfig {
  std::string path;  // empty: <data_dir>/appliance.db, resolved by resolvedPath()
  std::chrono::milliseconds busy_timeout{5000};
  Synchronous synchronous = Synchronous::kFull;
  int readers = 4;  // read-only connections in the pool
  // Page cache per connection (PRAGMA cache_size), in KiB. SQLite's default is 2 MiB; with a
  // writer and four readers that is most of the process's memory under load, while the OS page
  // cache already holds the file.
  std::int64_t cache_kib = 512;
  // Tombstones (deleted tasks) whose last request is older than this are purged in the
  // background, and writes with a request timestamp older than now minus this are refused
  // (task_store.h). 0 keeps tombstones forever and accepts any timestamp.
  std::chrono::milliseconds tombstone_retention{std::chrono::hours(24 * 30)};
  // After a commit that leaves more than this in the WAL, the writer runs a RESTART checkpoint
  // so the WAL is rewritten from its start (readers never let a PASSIVE one finish under
  // continuous load). 0 leaves checkpoints to SQLite alone.
  std::int64_t wal_checkpoint_bytes = std::int64_t{16} << 20;
};

// Parses the `storage_sqlite` section; every error is "file:line: key: what (how to fix)".
Result<SqliteConfig> parseConfig(const ConfigNode& section);

// The database file: `config.path`, or `<data_dir>/appliance.db` when it is empty.
std::string resolvedPath(const SqliteConfig& config, std::string_view data_dir);

}  // namespace appliance::plugins::storage_sqlite
