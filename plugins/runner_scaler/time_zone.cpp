#include "time_zone.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <iterator>

namespace appliance::plugins::runner_scaler {
namespace {

using std::chrono::seconds;
using std::chrono::sys_seconds;

std::uint32_t be32(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}
std::int64_t be64(const unsigned char* p) {
  return static_cast<std::int64_t>((std::uint64_t{be32(p)} << 32) | be32(p + 4));
}

// A cursor over the POSIX TZ grammar (POSIX.1-2017 8.3, with RFC 8536's extensions).
class RuleParser {
 public:
  explicit RuleParser(std::string_view text) : s_(text) {}

  bool name() {
    if (peek() == '<') {
      const auto close = s_.find('>', i_);
      if (close == std::string_view::npos) return false;
      i_ = close + 1;
      return true;
    }
    const std::size_t start = i_;
    while (i_ < s_.size() && std::isalpha(static_cast<unsigned char>(s_[i_]))) ++i_;
    return i_ - start >= 3;
  }
  // [+-]hh[:mm[:ss]] as seconds; `max_hours` bounds hh.
  bool time(std::int32_t& out, int max_hours) {
    int sign = 1;
    if (peek() == '+' || peek() == '-') sign = s_[i_++] == '-' ? -1 : 1;
    int parts[3] = {0, 0, 0};
    for (int k = 0; k < 3; ++k) {
      if (k > 0) {
        if (peek() != ':') break;
        ++i_;
      }
      if (!std::isdigit(static_cast<unsigned char>(peek()))) return false;
      int v = 0;
      while (std::isdigit(static_cast<unsigned char>(peek()))) v = v * 10 + (s_[i_++] - '0');
      parts[k] = v;
    }
    if (parts[0] > max_hours || parts[1] > 59 || parts[2] > 59) return false;
    out = sign * (parts[0] * 3600 + parts[1] * 60 + parts[2]);
    return true;
  }
  bool when(TimeZone::PosixRule::When& w) {
    if (peek() != 'M') return false;  // Jn and n forms do not occur in tzdata footers
    ++i_;
    if (!number(w.month, 1, 12) || !expect('.') || !number(w.week, 1, 5) || !expect('.') ||
        !number(w.weekday, 0, 6)) {
      return false;
    }
    if (peek() == '/') {
      ++i_;
      return time(w.time, 167);
    }
    return true;
  }
  bool expect(char c) {
    if (peek() != c) return false;
    ++i_;
    return true;
  }
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  bool done() const { return i_ == s_.size(); }

