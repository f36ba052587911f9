#include "postgres_config.h"

#include <libpq-fe.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

namespace appliance::plugins::storage_postgres {
namespace {

constexpr std::string_view kSslModes[] = {"disable", "allow",     "prefer",
                                          "require", "verify-ca", "verify-full"};

// The password a libpq URI/conninfo carries, or "" (for the scrubber). Never fails.
std::string passwordIn(const std::string& conninfo) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  if (error != nullptr) PQfreemem(error);
  if (options == nullptr) return {};
  std::string password;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (std::strcmp(o->keyword, "password") == 0 && o->val != nullptr) password = o->val;
  }
  PQconninfoFree(options);
  return password;
}

// Null when `conninfo` parses; else libpq's reason, with the password masked.
std::optional<std::string> conninfoError(const std::string& conninfo) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  if (options != nullptr) {
    PQconninfoFree(options);
    return std::nullopt;
  }
  std::string reason = error != nullptr ? error : "out of memory";
  if (error != nullptr) PQfreemem(error);
  while (!reason.empty() && (reason.back() == '\n' || reason.back() == ' ')) reason.pop_back();
  return SecretScrubber({passwordIn(conninfo)}).scrub(redactConnectionString(reason));
}

void readConnectionKeys(ConfigReader& reader, PostgresConfig& config) {
  config.host = reader.optionalString("host");
  config.port = reader.optionalString("port");
  config.dbname = reader.optionalString("dbname");
  config.user = reader.optionalString("user");
  config.password = reader.optionalString("password");
  config.password_file = reader.optionalString("password_file");
  config.sslmode = reader.optionalString("sslmode");
  config.sslrootcert = reader.optionalString("sslrootcert");
  if (config.port) {
    const std::string& p = *config.port;
    char* end = nullptr;
    const long value = std::strtol(p.c_str(), &end, 10);
    if (p.empty() || *end != '\0' || value < 1 || value > 65535) {
      reader.error("port", "must be a TCP port number between 1 and 65535, got '" + p + "'");
    }
  }
  if (config.sslmode) {
    bool known = false;
    for (auto mode : kSslModes) known = known || mode == *config.sslmode;
    if (!known) {
      reader.error("sslmode",
                   "must be one of disable, allow, prefer, require, verify-ca, verify-full "
                   "(use verify-full with sslrootcert for RDS), got '" +
                       *config.sslmode + "'");
    }
  }
  if (config.password && config.password_file) {
    reader.error("password_file", "cannot be combined with password: set only one of them");
  } else if (config.password_file) {
    auto read = readPasswordFile(*config.password_file);
    if (!read.isOk()) reader.error("password_file", read.status().message());
  }
}

void readUrl(ConfigReader& reader, PostgresConfig& config, const EnvLookup& env) {
  if (auto url = reader.optionalString("url")) {
    config.url = *url;
    config.url_origin = "storage_postgres.url";
  } else if (!config.host) {
    const char* from_env = env ? env("DATABASE_URL") : std::getenv("DATABASE_URL");
    if (from_env != nullptr && *from_env != '\0') {
      config.url = from_env;
      config.url_origin = "DATABASE_URL";
    }
  }
  if (config.url.empty() && !config.host) {
    reader.error("url",
                 "is required: set storage_postgres.url to a libpq URI such as "
                 "postgresql://user@host:5432/dbname, or set DATABASE_URL, or set "
                 "storage_postgres.host (with port, dbname, user, password_file)");
    return;
  }
  if (!config.url.empty()) {
    if (auto why = conninfoError(config.url)) {
      reader.error("url", (config.url_origin == "DATABASE_URL"
                               ? "the DATABASE_URL environment variable is not a valid libpq URI "
                                 "or key=value string: "
                               : "is not a valid libpq URI or key=value string: ") +
                              *why + " (expected e.g. postgresql://user@host:5432/dbname)");
    }
  }
}

}  // namespace

Result<std::string> readPasswordFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return Status::invalid("cannot read '" + path + "': " + std::strerror(errno) +
                           " (mount the Secret there or fix the path)");
  }
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
  if (line.empty()) return Status::invalid("'" + path + "' is empty: it must hold the password");
  return line;
}

