// Fuzz target: JWT bearer authentication (plugins/task_api/auth.h) with an HS256 secret and
// an RS256 public key configured, an issuer and an audience required, and a fixed clock.
//
// Input: one mode byte, then
//   mode 0: the token as a client sends it after "Bearer ";
//   mode 1: header JSON '\n' payload JSON, which this target encodes and signs with the
//           configured HS256 secret, so that the fuzzer explores the claim checks;
//   mode 2: the same, signed with the RS256 test key;
//   mode 3: the same, signed with a secret that is NOT configured.
// Invariants: no crash; a token is accepted only when an independent check (OpenSSL, not
// Poco) confirms its signature with a configured key and algorithm, and its claims satisfy
// exp, nbf, iss and aud; a token signed with any other key is never accepted.

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <Poco/Dynamic/Var.h>
#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth.h"
#include "fuzz_check.h"

namespace tapi = appliance::plugins::task_api;

namespace {

// A key pair made for this fuzz target only (openssl genpkey -algorithm RSA
// -pkeyopt rsa_keygen_bits:2048). Never use it for anything else; it protects nothing.
constexpr const char* kFuzzTestOnlyRsaPrivateKeyPem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvwIBADANBgkqhkiG9w0BAQEFAASCBKkwggSlAgEAAoIBAQDbA215A89w5KbX\n"
    "qiuVYapv+5eEwYmbwUnPz+AKTD71J2RjKN7SnxBcreSakddgmJakem6C3WmLroZx\n"
    "zsTXhbx/I7VEV0J4FlrrASj03ktvq12TnXBbCE4y+RrwSSabpk+S1gEtkbJccSko\n"
    "Do/vlXq0tsINroj+zj5nMB8zVlAENOqthABheg5PxRIBKybMvhfxtOu9/0SwS65p\n"
    "ed44bhTdwUdk6cJA2A2wqMdJ5wIDRe9Dcfvtbl3+FmUpjPPhF3Aa2ScGcSy2yC17\n"
    "8OmubHNq74hhchPKtPjCiW2Jy77jv4ucuEsUTBL+cP6TeIDE5FKyNRyx5PDJ1n50\n"
    "dFRQLADBAgMBAAECggEAKy6pFEn3yfzPV6j2CHFWC1faJ2MIiJULAmYseKNRa4Fd\n"
    "lf6ONo2Fypw/vWlBg8p6M0pvhS52O8QIvqJD5fG4uYG3IRcqZCaWPQ1Av80fpxAs\n"
    "9mi9qTlBP+QlV1i4+8oGGP/Igi1es0LdmEgMwbKhm8WIC+4MlV7hZ3ORx0u+oaFW\n"
    "3AeRtAoDUiAI/Pn+jav8JGKalpmmi1OqHCFKoPY76RYsXu69jQgAHP9gpgn5lhSV\n"
    "DM3xzosL6r+NbZZBLtbgSFCuONhO62kfjQqycf7BMpJAA/A/esmiTR0lzmVWeMr6\n"
    "MS1Jq3Nl5ATmmGfZ5YpEANNvV7a6eRO+WQCGM8U89QKBgQD6BGAMnoDXgGgMpOCw\n"
    "Ufh8ukEVgOw2V8PyRTD5cmBGW2PsPf9qBUvQX4t+0vTwbeH7u+vt0QHAEsIqyXc+\n"
    "wNVvIMSdsydqN7EbqyRY2IUWcjEluU6ejaGO1yDo9MAhF5dM0TBa30er3oz5sSxt\n"
    "UzuRYoA4YaB2ld4Rpm/8bb5S/QKBgQDgQR8LUgN79aMfNFdZgb/wXofmzAeoFX5h\n"
    "Ux3Dgo3Ak0q/t+TpYvJwhRXSNMXEfuVh774R8d84+n2L5u75vIzPUgO5v84qQVEb\n"
    "umCc4xgj7sPAqfIwMIw3yVVaD4/pI2S5rt55KOBWyqVMYf0Z4UOvg4jtOc4CrH/o\n"
    "aL4paR+aFQKBgQCAR6JolyMQb2fzpN1MWqKejIo8WEvajimRswKv2omfT+DzI9Rb\n"
    "N6Bwp7VROzhF7HtYyFEDUowNWxKZFYnDfvmD7VI0f+mnTC/pPGSH2YBfxfOFoZC/\n"
    "NXhBbAwMuxehYxNUbLjcx1dkzemTa96ZsW0M6XdUdnL4pWitsbIf2McgmQKBgQCx\n"
    "McOd5kfqgsVJusnqZ6OKAqfPrhe+sH0T2eECwv3O1JOTuXKfFxgJ4J7FYf2CreIB\n"
    "6LV+6GdBVmwtR2Q84MdCacOX2f7FVKcKCdKdJLPGcLssWRyNB09EJUnTx8gmp1jH\n"
    "f206vxnEeoryN9sNv/kDjiN7jtlBM5w9v8XCYtYdoQKBgQCyAx7hWLlCa/LARbud\n"
    "Gf4VvXNhU1+rPu8BghwfDNZLuXF3dlZiqlJZ/saVSL8at8lvIBMtStDOOtgVd3M1\n"
    "6y2M4uyMfuKlNhP/By3ilFFjhbsVYxKmhuApxNuXs+Jc6jGmTaU0aU/fUOvHIlJf\n"
    "g9hmU8ome5hfM5fxLsA4v/ZPqg==\n"
    "-----END PRIVATE KEY-----\n";
constexpr const char* kFuzzTestOnlyRsaPublicKeyPem =
    "-----BEGIN PUBLIC KEY-----\n"
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA2wNteQPPcOSm16orlWGq\n"
    "b/uXhMGJm8FJz8/gCkw+9SdkYyje0p8QXK3kmpHXYJiWpHpugt1pi66Gcc7E14W8\n"
    "fyO1RFdCeBZa6wEo9N5Lb6tdk51wWwhOMvka8Ekmm6ZPktYBLZGyXHEpKA6P75V6\n"
    "tLbCDa6I/s4+ZzAfM1ZQBDTqrYQAYXoOT8USASsmzL4X8bTrvf9EsEuuaXneOG4U\n"
    "3cFHZOnCQNgNsKjHSecCA0XvQ3H77W5d/hZlKYzz4RdwGtknBnEstsgte/Dprmxz\n"
    "au+IYXITyrT4wolticu+47+LnLhLFEwS/nD+k3iAxORSsjUcseTwydZ+dHRUUCwA\n"
    "wQIDAQAB\n"
    "-----END PUBLIC KEY-----\n";
constexpr std::string_view kSecret = "fuzz-test-only-hs256-secret-0123456789abcdef";
constexpr std::string_view kWrongSecret = "fuzz-test-only-unconfigured-secret-fedcba9876543210";
constexpr std::string_view kIssuer = "https://issuer.fuzz.test";
constexpr std::string_view kAudience = "appliance-fuzz";
constexpr double kNow = 1764158400;  // 2026-11-26T12:00:00Z
constexpr double kLeeway = 30;

class FixedClock : public appliance::Clock {
 public:
  std::chrono::system_clock::time_point now() const override {
    return std::chrono::system_clock::time_point(std::chrono::seconds(1764158400));
  }
  std::chrono::steady_clock::time_point steadyNow() const override { return {}; }
};

EVP_PKEY* readKey(const char* pem, bool is_private) {
  BIO* bio = BIO_new_mem_buf(pem, -1);
  EVP_PKEY* key = is_private ? PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr)
                             : PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  FUZZ_CHECK(key != nullptr);
  return key;
}

