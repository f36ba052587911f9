#include "sqlite_config.h"

#include <string>

namespace appliance::plugins::storage_sqlite {

std::string_view synchronousName(Synchronous mode) {
  switch (mode) {
    case Synchronous::kOff:
      return "off";
    case Synchronous::kNormal:
      return "normal";
    case Synchronous::kFull:
      return "full";
    case Synchronous::kExtra:
      return "extra";
  }
  return "full";
}

namespace {

// Below this a RESTART checkpoint would run after nearly every commit.
constexpr std::int64_t kMinWalCheckpointBytes = std::int64_t{1} << 20;

Synchronous toSynchronous(std::string_view name) {
  if (name == "off") return Synchronous::kOff;
  if (name == "normal") return Synchronous::kNormal;
  if (name == "extra") return Synchronous::kExtra;
  return Synchronous::kFull;
}

}  // namespace

Result<SqliteConfig> parseConfig(const ConfigNode& section) {
  ConfigReader reader(section);
  SqliteConfig config;
  config.path = reader.string("path", "");
  if (config.path == ":memory:" || config.path.starts_with("file:")) {
    reader.error("path",
                 "must be a file path (an in-memory or URI database cannot be shared by the "
                 "writer and the read connections); leave it empty for <data.dir>/appliance.db");
  }
  config.busy_timeout = reader.duration("busy_timeout", config.busy_timeout,
                                        std::chrono::milliseconds(0), std::chrono::minutes(10));
  config.synchronous =
      toSynchronous(reader.oneOf("synchronous", "full", {"off", "normal", "full", "extra"}));
  config.readers = static_cast<int>(reader.integer("readers", config.readers, 1, 64));
  config.cache_kib = reader.integer("cache_kib", config.cache_kib, 64, 1024 * 1024);
  config.tombstone_retention =
      reader.duration("tombstone_retention", config.tombstone_retention,
                      std::chrono::milliseconds(0), std::chrono::hours(24 * 365 * 10));
  config.wal_checkpoint_bytes =
      reader.integer("wal_checkpoint_bytes", config.wal_checkpoint_bytes, 0, std::int64_t{1} << 40);
  if (config.wal_checkpoint_bytes > 0 && config.wal_checkpoint_bytes < kMinWalCheckpointBytes) {
    reader.error("wal_checkpoint_bytes",
                 "must be 0 (SQLite's own checkpoints only) or at least 1048576 (1 MiB), got " +
                     std::to_string(config.wal_checkpoint_bytes));
  }
  ConfigNode journal = reader.node("journal_mode");
  if (!journal.isMissing()) {
    reader.error(journal,
                 "cannot be set: the store always uses WAL (concurrent readers, one writer); "
                 "remove the key");
  }
  Status status = reader.finish();
  if (!status.isOk()) return status;
  return config;
}

std::string resolvedPath(const SqliteConfig& config, std::string_view data_dir) {
  if (!config.path.empty()) return config.path;
  std::string path(data_dir.empty() ? std::string_view("./data") : data_dir);
  if (!path.ends_with('/')) path += '/';
  path += "appliance.db";
  return path;
}

}  // namespace appliance::plugins::storage_sqlite
