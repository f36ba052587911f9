#include "auth.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <strings.h>
#include <unistd.h>

#include <Poco/Crypto/RSAKey.h>
#include <Poco/Exception.h>
#include <Poco/JWT/Signer.h>
#include <Poco/JWT/Token.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace appliance::plugins::task_api {
namespace {

constexpr std::size_t kWeakTokenLength = 16;
constexpr std::size_t kMinHmacSecretBytes = 32;  // RFC 7518 3.2: a key of at least 256 bits
constexpr std::size_t kMaxFileBytes = 1 << 20;

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
  return s;
}

bool hasSpace(std::string_view s) { return std::any_of(s.begin(), s.end(), isSpace); }

// Reads a small file whole; on failure `error` says why.
bool readSmallFile(const std::string& path, std::string& out, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot open " + path + ": " + std::strerror(errno);
    return false;
  }
  std::ostringstream text;
  text << in.rdbuf();
  out = std::move(text).str();
  if (out.size() > kMaxFileBytes) {
    error = path + " is larger than 1 MiB; is it the right file?";
    return false;
  }
  return true;
}

void addToken(std::string_view token, AuthSettings& out) {
  out.token_hashes.push_back(sha256(token));
  if (token.size() < kWeakTokenLength) ++out.weak_tokens;
}

// One token per line; blank lines and lines starting with '#' are skipped. On failure
// `error` says what is wrong without quoting any token.
bool loadTokensFile(const std::string& path, AuthSettings& out, std::string& error) {
  std::string text;
  if (!readSmallFile(path, text, error)) {
    error += " (it must hold one token per line)";
    return false;
  }
  std::size_t line_no = 0, found = 0;
  std::string_view rest = text;
  while (!rest.empty()) {
    const std::size_t nl = rest.find('\n');
    const std::string_view line = trim(rest.substr(0, nl));
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    if (hasSpace(line)) {
      error = path + ":" + std::to_string(line_no) +
              ": a token must not contain whitespace (one token per line)";
      return false;
    }
    addToken(line, out);
    ++found;
  }
  if (found == 0) {
    error = path + " holds no token (one token per line; '#' starts a comment)";
    return false;
  }
  return true;
}

bool isValidRsaPublicKey(const std::string& pem, std::string& error) {
  try {
    std::istringstream in(pem);
    Poco::Crypto::RSAKey key(&in);
    return true;
  } catch (const Poco::Exception& e) {
    error = e.displayText();
  } catch (const std::exception& e) {
    error = e.what();
  }
  return false;
}

// The HS256 secret in `path`, surrounding whitespace trimmed.
bool loadSecretFile(const std::string& path, std::string& secret, std::string& error) {
  std::string text;
  if (!readSmallFile(path, text, error)) return false;
  secret = std::string(trim(text));
  OPENSSL_cleanse(text.data(), text.size());
  return true;
}

// The PEM RSA public key in `path`, checked.
bool loadPublicKeyFile(const std::string& path, std::string& pem, std::string& error) {
  std::string text;
  if (!readSmallFile(path, text, error)) return false;
  if (!isValidRsaPublicKey(text, error)) {
    error = path + " is not a PEM RSA public key (" + error +
            "); export it with `openssl rsa -in private.pem -pubout`";
    return false;
  }
  pem = std::move(text);
  return true;
}

void readJwtSettings(ConfigReader& jwt, JwtSettings& out, AuthFiles& files) {
  auto secret = jwt.optionalString("hs256_secret");
  auto secret_file = jwt.optionalString("hs256_secret_file");
  auto key_file = jwt.optionalString("rs256_public_key_file");
  out.issuer = jwt.string("issuer");
  out.audience = jwt.string("audience");
  out.leeway = std::chrono::duration_cast<std::chrono::seconds>(jwt.duration(
      "leeway", std::chrono::seconds(30), std::chrono::milliseconds(0), std::chrono::hours(1)));
  out.require_exp = jwt.boolean("require_exp", true);
  std::string error;
  if (secret && secret_file) {
    jwt.error("hs256_secret_file", "set either hs256_secret or hs256_secret_file, not both");
  } else if (secret) {
    out.hs256_secret = *secret;
  } else if (secret_file) {
    files.hs256_secret = *secret_file;
    if (!loadSecretFile(*secret_file, out.hs256_secret, error)) {
      jwt.error("hs256_secret_file", error);
    }
  }
  if ((secret || secret_file) && out.hs256_secret.size() < kMinHmacSecretBytes) {
    jwt.error(secret ? "hs256_secret" : "hs256_secret_file",
              "an HS256 secret must be at least 32 bytes (RFC 7518); generate one with "
              "`openssl rand -base64 48`");
    out.hs256_secret.clear();
  }
  if (key_file) {
    files.rs256_public_key = *key_file;
    if (!loadPublicKeyFile(*key_file, out.rs256_public_key_pem, error)) {
      jwt.error("rs256_public_key_file", error);
    }
  }
}