struct Fixture {
  FixedClock clock;
  std::shared_ptr<const tapi::Authenticator> authenticator;
  EVP_PKEY* private_key = readKey(kFuzzTestOnlyRsaPrivateKeyPem, true);
  EVP_PKEY* public_key = readKey(kFuzzTestOnlyRsaPublicKeyPem, false);

  Fixture() {
    tapi::AuthSettings settings;
    settings.jwt.hs256_secret = std::string(kSecret);
    settings.jwt.rs256_public_key_pem = kFuzzTestOnlyRsaPublicKeyPem;
    settings.jwt.issuer = std::string(kIssuer);
    settings.jwt.audience = std::string(kAudience);
    settings.jwt.leeway = std::chrono::seconds(static_cast<int>(kLeeway));
    auto created = tapi::Authenticator::create(settings, clock);
    FUZZ_CHECK(created.isOk());
    authenticator = created.value();
  }
};

const Fixture& fixture() {
  static const Fixture instance;
  return instance;
}

std::string base64Url(std::string_view data) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (const unsigned char c : data) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 0x3F]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 0x3F]);
  return out;
}

// Unpadded base64url (RFC 7515 section 2) read the way the verifiers read a signature: the
// unused trailing bits are ignored, and Poco 1.11 (RS256) takes a '=' inside the text as 0.
// So one signature has several spellings; that makes token strings malleable (reported),
// but the bytes checked here are the bytes that were verified.
bool fromBase64Url(std::string_view text, std::string& out) {
  out.clear();
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : text) {
    int v = -1;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    if (c >= '0' && c <= '9') v = c - '0' + 52;
    if (c == '-') v = 62;
    if (c == '_') v = 63;
    if (c == '=') v = 0;
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return bits < 6;
}

std::string hmacSha256(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &length);
  return std::string(reinterpret_cast<const char*>(mac), length);
}

