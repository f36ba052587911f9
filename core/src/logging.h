#pragma once
// Host logging: one line per event on stdout, JSON lines (for containers and log shippers) or
// readable text (in a terminal). Each line is written with a single write(2), so lines from
// concurrent threads never interleave and no lock is taken.

#include <atomic>
#include <string>
#include <string_view>

#include "appliance/logger.h"

namespace appliance::host {

enum class LogFormat { kJson, kText };

struct LogSettings {
  LogLevel level = LogLevel::kInfo;
  LogFormat format = LogFormat::kJson;
  int fd = 1;
};

// Process-wide settings; set once at start-up (before threads), read everywhere. Only the level
// may change later (setLogLevel, on SIGHUP), from any thread.
void configureLogging(const LogSettings& settings);
void setLogLevel(LogLevel level);
LogSettings logSettings();
LogFormat defaultLogFormat();  // text on a terminal, JSON otherwise
bool parseLogLevel(std::string_view text, LogLevel& out);
const char* logLevelName(LogLevel level);  // "debug", "info", "warn", "error"

// The correlation id of the request being handled on this thread ("" when none).
void setThreadCorrelationId(std::string_view id);
std::string_view threadCorrelationId();

// A logger tagged with a component ("host", "http", or a plugin name).
class HostLogger : public Logger {
 public:
  explicit HostLogger(std::string component) : component_(std::move(component)) {}
  bool enabled(LogLevel level) const override;
  void log(LogLevel level, std::string_view message,
           std::span<const LogField> fields) const override;

 private:
  std::string component_;
};

}  // namespace appliance::host
