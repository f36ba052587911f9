#include "test_clock.h"

#include <sys/stat.h>

#include <cctype>
#include <cmath>
#include <fstream>
#include <iterator>

namespace appliance::host {
namespace {

bool isDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::optional<std::chrono::system_clock::time_point> parseEpochSeconds(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  // digits [. digits]: no sign, exponent, hex, inf or nan.
  std::size_t k = 0, whole = 0, fraction = 0;
  while (k < text.size() && isDigit(text[k])) ++k, ++whole;
  if (k < text.size() && text[k] == '.') {
    ++k;
    while (k < text.size() && isDigit(text[k])) ++k, ++fraction;
    if (fraction == 0) return std::nullopt;
  }
  if (whole == 0 || k != text.size() || whole > 11) return std::nullopt;
  long long seconds = 0;
  for (std::size_t i = 0; i < whole; ++i) seconds = seconds * 10 + (text[i] - '0');
  constexpr long long kYear2200 = 7258118400;  // 2200-01-01T00:00:00Z
  if (seconds >= kYear2200) return std::nullopt;
  long long nanos = 0;
  for (std::size_t i = 0; i < 9; ++i) {
    nanos *= 10;
    if (i < fraction) nanos += text[whole + 1 + i] - '0';
  }
  const auto since_epoch = std::chrono::seconds(seconds) + std::chrono::nanoseconds(nanos);
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(since_epoch));
}

Result<std::unique_ptr<FileClock>> FileClock::open(const std::string& path) {
  std::unique_ptr<FileClock> clock(new FileClock(path));
  std::lock_guard lock(clock->mutex_);
  if (Status s = clock->refreshLocked(); !s) return s;
  return clock;
}

Status FileClock::refreshLocked() const {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) {
    return Status::invalid(std::string(kTestClockEnv) + " " + path_ +
                           ": cannot read (write epoch seconds such as 1764748800 to it)");
  }
  const Stamp stamp{
      static_cast<long long>(st.st_mtim.tv_sec) * 1'000'000'000LL + st.st_mtim.tv_nsec,
      static_cast<long long>(st.st_size), static_cast<long long>(st.st_ino)};
  if (stamp == stamp_) return Status::ok();
  std::ifstream in(path_, std::ios::binary);
  std::string text;
  if (in) text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (!in && !in.eof()) {
    return Status::invalid(std::string(kTestClockEnv) + " " + path_ + ": cannot read");
  }
  if (text.size() > 64) text.resize(64);  // no number is longer; keeps the message short
  const auto t = parseEpochSeconds(text);
  if (!t) {
    return Status::invalid(std::string(kTestClockEnv) + " " + path_ +
                           ": not epoch seconds between 1970 and 2200 (write e.g. 1764748800 or "
                           "1764748800.5)");
  }
  stamp_ = stamp;
  if (text == text_) return Status::ok();  // touched, not changed: the clock runs on
  text_ = std::move(text);
  base_ = *t;
  read_at_ = std::chrono::steady_clock::now();
  return Status::ok();
}

std::chrono::system_clock::time_point FileClock::now() const {
  std::lock_guard lock(mutex_);
  (void)refreshLocked();  // a bad rewrite keeps the last good value
  return base_ + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                     std::chrono::steady_clock::now() - read_at_);
}

}  // namespace appliance::host
