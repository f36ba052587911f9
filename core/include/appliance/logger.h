#pragma once
// Logger: structured logging for plugins. The host's logger is already tagged with the
// plugin's name, and lines written while a request is being handled carry that request's
// correlation id automatically. Thread-safe; never blocks on I/O for long.

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

namespace appliance {

enum class LogLevel : int { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// One key/value field of a log line. Values are rendered as JSON strings or numbers.
struct LogField {
  LogField(std::string_view k, std::string_view v) : key(k), value(v), quoted(true) {}
  LogField(std::string_view k, const char* v) : key(k), value(v ? v : ""), quoted(true) {}
  LogField(std::string_view k, const std::string& v) : key(k), value(v), quoted(true) {}
  LogField(std::string_view k, std::int64_t v) : key(k), value(std::to_string(v)) {}
  LogField(std::string_view k, int v) : key(k), value(std::to_string(v)) {}
  LogField(std::string_view k, std::uint64_t v) : key(k), value(std::to_string(v)) {}
  LogField(std::string_view k, double v) : key(k), value(std::to_string(v)) {}
  LogField(std::string_view k, bool v) : key(k), value(v ? "true" : "false") {}

  std::string_view key;
  std::string value;
  bool quoted = false;  // true: a string value; false: a number or boolean literal
};

class Logger {
 public:
  virtual ~Logger() = default;
  virtual bool enabled(LogLevel level) const = 0;
  virtual void log(LogLevel level, std::string_view message,
                   std::span<const LogField> fields) const = 0;

  void debug(std::string_view m, std::initializer_list<LogField> f = {}) const {
    write(LogLevel::kDebug, m, f);
  }
  void info(std::string_view m, std::initializer_list<LogField> f = {}) const {
    write(LogLevel::kInfo, m, f);
  }
  void warn(std::string_view m, std::initializer_list<LogField> f = {}) const {
    write(LogLevel::kWarn, m, f);
  }
  void error(std::string_view m, std::initializer_list<LogField> f = {}) const {
    write(LogLevel::kError, m, f);
  }

 private:
  void write(LogLevel level, std::string_view m, std::initializer_list<LogField> f) const {
    if (enabled(level)) log(level, m, std::span<const LogField>(f.begin(), f.size()));
  }
};

}  // namespace appliance
