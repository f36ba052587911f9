// Fuzz target: the runner scaler's handling of untrusted GitHub input (plugins/runner_scaler):
// webhook signatures, workflow_job payloads and the REST listings (runs, jobs, repositories,
// installation tokens), and the Link header.
//
// Input: one mode byte, then the body. Invariants: no crash or exception; a signature header
// verifies only when it is exactly sha256=<hex of the HMAC> of this body (checked against an
// independent OpenSSL HMAC); a parsed job has a status GitHub defines and normalized labels
// are lower-case, sorted and without self-hosted; a next link is a substring of the header.

#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "github_json.h"
#include "github_poller.h"
#include "labels.h"
#include "signature.h"

namespace rs = appliance::plugins::runner_scaler;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 5) {
    case 0: {  // signatures: the body's first line is the header, the rest the payload
      const auto nl = body.find('\n');
      const std::string_view header = body.substr(0, nl);
      const std::string_view payload = nl == std::string_view::npos ? "" : body.substr(nl + 1);
      const bool ok = rs::verifySignature("fuzz-secret", payload, header);
      unsigned char mac[32];
      unsigned int n = 0;
      HMAC(EVP_sha256(), "fuzz-secret", 11, reinterpret_cast<const unsigned char*>(payload.data()),
           payload.size(), mac, &n);
      std::string hex;
      for (unsigned k = 0; k < n; ++k) {
        static const char kHex[] = "0123456789abcdef";
        hex += kHex[mac[k] >> 4];
        hex += kHex[mac[k] & 15];
      }
      std::string lower(header);
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      FUZZ_CHECK(ok == (header.substr(0, 7) == "sha256=" && lower == "sha256=" + hex));
      FUZZ_CHECK(rs::verifySignature("fuzz-secret", payload, "sha256=" + hex));
      break;
    }
    case 1: {
      auto job = rs::parseWorkflowJobEvent(body);
      if (job.isOk()) {
        const auto labels = rs::normalizeLabels(job->labels);
        FUZZ_CHECK(std::is_sorted(labels.begin(), labels.end()));
        for (const auto& l : labels) {
          FUZZ_CHECK(l != "self-hosted" && !l.empty());
          FUZZ_CHECK(
              std::none_of(l.begin(), l.end(), [](unsigned char c) { return std::isupper(c); }));
        }
      }
      break;
    }
    case 2:
      (void)rs::parseRunIds(body);
      (void)rs::parseRepositoryNames(body);
      break;
    case 3:
      (void)rs::parseJobs(body, "fuzz/repo");
      (void)rs::parseInstallationToken(body);
      break;
    default: {
      const std::string next = rs::nextLink(body);
      FUZZ_CHECK(next.empty() || body.find(next) != std::string_view::npos);
    }
  }
  return 0;
}
