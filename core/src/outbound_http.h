#pragma once
// The host's HttpClient (appliance/http_client.h): Poco sessions kept alive per origin, TLS
// through Poco::NetSSL (OpenSSL) with certificate and host name verification, and per-client
// metrics on the shared registry.
//
// It lives in its own module, lib/appliance/libappliance_outbound_http.so, which the host
// dlopens the first time a plugin asks for a client: NetSSL drags in PocoUtil, PocoXML and
// libssl (about 1.5 MB of resident pages), which an `api` pod never needs.

#include <cstdint>
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

// What the module exports, read through appliance_outbound_http_module().
struct OutboundHttpModule {
  std::uint32_t struct_size;
  std::shared_ptr<OutboundHttpMetrics> (*make_metrics)(prometheus::Registry& registry);
  Result<std::shared_ptr<HttpClient>> (*make_client)(const HttpClientOptions& options,
                                                     std::shared_ptr<OutboundHttpMetrics> metrics,
                                                     const std::string& default_user_agent);
};

// The module, loaded once from <bin>/../lib/appliance/ (or `path`, for tests); an error names
// the file and dlopen's reason.
Result<const OutboundHttpModule*> loadOutboundHttpModule(const std::string& path = {});

}  // namespace appliance::host

extern "C" __attribute__((visibility("default"))) const appliance::host::OutboundHttpModule*
appliance_outbound_http_module();