int base64UrlValue(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

// Unpadded base64url (RFC 7515) in its one canonical spelling: false on any other character,
// on a length no encoder produces, or on non-zero unused trailing bits (else one signature
// would have several spellings, and token strings would be malleable).
bool decodeBase64Url(std::string_view in, std::string& out) {
  out.clear();
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : in) {
    const int v = base64UrlValue(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return bits < 6 && (acc & ((1u << bits) - 1u)) == 0;
}

}  // namespace

TokenHash sha256(std::string_view data) {
  // Fetched once: passing EVP_sha256() makes OpenSSL 3 look the implementation up on every
  // call, which doubles the cost of hashing a token on each request.
  static const EVP_MD* const kSha256 = [] {
    const EVP_MD* md = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
    return md ? md : EVP_sha256();
  }();
  TokenHash hash{};
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), hash.data(), &length, kSha256, nullptr);
  return hash;
}

void readAuthSettings(ConfigReader& auth, AuthSettings& out) {
  out.enabled = auth.boolean("enabled", true);
  const std::vector<std::string> tokens = auth.stringList("tokens");
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const std::string_view token = trim(tokens[i]);
    if (token.empty() || hasSpace(token)) {
      auth.error("tokens", "entry " + std::to_string(i + 1) +
                               " is empty or contains whitespace; a token is one word");
      continue;
    }
    addToken(token, out);
  }
  out.list_tokens = out.token_hashes.size();
  out.list_weak_tokens = out.weak_tokens;
  const bool create_file = auth.boolean("tokens_file_create", false);
  if (auto file = auth.optionalString("tokens_file")) {
    out.files.tokens = *file;
    std::error_code ec;
    std::string error;
    if (!std::filesystem::exists(*file, ec)) {
      if (create_file) {
        out.pending_tokens_file = *file;  // generated in init(), after the config is checked
      } else {
        auth.error("tokens_file", "cannot open " + *file +
                                      ": no such file; create it (one token per line) or set "
                                      "task_api.auth.tokens_file_create: true to generate one");
      }
    } else if (!loadTokensFile(*file, out, error)) {
      auth.error("tokens_file", error);
    }
  }
  out.reload_interval = auth.duration("reload_interval", std::chrono::seconds(10),
                                      std::chrono::seconds(1), std::chrono::hours(24));
  ConfigReader jwt = auth.section("jwt");
  readJwtSettings(jwt, out.jwt, out.files);
  if (out.enabled && !out.hasSource() && !auth.hasErrors()) {
    auth.error("tokens",
               "authentication is enabled but no token source is configured: set "
               "task_api.auth.tokens, task_api.auth.tokens_file or task_api.auth.jwt "
               "(hs256_secret, hs256_secret_file or rs256_public_key_file), or set "
               "task_api.auth.enabled: false to serve /tasks without authentication");
  }
}

namespace {

// Writes a new random token (32 bytes, hex) to `path`, readable by the owner only. O_EXCL: if
// another process created the file meanwhile, its token is kept.
Status createTokenFile(const std::string& path) {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return Status::internal("no randomness for a token");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string token;
  for (unsigned char b : bytes) {
    token.push_back(kHex[b >> 4]);
    token.push_back(kHex[b & 0xF]);
  }
  token.push_back('\n');
  std::error_code ec;
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return Status::ok();
    return Status::invalid("task_api.auth.tokens_file: cannot create " + path + ": " +
                           std::strerror(errno));
  }
  const bool written =
      ::write(fd, token.data(), token.size()) == static_cast<ssize_t>(token.size());
  ::close(fd);
  OPENSSL_cleanse(token.data(), token.size());
  if (!written) return Status::invalid("task_api.auth.tokens_file: cannot write " + path);
  return Status::ok();
}

}  // namespace

