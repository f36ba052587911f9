#pragma once
// Keeps database passwords out of logs, errors and --check-config output.
//
// redactConnectionString() masks the password of a libpq connection string in either form:
//   postgresql://user:secret@host/db?password=secret  -> postgresql://user:***@host/db?password=***
//   host=db password='se cret' user=app               ->  host=db password=*** user=app
// It never fails: malformed input is masked as well as it can be (anything that looks like a
// password value is replaced), so it is safe to call on user input that did not parse.
//
// SecretScrubber removes known secret strings (the password read from a file, the password
// part of the URL) from arbitrary text such as libpq error messages, as a second line of
// defence. Immutable after construction; thread-safe.

#include <string>
#include <string_view>
#include <vector>

namespace appliance::plugins::storage_postgres {

inline constexpr std::string_view kRedacted = "***";

std::string redactConnectionString(std::string_view conninfo);

class SecretScrubber {
 public:
  SecretScrubber() = default;
  // Empty secrets are ignored.
  explicit SecretScrubber(std::vector<std::string> secrets);

  std::string scrub(std::string_view text) const;

 private:
  std::vector<std::string> secrets_;
};

}  // namespace appliance::plugins::storage_postgres
