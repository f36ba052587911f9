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
