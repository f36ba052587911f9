#pragma once
// The host's HttpClient (appliance/http_client.h): Poco sessions kept alive per origin, TLS
// through Poco::NetSSL (OpenSSL) with certificate and host name verification, and per-client
// metrics on the shared registry.

#include <memory>
#include <string>

#include "appliance/http_client.h"

namespace prometheus {
class Registry;
}

namespace appliance::host {

class OutboundHttpMetrics;

// One per registry; families are created once and shared by every client.
std::shared_ptr<OutboundHttpMetrics> makeOutboundHttpMetrics(prometheus::Registry& registry);

// kInvalidArgument for bad options (no name, unreadable CA/cert/key file).
Result<std::shared_ptr<HttpClient>> makeOutboundHttpClient(
    const HttpClientOptions& options, std::shared_ptr<OutboundHttpMetrics> metrics,
    const std::string& default_user_agent);

}  // namespace appliance::host