Status loadPendingTokensFile(AuthSettings& settings) {
  if (settings.pending_tokens_file.empty()) return Status::ok();
  if (Status s = createTokenFile(settings.pending_tokens_file); !s.isOk()) return s;
  std::string error;
  if (!loadTokensFile(settings.pending_tokens_file, settings, error)) {
    return Status::invalid("task_api.auth.tokens_file: " + error);
  }
  settings.pending_tokens_file.clear();
  return Status::ok();
}

const std::string& authFilePath(const AuthFiles& files, AuthFile which) {
  switch (which) {
    case AuthFile::kTokens:
      return files.tokens;
    case AuthFile::kHs256Secret:
      return files.hs256_secret;
    case AuthFile::kRs256PublicKey:
      break;
  }
  return files.rs256_public_key;
}

Status reloadAuthFile(AuthFile which, AuthSettings& settings) {
  const std::string& path = authFilePath(settings.files, which);
  std::string error;
  if (which == AuthFile::kTokens) {
    AuthSettings read;
    if (!loadTokensFile(path, read, error)) {
      return Status::invalid("task_api.auth.tokens_file: " + error);
    }
    settings.token_hashes.resize(settings.list_tokens);
    settings.token_hashes.insert(settings.token_hashes.end(), read.token_hashes.begin(),
                                 read.token_hashes.end());
    settings.weak_tokens = settings.list_weak_tokens + read.weak_tokens;
  } else if (which == AuthFile::kHs256Secret) {
    std::string secret;
    if (!loadSecretFile(path, secret, error)) {
      return Status::invalid("task_api.auth.jwt.hs256_secret_file: " + error);
    }
    if (secret.size() < kMinHmacSecretBytes) {
      const std::size_t length = secret.size();
      OPENSSL_cleanse(secret.data(), secret.size());
      return Status::invalid("task_api.auth.jwt.hs256_secret_file: " + path + " holds " +
                             std::to_string(length) +
                             " bytes (whitespace trimmed); an HS256 secret must be at least 32 "
                             "bytes (RFC 7518); generate one with `openssl rand -base64 48`");
    }
    settings.jwt.hs256_secret = std::move(secret);
  } else {
    std::string pem;
    if (!loadPublicKeyFile(path, pem, error)) {
      return Status::invalid("task_api.auth.jwt.rs256_public_key_file: " + error);
    }
    settings.jwt.rs256_public_key_pem = std::move(pem);
  }
  return Status::ok();
}

Result<std::shared_ptr<const Authenticator>> Authenticator::create(const AuthSettings& settings,
                                                                   const Clock& clock) {
  try {
    return std::shared_ptr<const Authenticator>(new Authenticator(settings, clock));
  } catch (const Poco::Exception& e) {
    return Status::invalid("cannot load the JWT key: " + e.displayText());
  } catch (const std::exception& e) {
    return Status::invalid(std::string("cannot load the JWT key: ") + e.what());
  }
}

Authenticator::Authenticator(const AuthSettings& settings, const Clock& clock)
    : enabled_(settings.enabled),
      token_hashes_(settings.token_hashes),
      jwt_(settings.jwt),
      clock_(clock) {
  if (!jwt_.rs256_public_key_pem.empty()) {
    std::istringstream in(jwt_.rs256_public_key_pem);
    Poco::SharedPtr<Poco::Crypto::RSAKey> key(new Poco::Crypto::RSAKey(&in));
    signer_ = std::make_unique<Poco::JWT::Signer>(key);
    signer_->setAlgorithms({Poco::JWT::Signer::ALGO_RS256});
  }
}

Authenticator::~Authenticator() = default;

AuthOutcome Authenticator::check(const HttpRequest& request) const {
  if (!enabled_) return {AuthResult::kOk, {}};
  const auto header = request.header("Authorization");
  if (!header) return {AuthResult::kMissing, "no Authorization header"};
  std::string_view value = trim(*header);
  if (value.size() < 7 || strncasecmp(value.data(), "Bearer", 6) != 0 || !isSpace(value[6])) {
    return {AuthResult::kMissing, "not a Bearer credential"};
  }
  const std::string_view token = trim(value.substr(7));
  if (token.empty()) return {AuthResult::kMissing, "empty Bearer token"};

  const TokenHash hash = sha256(token);
  int matched = 0;
  for (const TokenHash& known : token_hashes_) {  // no early exit: constant time
    matched |= CRYPTO_memcmp(known.data(), hash.data(), hash.size()) == 0;
  }
  if (matched) return {AuthResult::kOk, {}};
  if (jwt_.enabled() && std::count(token.begin(), token.end(), '.') == 2) {
    return verifyJwt(std::string(token));
  }
  return {AuthResult::kInvalid, "unknown token"};
}

