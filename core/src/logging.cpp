#include "logging.h"

#include <unistd.h>

#include <chrono>
#include <cstring>

#include "appliance/http.h"
#include "appliance/time.h"

namespace appliance::host {
namespace {

LogSettings g_settings;
std::atomic<LogLevel> g_level{LogLevel::kInfo};  // g_settings.level, changeable while serving
thread_local std::string t_correlation_id;

void writeAll(int fd, const std::string& line) {
  const char* p = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n <= 0) return;  // stdout closed: logging must never take the process down
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

}  // namespace

void configureLogging(const LogSettings& settings) {
  g_settings = settings;
  g_level.store(settings.level, std::memory_order_relaxed);
}
void setLogLevel(LogLevel level) { g_level.store(level, std::memory_order_relaxed); }
LogSettings logSettings() {
  LogSettings settings = g_settings;
  settings.level = g_level.load(std::memory_order_relaxed);
  return settings;
}
LogFormat defaultLogFormat() { return ::isatty(1) ? LogFormat::kText : LogFormat::kJson; }

const char* logLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

bool parseLogLevel(std::string_view text, LogLevel& out) {
  if (text == "debug")
    out = LogLevel::kDebug;
  else if (text == "info")
    out = LogLevel::kInfo;
  else if (text == "warn" || text == "warning")
    out = LogLevel::kWarn;
  else if (text == "error")
    out = LogLevel::kError;
  else
    return false;
  return true;
}

void setThreadCorrelationId(std::string_view id) { t_correlation_id.assign(id); }
std::string_view threadCorrelationId() { return t_correlation_id; }

bool HostLogger::enabled(LogLevel level) const {
  return static_cast<int>(level) >= static_cast<int>(g_level.load(std::memory_order_relaxed));
}

void HostLogger::log(LogLevel level, std::string_view message,
                     std::span<const LogField> fields) const {
  thread_local std::string line;
  line.clear();
  const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  const std::string_view cid = t_correlation_id;
  if (g_settings.format == LogFormat::kJson) {
    line += "{\"ts\":\"";
    appendTimestamp(line, now);
    line += "\",\"level\":\"";
    line += logLevelName(level);
    line += "\",\"plugin\":\"";
    appendJsonEscaped(line, component_);
    line += "\",\"msg\":\"";
    appendJsonEscaped(line, message);
    line += '"';
    if (!cid.empty()) {
      line += ",\"correlation_id\":\"";
      appendJsonEscaped(line, cid);
      line += '"';
    }
    for (const auto& f : fields) {
      line += ",\"";
      appendJsonEscaped(line, f.key);
      line += "\":";
      if (f.quoted) {
        line += '"';
        appendJsonEscaped(line, f.value);
        line += '"';
      } else {
        line += f.value;
      }
    }
    line += "}\n";
  } else {
    appendTimestamp(line, now);
    line += ' ';
    std::string lvl = logLevelName(level);
    for (auto& c : lvl) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    lvl.resize(5, ' ');
    line += lvl;
    line += " [";
    line += component_;
    line += "] ";
    line += message;
    for (const auto& f : fields) {
      line += ' ';
      line += f.key;
      line += '=';
      line += f.value;
    }
    if (!cid.empty()) {
      line += " correlation_id=";
      line += cid;
    }
    line += '\n';
  }
  writeAll(g_settings.fd, line);
}

}  // namespace appliance::host
