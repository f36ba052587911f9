#pragma once
// GitHub webhook signatures: X-Hub-Signature-256 = "sha256=" + hex(HMAC-SHA256(secret, body)).

#include <string>
#include <string_view>

namespace appliance::plugins::runner_scaler {

std::string hmacSha256Hex(std::string_view secret, std::string_view body);

// True when `header` is exactly "sha256=<64 hex digits>" of the body under `secret`. The
// comparison of the digests is constant-time (CRYPTO_memcmp); an empty secret never verifies.
bool verifySignature(std::string_view secret, std::string_view body, std::string_view header);

}  // namespace appliance::plugins::runner_scaler
