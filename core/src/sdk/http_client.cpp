#include "appliance/http_client.h"

#include <strings.h>

namespace appliance {

std::optional<std::string_view> HttpClientResponse::header(std::string_view name) const {
  for (const auto& h : headers) {
    if (h.name.size() == name.size() && strncasecmp(h.name.data(), name.data(), name.size()) == 0) {
      return std::string_view(h.value);
    }
  }
  return std::nullopt;
}

}  // namespace appliance
