#pragma once
// Bearer authentication for the /tasks routes.
//
// Static tokens (task_api.auth.tokens, task_api.auth.tokens_file) are kept only as SHA-256
// hashes; a presented token is hashed and compared with every stored hash in constant time.
// JWTs (HS256 with a shared secret, RS256 with a public key) are verified with Poco::JWT;
// the algorithm must be one that is configured ("none" never is), and exp, nbf, iss and aud
// are checked here because Poco does not check them.
//
// An Authenticator is immutable after construction and safe to use from any thread. When a
// secret file changes, CredentialReloader (auth_reload.h) builds a new one and swaps it into
// the AuthenticatorSlot the routes read.

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/config.h"
#include "appliance/context.h"
#include "appliance/http.h"

namespace Poco::JWT {
class Signer;
class Token;
}  // namespace Poco::JWT

namespace appliance::plugins::task_api {

using TokenHash = std::array<unsigned char, 32>;

TokenHash sha256(std::string_view data);

struct JwtSettings {
  std::string hs256_secret;          // empty: HS256 tokens are refused
  std::string rs256_public_key_pem;  // empty: RS256 tokens are refused
  std::string issuer;                // empty: "iss" is not checked
  std::string audience;              // empty: "aud" is not checked
  std::chrono::seconds leeway{30};   // clock skew allowed for exp and nbf
  bool require_exp = true;           // refuse tokens without "exp"

  bool enabled() const { return !hs256_secret.empty() || !rs256_public_key_pem.empty(); }
};

// The secret files named by the config ("" when not set); re-read when they change.
struct AuthFiles {
  std::string tokens;            // auth.tokens_file
  std::string hs256_secret;      // auth.jwt.hs256_secret_file
  std::string rs256_public_key;  // auth.jwt.rs256_public_key_file
};

struct AuthSettings {
  bool enabled = true;
  std::vector<TokenHash> token_hashes;  // auth.tokens first, then the tokens_file's
  std::size_t weak_tokens = 0;          // static tokens shorter than 16 characters (warned about)
  // How many of token_hashes (and weak_tokens) come from auth.tokens rather than the file.
  std::size_t list_tokens = 0;
  std::size_t list_weak_tokens = 0;
  AuthFiles files;
  std::chrono::milliseconds reload_interval{10'000};  // auth.reload_interval
  // tokens_file when it did not exist at configure time and tokens_file_create is set: init()
  // generates a random token into it (0600) and loads it (loadPendingTokensFile).
  std::string pending_tokens_file;
  JwtSettings jwt;

  bool hasSource() const {
    return !token_hashes.empty() || !pending_tokens_file.empty() || jwt.enabled();
  }
};

// Reads the `auth` section (enabled, tokens, tokens_file, jwt.*) into `out`, loading the
// files it names. Problems are recorded on `auth` with their location.
void readAuthSettings(ConfigReader& auth, AuthSettings& out);

// Creates `pending_tokens_file` with a random token unless it now exists, then loads it.
Status loadPendingTokensFile(AuthSettings& settings);

enum class AuthFile { kTokens, kHs256Secret, kRs256PublicKey };

// The path of `which` in `files` ("" when the config names none).
const std::string& authFilePath(const AuthFiles& files, AuthFile which);

// Re-reads the secret file `which` into `settings`, replacing what it held before. On failure
// `settings` is unchanged and the status names the key and the file and says exactly what is
// wrong, never quoting a token or a secret.
Status reloadAuthFile(AuthFile which, AuthSettings& settings);

enum class AuthResult { kOk, kMissing, kInvalid };

struct AuthOutcome {
  AuthResult result = AuthResult::kMissing;
  std::string_view reason;  // for debug logs; never contains the token
};

class Authenticator {
 public:
  // `clock` must outlive the Authenticator. Fails when the RS256 key cannot be loaded.
  static Result<std::shared_ptr<const Authenticator>> create(const AuthSettings& settings,
                                                             const Clock& clock);
  ~Authenticator();

  AuthOutcome check(const HttpRequest& request) const;
  bool enabled() const { return enabled_; }

  // 401 {"detail":"Not authenticated"} or {"detail":"Invalid token"} with WWW-Authenticate.
  static void reject(AuthResult result, HttpResponse& response);

 private:
  Authenticator(const AuthSettings& settings, const Clock& clock);
  AuthOutcome verifyJwt(const std::string& token) const;
  // exp, nbf, iss, aud of a token whose signature was verified. May throw Poco exceptions.
  AuthOutcome checkClaims(const Poco::JWT::Token& token) const;

  bool enabled_;
  std::vector<TokenHash> token_hashes_;
  JwtSettings jwt_;
  std::unique_ptr<Poco::JWT::Signer> signer_;  // null when no JWT key is configured
  const Clock& clock_;
};

// The Authenticator in use. Requests take a reference-counted snapshot (no mutex);
// CredentialReloader replaces it whole, so a request sees either the old credentials or the
// new ones, never a mix.
class AuthenticatorSlot {
 public:
  explicit AuthenticatorSlot(std::shared_ptr<const Authenticator> initial)
      : current_(std::move(initial)) {}

  std::shared_ptr<const Authenticator> current() const {
    return current_.load(std::memory_order_acquire);
  }
  void replace(std::shared_ptr<const Authenticator> next) {
    current_.store(std::move(next), std::memory_order_release);
  }

 private:
  std::atomic<std::shared_ptr<const Authenticator>> current_;
};

}  // namespace appliance::plugins::task_api
