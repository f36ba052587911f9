#pragma once
// FileClock: a wall clock that end-to-end tests move by writing a file (testing only).
// When APPLIANCE_TEST_CLOCK_FILE names a file holding epoch seconds T ("1764748800" or
// "1764748800.25", surrounding whitespace allowed), the host's Clock::now() returns
// T + (steady time elapsed since T was read). The file is stat()ed on every now() and
// re-read when its mtime, size or inode changes; a new T (best written to a temporary file
// renamed over it) jumps the clock, the same T rewritten changes nothing. steadyNow() is
// untouched.
//
// A file that is unreadable or malformed at start-up stops the host with one line; one that
// turns unreadable or malformed later keeps the last good T (a test writing in place may be
// caught mid-write) until it is good again.

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "appliance/status.h"

namespace appliance::host {

inline constexpr const char* kTestClockEnv = "APPLIANCE_TEST_CLOCK_FILE";

// Epoch seconds between 1970 and 2200, decimal with an optional fraction; nullopt otherwise.
std::optional<std::chrono::system_clock::time_point> parseEpochSeconds(std::string_view text);

class FileClock {
 public:
  // Reads `path` once; an error names the file and what is wrong with it.
  static Result<std::unique_ptr<FileClock>> open(const std::string& path);

  std::chrono::system_clock::time_point now() const;
  const std::string& path() const { return path_; }

 private:
  struct Stamp {
    long long mtime_ns = -1, size = -1, inode = -1;
    bool operator==(const Stamp&) const = default;
  };
  explicit FileClock(std::string path) : path_(std::move(path)) {}
  // Re-reads the file when its stamp changed; an error when it cannot be read or parsed.
  Status refreshLocked() const;

  std::string path_;
  mutable std::mutex mutex_;
  mutable Stamp stamp_;
  mutable std::string text_;  // the content T was parsed from
  mutable std::chrono::system_clock::time_point base_{};
  mutable std::chrono::steady_clock::time_point read_at_{};
};

}  // namespace appliance::host
