#pragma once
// TimeZone: UTC offsets of an IANA zone, read from the system tz database (TZif files under
// $TZDIR or /usr/share/zoneinfo). g++ 12's libstdc++ has no std::chrono::tzdb (it arrives in
// GCC 13/14), so this reads TZif v2+ itself: the 64-bit transition table, then the POSIX TZ
// footer ("CET-1CEST,M3.5.0,M10.5.0/3") for instants after the last transition, which is what
// "slim" tzdata files rely on. Immutable after load; safe to share between threads.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/status.h"

namespace appliance::plugins::runner_scaler {

class TimeZone {
 public:
  static TimeZone utc();
  // "UTC", "Etc/UTC" or an IANA name ("Europe/Berlin"). kNotFound / kInvalidArgument with the
  // file it tried. `tzdir` "" means $TZDIR, else /usr/share/zoneinfo.
  static Result<TimeZone> load(std::string_view name, std::string_view tzdir = {});
  // Parses a POSIX TZ rule alone ("EST5EDT,M3.2.0,M11.1.0"); for tests and the footer.
  static Result<TimeZone> fromPosixRule(std::string_view name, std::string_view rule);

  const std::string& name() const { return name_; }
  // Offset from UTC (local = utc + offset) in effect at `utc`.
  std::chrono::seconds offsetAt(std::chrono::sys_seconds utc) const;
  // The local wall-clock time at `utc`, as a sys_seconds value holding local fields.
  std::chrono::sys_seconds toLocal(std::chrono::sys_seconds utc) const {
    return utc + offsetAt(utc);
  }

  struct PosixRule {
    struct When {  // Mm.w.d/time (the only form tzdata footers use)
      int month = 0, week = 0, weekday = 0;
      std::int32_t time = 7200;  // seconds after local midnight, may be negative or > 24h
    };
    std::int32_t std_offset = 0;  // seconds east of UTC
    bool has_dst = false;
    std::int32_t dst_offset = 0;
    When dst_start, dst_end;
  };

 private:
  std::string name_;
  std::vector<std::int64_t> transitions_;  // UTC seconds, ascending
  std::vector<std::int32_t> offsets_;      // offset in effect from transitions_[i]
  std::int32_t initial_offset_ = 0;        // before the first transition
  std::optional<PosixRule> footer_;        // after the last transition
};

}  // namespace appliance::plugins::runner_scaler
