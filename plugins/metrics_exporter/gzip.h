#pragma once
// Content negotiation and gzip for the /metrics response (zlib). Stateless, thread-safe.

#include <string>
#include <string_view>

#include "appliance/status.h"

namespace appliance::plugins::metrics_exporter {

// True when an Accept-Encoding value accepts gzip (RFC 9110 12.5.3): a "gzip" or "x-gzip"
// coding, or else "*", with a q-value above 0. Codings are case-insensitive.
bool acceptsGzip(std::string_view accept_encoding);

// `data` as one gzip member. `level` is a zlib level: 1 (fastest) .. 9 (smallest).
// An error only when zlib fails (out of memory) or the input exceeds 4 GiB.
Result<std::string> gzipCompress(std::string_view data, int level);

}  // namespace appliance::plugins::metrics_exporter
