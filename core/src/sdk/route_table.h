#pragma once
// RouteTable: matches a method and path against route templates ("/tasks/{id}"). Shared by
// the host's server and the SDK's FakeRouter so that tests see the same 404/405 decisions.
// Built during init (single thread), then read concurrently without locks.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/http.h"

namespace appliance {

class RouteTable {
 public:
  struct Entry {
    Route route;
    std::vector<std::string> segments;  // "{name}" marks a parameter
  };
  enum class MatchKind { kFound, kNotFound, kMethodNotAllowed };
  struct Match {
    MatchKind kind = MatchKind::kNotFound;
    const Entry* entry = nullptr;
    std::string allowed_methods;  // for 405: "GET, PUT"
  };

  Status add(Route route);
  // On kFound, fills `params` with the path parameters.
  Match match(std::string_view method, std::string_view path,
              std::vector<std::pair<std::string, std::string>>& params,
              std::string_view listener = "main") const;
  const std::vector<std::unique_ptr<Entry>>& entries() const { return entries_; }
  void clear() { entries_.clear(); }

 private:
  std::vector<std::unique_ptr<Entry>> entries_;
};

}  // namespace appliance