Result<PostgresConfig> parsePostgresConfig(const ConfigNode& section, const EnvLookup& env) {
  ConfigReader reader(section);
  PostgresConfig config;
  readConnectionKeys(reader, config);
  readUrl(reader, config, env);

  ConfigReader pool = reader.section("pool");
  config.pool.min = static_cast<int>(pool.integer("min", config.pool.min, 0, 1000));
  config.pool.max = static_cast<int>(pool.integer("max", config.pool.max, 1, 1000));
  config.pool.acquire_timeout =
      pool.duration("acquire_timeout", config.pool.acquire_timeout, std::chrono::milliseconds(1),
                    std::chrono::minutes(10));
  config.pool.idle_timeout = pool.duration("idle_timeout", config.pool.idle_timeout,
                                           std::chrono::seconds(1), std::chrono::hours(24));
  if (config.pool.min > config.pool.max) {
    pool.error("min", "must not exceed pool.max (" + std::to_string(config.pool.max) + ")");
  }
  config.statement_timeout = reader.duration("statement_timeout", config.statement_timeout,
                                             std::chrono::milliseconds(10), std::chrono::hours(1));
  config.connect_timeout = reader.duration("connect_timeout", config.connect_timeout,
                                           std::chrono::milliseconds(100), std::chrono::minutes(5));
  config.counts_max_age = reader.duration("counts_max_age", config.counts_max_age,
                                          std::chrono::milliseconds(0), std::chrono::hours(1));
  config.write_batch_size =
      static_cast<int>(reader.integer("write_batch_size", config.write_batch_size, 1, 1000));
  config.read_batch_size =
      static_cast<int>(reader.integer("read_batch_size", config.read_batch_size, 1, 1000));
  config.application_name = reader.string("application_name", config.application_name);
  config.tombstone_retention =
      reader.duration("tombstone_retention", config.tombstone_retention,
                      std::chrono::milliseconds(0), std::chrono::hours(24 * 365 * 10));
  if (Status s = reader.finish(); !s.isOk()) return s;
  return config;
}

// ---------------------------------------------------------------------------------------------

ConnectionParams::ConnectionParams(const PostgresConfig& config)
    : password_file_(config.password_file),
      scrubber_({passwordIn(config.url), config.password.value_or("")}) {
  // Defaults first: the URL may override them. Keepalives notice a dead peer (a failed-over
  // RDS instance) on idle connections.
  params_ = {{"application_name", config.application_name},
             {"keepalives", "1"},
             {"keepalives_idle", "30"},
             {"keepalives_interval", "10"},
             {"keepalives_count", "3"}};
  if (!config.url.empty()) {
    params_.emplace_back("dbname", config.url);  // expanded (expand_dbname = 1)
    description_ = redactConnectionString(config.url);
  }
  auto add = [&](const char* key, const std::optional<std::string>& value, bool describe) {
    if (!value) return;
    params_.emplace_back(key, *value);
    if (!describe) return;
    if (!description_.empty()) description_.push_back(' ');
    description_.append(key).append("=").append(*value);
  };
  if (config.url.empty() && config.dbname) {
    // A first plain dbname would be taken as a database name anyway; keep it explicit.
    params_.emplace_back("dbname", *config.dbname);
    description_ += "dbname=" + *config.dbname;
  } else {
    add("dbname", config.dbname, true);
  }
  add("host", config.host, true);
  add("port", config.port, true);
  add("user", config.user, true);
  add("password", config.password, false);
  add("sslmode", config.sslmode, true);
  add("sslrootcert", config.sslrootcert, true);
  if (config.password_file) description_ += " (password from " + *config.password_file + ")";
}

Result<ConnectArgs> ConnectionParams::build() const {
  ConnectArgs args;
  args.strings.reserve(2 * params_.size() + 2);
  for (const auto& [key, value] : params_) {
    args.strings.push_back(key);
    args.strings.push_back(value);
  }
  if (password_file_) {
    auto password = readPasswordFile(*password_file_);
    if (!password.isOk())
      return Status::unavailable("password_file: " + password.status().message());
    {
      std::lock_guard lock(file_password_mutex_);
      file_password_ = password.value();
    }
    args.strings.emplace_back("password");
    args.strings.push_back(std::move(password).value());
  }
  for (std::size_t i = 0; i < args.strings.size(); i += 2) {
    args.keywords.push_back(args.strings[i].c_str());
    args.values.push_back(args.strings[i + 1].c_str());
  }
  args.keywords.push_back(nullptr);
  args.values.push_back(nullptr);
  return args;
}

std::string ConnectionParams::scrub(std::string_view text) const {
  std::string out = scrubber_.scrub(text);
  std::lock_guard lock(file_password_mutex_);
  return file_password_.empty() ? out : SecretScrubber({file_password_}).scrub(out);
}

}  // namespace appliance::plugins::storage_postgres