 private:
  bool number(int& out, int min, int max) {
    if (!std::isdigit(static_cast<unsigned char>(peek()))) return false;
    out = 0;
    while (std::isdigit(static_cast<unsigned char>(peek()))) out = out * 10 + (s_[i_++] - '0');
    return out >= min && out <= max;
  }
  std::string_view s_;
  std::size_t i_ = 0;
};

std::optional<TimeZone::PosixRule> parseRule(std::string_view text) {
  TimeZone::PosixRule rule;
  RuleParser p(text);
  std::int32_t west = 0;
  if (!p.name() || !p.time(west, 24)) return std::nullopt;
  rule.std_offset = -west;
  if (p.done()) return rule;
  if (!p.name()) return std::nullopt;
  rule.has_dst = true;
  rule.dst_offset = rule.std_offset + 3600;
  if (p.peek() != ',' && !p.done()) {
    if (!p.time(west, 24)) return std::nullopt;
    rule.dst_offset = -west;
  }
  if (!p.expect(',') || !p.when(rule.dst_start) || !p.expect(',') || !p.when(rule.dst_end) ||
      !p.done()) {
    return std::nullopt;
  }
  return rule;
}

// Local midnight of the rule's day in `year`, as seconds since the epoch in local fields.
std::int64_t ruleDay(int year, const TimeZone::PosixRule::When& w) {
  using namespace std::chrono;
  const auto ym = std::chrono::year{year} / std::chrono::month{static_cast<unsigned>(w.month)};
  const weekday wd{static_cast<unsigned>(w.weekday)};
  sys_days day =
      w.week == 5 ? sys_days{ym / wd[last]} : sys_days{ym / wd[static_cast<unsigned>(w.week)]};
  return duration_cast<seconds>(day.time_since_epoch()).count();
}

std::int32_t ruleOffset(const TimeZone::PosixRule& rule, std::int64_t utc) {
  if (!rule.has_dst) return rule.std_offset;
  using namespace std::chrono;
  const auto ymd = year_month_day{floor<days>(sys_seconds{seconds{utc + rule.std_offset}})};
  const int year = static_cast<int>(ymd.year());
  // DST starts at a standard-time wall clock and ends at a daylight-time wall clock.
  const std::int64_t start = ruleDay(year, rule.dst_start) + rule.dst_start.time - rule.std_offset;
  const std::int64_t end = ruleDay(year, rule.dst_end) + rule.dst_end.time - rule.dst_offset;
  const bool dst = start < end ? (utc >= start && utc < end) : (utc >= start || utc < end);
  return dst ? rule.dst_offset : rule.std_offset;
}

}  // namespace

TimeZone TimeZone::utc() {
  TimeZone zone;
  zone.name_ = "UTC";
  return zone;
}

Result<TimeZone> TimeZone::fromPosixRule(std::string_view name, std::string_view rule) {
  auto parsed = parseRule(rule);
  if (!parsed) return Status::invalid("cannot parse POSIX TZ rule '" + std::string(rule) + "'");
  TimeZone zone;
  zone.name_ = std::string(name);
  zone.initial_offset_ = parsed->std_offset;
  zone.footer_ = parsed;
  return zone;
}

Result<TimeZone> TimeZone::load(std::string_view name, std::string_view tzdir) {
  if (name == "UTC" || name == "Etc/UTC" || name == "Z") return utc();
  const bool safe = !name.empty() && name.front() != '/' && name.find("..") == std::string::npos &&
                    std::all_of(name.begin(), name.end(), [](char c) {
                      return std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '_' ||
                             c == '-' || c == '+';
                    });
  if (!safe) return Status::invalid("'" + std::string(name) + "' is not an IANA time zone name");
  std::string dir(tzdir);
  if (dir.empty()) {
    const char* env = std::getenv("TZDIR");
    dir = env && *env ? env : "/usr/share/zoneinfo";
  }
  const std::string file = dir + "/" + std::string(name);
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return Status::notFound("time zone '" + std::string(name) + "' not found (no " + file +
                            "; install tzdata or set TZDIR)");
  }
  const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto bad = [&](std::string_view why) {
    return Status::invalid(file + ": not a usable TZif file (" + std::string(why) + ")");
  };
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  if (data.size() < 44 || data.compare(0, 4, "TZif") != 0) return bad("no TZif header");
  if (data[4] < '2') return bad("version 1 files lack 64-bit data");
  const auto block = [&](std::size_t at, int time_size, std::size_t& size_out,
                         std::uint32_t(&c)[6]) {
    for (int k = 0; k < 6; ++k) c[k] = be32(p + at + 20 + 4 * k);
    // isutcnt isstdcnt leapcnt timecnt typecnt charcnt
    size_out = c[3] * static_cast<std::size_t>(time_size) + c[3] + c[4] * 6u + c[5] +
               c[2] * static_cast<std::size_t>(time_size + 4) + c[1] + c[0];
  };
  std::uint32_t c[6];
  std::size_t v1_size = 0, v2_size = 0;
  block(0, 4, v1_size, c);
  const std::size_t h2 = 44 + v1_size;
  if (data.size() < h2 + 44 || data.compare(h2, 4, "TZif") != 0) return bad("no second header");
  block(h2, 8, v2_size, c);
  const std::size_t body = h2 + 44;
  if (data.size() < body + v2_size || c[4] == 0) return bad("truncated");
  const std::uint32_t timecnt = c[3], typecnt = c[4];
  const unsigned char* times = p + body;
  const unsigned char* idx = times + timecnt * 8u;
  const unsigned char* types = idx + timecnt;
  TimeZone zone;
  zone.name_ = std::string(name);
  zone.initial_offset_ = static_cast<std::int32_t>(be32(types));
  for (std::uint32_t k = 0; k < timecnt; ++k) {
    if (idx[k] >= typecnt) return bad("transition type out of range");
    zone.transitions_.push_back(be64(times + 8u * k));
    zone.offsets_.push_back(static_cast<std::int32_t>(be32(types + 6u * idx[k])));
  }
  const std::size_t footer = body + v2_size;
  if (data.size() > footer + 1 && data[footer] == '\n') {
    const auto end = data.find('\n', footer + 1);
    if (end != std::string::npos && end > footer + 1) {
      zone.footer_ = parseRule(std::string_view(data).substr(footer + 1, end - footer - 1));
      if (!zone.footer_) return bad("cannot parse its POSIX TZ footer");
    }
  }
  return zone;
}

std::chrono::seconds TimeZone::offsetAt(sys_seconds utc) const {
  const std::int64_t t = utc.time_since_epoch().count();
  if (transitions_.empty() || t >= transitions_.back()) {
    if (footer_) return seconds{ruleOffset(*footer_, t)};
    return seconds{transitions_.empty() ? initial_offset_ : offsets_.back()};
  }
  const auto it = std::upper_bound(transitions_.begin(), transitions_.end(), t);
  if (it == transitions_.begin()) return seconds{initial_offset_};
  return seconds{offsets_[static_cast<std::size_t>(it - transitions_.begin()) - 1]};
}

}  // namespace appliance::plugins::runner_scaler
