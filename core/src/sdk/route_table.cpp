#include "sdk/route_table.h"

namespace appliance {
namespace {

std::vector<std::string_view> splitPath(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t pos = 1;  // paths start with '/'
  while (pos <= path.size()) {
    const std::size_t slash = path.find('/', pos);
    const std::size_t end = slash == std::string_view::npos ? path.size() : slash;
    out.push_back(path.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

bool isParam(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

}  // namespace

Status RouteTable::add(Route route) {
  if (route.path.empty() || route.path.front() != '/') {
    return Status::invalid("route path must start with '/': '" + route.path + "'");
  }
  if (route.method.empty() || !route.handler) {
    return Status::invalid("route " + route.path + " needs a method and a handler");
  }
  auto entry = std::make_unique<Entry>();
  for (std::string_view segment : splitPath(route.path)) {
    if ((segment.find('{') != std::string_view::npos ||
         segment.find('}') != std::string_view::npos) &&
        !isParam(segment)) {
      return Status::invalid("malformed route segment '" + std::string(segment) + "' in " +
                             route.path);
    }
    entry->segments.emplace_back(segment);
  }
  for (const auto& existing : entries_) {
    if (existing->route.method == route.method && existing->route.listener == route.listener &&
        existing->segments == entry->segments) {
      return Status::invalid("duplicate route " + route.method + " " + route.path);
    }
  }
  entry->route = std::move(route);
  entries_.push_back(std::move(entry));
  return Status::ok();
}

RouteTable::Match RouteTable::match(std::string_view method, std::string_view path,
                                    std::vector<std::pair<std::string, std::string>>& params,
                                    std::string_view listener) const {
  Match result;
  if (path.empty() || path.front() != '/') return result;
  const auto segments = splitPath(path);
  const bool head = method == "HEAD";
  for (const auto& entry : entries_) {
    if (entry->route.listener != listener || entry->segments.size() != segments.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < segments.size() && same; ++i) {
      const std::string& want = entry->segments[i];
      same = isParam(want) ? !segments[i].empty() : want == segments[i];
    }
    if (!same) continue;
    if (entry->route.method == method || (head && entry->route.method == "GET")) {
      params.clear();
      for (std::size_t i = 0; i < segments.size(); ++i) {
        const std::string& want = entry->segments[i];
        if (isParam(want)) params.emplace_back(want.substr(1, want.size() - 2), segments[i]);
      }
      result.kind = MatchKind::kFound;
      result.entry = entry.get();
      return result;
    }
    result.kind = MatchKind::kMethodNotAllowed;
    if (!result.allowed_methods.empty()) result.allowed_methods += ", ";
    result.allowed_methods += entry->route.method;
  }
  return result;
}

}  // namespace appliance