AuthOutcome Authenticator::verifyJwt(const std::string& jwt) const {
  const auto invalid = [](std::string_view why) { return AuthOutcome{AuthResult::kInvalid, why}; };
  try {
    Poco::JWT::Token token(jwt);  // parses only; the signature is checked below
    const std::string alg = token.getAlgorithm();
    if (alg == Poco::JWT::Signer::ALGO_HS256 && !jwt_.hs256_secret.empty()) {
      // Poco compares HMAC digests with operator==; compare in constant time instead.
      const std::size_t last_dot = jwt.rfind('.');
      std::string signature;
      if (!decodeBase64Url(std::string_view(jwt).substr(last_dot + 1), signature) ||
          signature.size() != 32) {
        return invalid("jwt: malformed signature");
      }
      unsigned char mac[EVP_MAX_MD_SIZE];
      unsigned int mac_length = 0;
      HMAC(EVP_sha256(), jwt_.hs256_secret.data(), static_cast<int>(jwt_.hs256_secret.size()),
           reinterpret_cast<const unsigned char*>(jwt.data()), last_dot, mac, &mac_length);
      if (mac_length != 32 || CRYPTO_memcmp(mac, signature.data(), 32) != 0) {
        return invalid("jwt: bad signature");
      }
    } else if (alg == Poco::JWT::Signer::ALGO_RS256 && signer_) {
      // Poco's decoder also takes '=' inside the text and ignores trailing bits: only the
      // canonical spelling of a signature is accepted.
      std::string signature;
      if (!decodeBase64Url(std::string_view(jwt).substr(jwt.rfind('.') + 1), signature)) {
        return invalid("jwt: malformed signature");
      }
      Poco::JWT::Token verified;
      if (!signer_->tryVerify(jwt, verified)) return invalid("jwt: bad signature");
    } else {
      return invalid("jwt: algorithm not accepted");  // includes "none"
    }
    return checkClaims(token);
  } catch (const Poco::Exception&) {
    return invalid("jwt: malformed token");
  } catch (const std::exception&) {
    return invalid("jwt: malformed token");
  }
}

AuthOutcome Authenticator::checkClaims(const Poco::JWT::Token& token) const {
  const auto invalid = [](std::string_view why) { return AuthOutcome{AuthResult::kInvalid, why}; };
  const auto& claims = token.payload();
  const double now = std::chrono::duration<double>(clock_.now().time_since_epoch()).count();
  const double leeway = static_cast<double>(jwt_.leeway.count());
  if (claims.has("exp")) {
    if (now > claims.getValue<double>("exp") + leeway) return invalid("jwt: expired");
  } else if (jwt_.require_exp) {
    return invalid("jwt: no exp claim");
  }
  if (claims.has("nbf") && now + leeway < claims.getValue<double>("nbf")) {
    return invalid("jwt: not yet valid (nbf)");
  }
  if (!jwt_.issuer.empty() && (!claims.has("iss") || token.getIssuer() != jwt_.issuer)) {
    return invalid("jwt: wrong issuer");
  }
  if (!jwt_.audience.empty()) {
    const std::vector<std::string> audiences =
        claims.has("aud") ? token.getAudience() : std::vector<std::string>{};
    if (std::find(audiences.begin(), audiences.end(), jwt_.audience) == audiences.end()) {
      return invalid("jwt: wrong audience");
    }
  }
  return {AuthResult::kOk, {}};
}

void Authenticator::reject(AuthResult result, HttpResponse& response) {
  if (result == AuthResult::kInvalid) {
    response.error(401, "Invalid token");
    response.setHeader("WWW-Authenticate", "Bearer error=\"invalid_token\"");
  } else {
    response.error(401, "Not authenticated");
    response.setHeader("WWW-Authenticate", "Bearer");
  }
}

}  // namespace appliance::plugins::task_api