std::string rsaSha256Sign(std::string_view data) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::size_t length = 0;
  std::string signature;
  FUZZ_CHECK(EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, fixture().private_key) == 1);
  FUZZ_CHECK(EVP_DigestSign(ctx, nullptr, &length,
                            reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1);
  signature.resize(length);
  FUZZ_CHECK(EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(signature.data()), &length,
                            reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1);
  signature.resize(length);
  EVP_MD_CTX_free(ctx);
  return signature;
}

bool rsaSha256Verify(std::string_view data, std::string_view signature) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok =
      EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, fixture().public_key) == 1 &&
      EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()),
                       signature.size(), reinterpret_cast<const unsigned char*>(data.data()),
                       data.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

Poco::JSON::Object::Ptr jsonObject(const std::string& text) {
  try {
    return Poco::JSON::Parser().parse(text).extract<Poco::JSON::Object::Ptr>();
  } catch (const Poco::Exception&) {
  } catch (const std::exception&) {
  }
  return nullptr;
}

// What an accepted token must satisfy, checked without Poco::JWT.
void checkAccepted(std::string_view token) {
  const std::size_t first = token.find('.');
  const std::size_t last = token.rfind('.');
  FUZZ_CHECK(first != std::string_view::npos && first != last);
  FUZZ_CHECK(token.find('.', first + 1) == last);
  std::string header_json, payload_json, signature;
  FUZZ_CHECK(fromBase64Url(token.substr(0, first), header_json));
  FUZZ_CHECK(fromBase64Url(token.substr(first + 1, last - first - 1), payload_json));
  FUZZ_CHECK(fromBase64Url(token.substr(last + 1), signature));
  const Poco::JSON::Object::Ptr header = jsonObject(header_json);
  const Poco::JSON::Object::Ptr claims = jsonObject(payload_json);
  FUZZ_CHECK(header && claims);
  const std::string alg = header->optValue<std::string>("alg", "");
  const std::string_view signed_part = token.substr(0, last);
  if (alg == "HS256") {
    const std::string mac = hmacSha256(kSecret, signed_part);
    FUZZ_CHECK(signature.size() == mac.size() &&
               CRYPTO_memcmp(signature.data(), mac.data(), mac.size()) == 0);
  } else {
    FUZZ_CHECK(alg == "RS256");
    FUZZ_CHECK(rsaSha256Verify(signed_part, signature));
  }
  FUZZ_CHECK(claims->has("exp"));
  FUZZ_CHECK(claims->get("exp").convert<double>() + kLeeway >= kNow);
  if (claims->has("nbf")) FUZZ_CHECK(claims->get("nbf").convert<double>() <= kNow + kLeeway);
  FUZZ_CHECK(claims->optValue<std::string>("iss", "") == kIssuer);
  const Poco::Dynamic::Var aud = claims->get("aud");
  bool audience = false;
  if (aud.isString()) {
    audience = aud.toString() == kAudience;
  } else if (const auto list = claims->getArray("aud")) {
    for (std::size_t i = 0; i < list->size(); ++i) {
      audience = audience || (list->get(i).isString() && list->get(i).toString() == kAudience);
    }
  }
  FUZZ_CHECK(audience);
}

// header JSON '\n' payload JSON -> a compact JWS signed by `sign`.
template <class Sign>
std::string signedToken(std::string_view input, Sign sign) {
  const std::size_t nl = input.find('\n');
  const std::string_view header = input.substr(0, nl);
  const std::string_view payload = nl == std::string_view::npos ? "" : input.substr(nl + 1);
  std::string token = base64Url(header) + "." + base64Url(payload);
  token += "." + base64Url(sign(token));
  return token;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const int mode = data[0] % 4;
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string token;
  switch (mode) {
    case 0:
      token = std::string(input);
      break;
    case 1:
      token = signedToken(input, [](std::string_view s) { return hmacSha256(kSecret, s); });
      break;
    case 2:
      token = signedToken(input, rsaSha256Sign);
      break;
    default:
      token = signedToken(input, [](std::string_view s) { return hmacSha256(kWrongSecret, s); });
      break;
  }
  appliance::HttpRequest request;
  request.headers.push_back({"Authorization", "Bearer " + token});
  const tapi::AuthOutcome outcome = fixture().authenticator->check(request);
  if (outcome.result != tapi::AuthResult::kOk) return 0;
  FUZZ_CHECK(mode != 3);
  // The Authenticator trims the credential; so does the check.
  std::string_view presented = token;
  while (!presented.empty() && (presented.front() == ' ' || presented.front() == '\t')) {
    presented.remove_prefix(1);
  }
  while (!presented.empty() && (presented.back() == ' ' || presented.back() == '\t' ||
                                presented.back() == '\r' || presented.back() == '\n')) {
    presented.remove_suffix(1);
  }
  checkAccepted(presented);
  return 0;
}
