#include "auth.h"

#include <gtest/gtest.h>

#include <Poco/Crypto/RSAKey.h>
#include <Poco/JWT/Signer.h>
#include <Poco/JWT/Token.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "appliance/testing/fake_context.h"
#include "test_support.h"

namespace appliance::plugins::task_api {
namespace {

using testing::ManualClock;

constexpr const char* kSecret = "0123456789abcdef0123456789abcdef-hs256";
constexpr const char* kOtherSecret = "fedcba9876543210fedcba9876543210-other";

HttpRequest withAuthorization(std::string value) {
  HttpRequest request;
  request.headers.push_back({"Authorization", std::move(value)});
  return request;
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

struct Claims {
  std::optional<std::int64_t> exp;
  std::optional<std::int64_t> nbf;
  std::string iss;
  std::vector<std::string> aud;
};

Poco::JWT::Token makeToken(const Claims& claims) {
  Poco::JWT::Token token;
  token.setType("JWT");
  token.setSubject("user-1");
  if (claims.exp) token.payload().set("exp", *claims.exp);
  if (claims.nbf) token.payload().set("nbf", *claims.nbf);
  if (!claims.iss.empty()) token.setIssuer(claims.iss);
  if (claims.aud.size() == 1) token.setAudience(claims.aud[0]);
  if (claims.aud.size() > 1) token.setAudience(claims.aud);
  return token;
}

std::string hs256(const Claims& claims, const std::string& secret = kSecret) {
  Poco::JWT::Token token = makeToken(claims);
  Poco::JWT::Signer signer(secret);
  return signer.sign(token, Poco::JWT::Signer::ALGO_HS256);
}

struct RsaKeys {
  Poco::SharedPtr<Poco::Crypto::RSAKey> key;
  std::string public_pem;
};

RsaKeys generateRsa() {
  RsaKeys keys;
  keys.key =
      new Poco::Crypto::RSAKey(Poco::Crypto::RSAKey::KL_2048, Poco::Crypto::RSAKey::EXP_LARGE);
  std::ostringstream pub;
  keys.key->save(&pub);
  keys.public_pem = pub.str();
  return keys;
}

const RsaKeys& rsa() {
  static const RsaKeys keys = generateRsa();
  return keys;
}

const RsaKeys& otherRsa() {
  static const RsaKeys keys = generateRsa();
  return keys;
}

std::string rs256(const Claims& claims, const RsaKeys& keys = rsa()) {
  Poco::JWT::Token token = makeToken(claims);
  Poco::JWT::Signer signer(keys.key);
  signer.addAlgorithm(Poco::JWT::Signer::ALGO_RS256);
  return signer.sign(token, Poco::JWT::Signer::ALGO_RS256);
}

class AuthTest : public ::testing::Test {
 protected:
  std::int64_t now() const {
    return std::chrono::duration_cast<std::chrono::seconds>(clock_.now().time_since_epoch())
        .count();
  }
  std::shared_ptr<const Authenticator> make(const AuthSettings& settings) {
    auto auth = Authenticator::create(settings, clock_);
    EXPECT_TRUE(auth.isOk()) << auth.status().message();
    return auth.value();
  }
  AuthSettings staticTokens(std::initializer_list<const char*> tokens) {
    AuthSettings settings;
    for (const char* t : tokens) settings.token_hashes.push_back(sha256(t));
    return settings;
  }
  AuthSettings jwtSettings() {
    AuthSettings settings;
    settings.jwt.hs256_secret = kSecret;
    settings.jwt.rs256_public_key_pem = rsa().public_pem;
    settings.jwt.issuer = "https://issuer.example";
    settings.jwt.audience = "task-api";
    settings.jwt.leeway = std::chrono::seconds(30);
    return settings;
  }
  AuthResult check(const Authenticator& auth, const std::string& token) {
    return auth.check(withAuthorization("Bearer " + token)).result;
  }
  Claims goodClaims() { return {now() + 300, now() - 10, "https://issuer.example", {"task-api"}}; }

  ManualClock clock_;
};

TEST_F(AuthTest, Sha256MatchesTheStandardVector) {
  const TokenHash hash = sha256("abc");
  EXPECT_EQ(hash[0], 0xba);
  EXPECT_EQ(hash[1], 0x78);
  EXPECT_EQ(hash[31], 0xad);
}

TEST_F(AuthTest, StaticTokens) {
  auto auth = make(staticTokens({"first-token-0123456789", "second-token-0123456789"}));
  EXPECT_EQ(check(*auth, "first-token-0123456789"), AuthResult::kOk);
  EXPECT_EQ(check(*auth, "second-token-0123456789"), AuthResult::kOk);
  EXPECT_EQ(check(*auth, "first-token-012345678"), AuthResult::kInvalid);
  EXPECT_EQ(check(*auth, "first-token-0123456789x"), AuthResult::kInvalid);
}

TEST_F(AuthTest, SchemeIsCaseInsensitiveAndSpacesAreTrimmed) {
  auto auth = make(staticTokens({"token-0123456789abcdef"}));
  EXPECT_EQ(auth->check(withAuthorization("bearer token-0123456789abcdef")).result,
            AuthResult::kOk);
  EXPECT_EQ(auth->check(withAuthorization("  BEARER   token-0123456789abcdef  ")).result,
            AuthResult::kOk);
}

TEST_F(AuthTest, MissingOrWrongScheme) {
  auto auth = make(staticTokens({"token-0123456789abcdef"}));
  EXPECT_EQ(auth->check(HttpRequest{}).result, AuthResult::kMissing);
  EXPECT_EQ(auth->check(withAuthorization("Basic dXNlcjpwYXNz")).result, AuthResult::kMissing);
  EXPECT_EQ(auth->check(withAuthorization("token-0123456789abcdef")).result, AuthResult::kMissing);
  EXPECT_EQ(auth->check(withAuthorization("Bearer")).result, AuthResult::kMissing);
  EXPECT_EQ(auth->check(withAuthorization("Bearer    ")).result, AuthResult::kMissing);
  EXPECT_EQ(auth->check(withAuthorization("Bearertoken-0123456789abcdef")).result,
            AuthResult::kMissing);
}

TEST_F(AuthTest, RejectionsCarryWwwAuthenticate) {
  HttpResponse missing;
  Authenticator::reject(AuthResult::kMissing, missing);
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(missing.body, R"({"detail":"Not authenticated"})");
  ASSERT_EQ(missing.headers.size(), 1u);
  EXPECT_EQ(missing.headers[0].name, "WWW-Authenticate");
  EXPECT_EQ(missing.headers[0].value, "Bearer");
  HttpResponse invalid;
  Authenticator::reject(AuthResult::kInvalid, invalid);
  EXPECT_EQ(invalid.body, R"({"detail":"Invalid token"})");
  EXPECT_EQ(invalid.headers[0].value, R"(Bearer error="invalid_token")");
}

TEST_F(AuthTest, DisabledAuthAcceptsEverything) {
  AuthSettings settings;
  settings.enabled = false;
  auto auth = make(settings);
  EXPECT_EQ(auth->check(HttpRequest{}).result, AuthResult::kOk);
}

TEST_F(AuthTest, Hs256TokenWithGoodClaims) {
  auto auth = make(jwtSettings());
  EXPECT_EQ(check(*auth, hs256(goodClaims())), AuthResult::kOk);
}

TEST_F(AuthTest, Rs256TokenWithGoodClaims) {
  auto auth = make(jwtSettings());
  EXPECT_EQ(check(*auth, rs256(goodClaims())), AuthResult::kOk);
}

// A base64url character whose value differs only in bits the decoder drops.
std::string respelledLastCharacter(const std::string& token) {
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out = token;
  const std::size_t value = kAlphabet.find(out.back());
  out.back() = kAlphabet[value ^ 1];
  return out;
}

TEST_F(AuthTest, OnlyTheCanonicalSpellingOfASignatureVerifies) {
  auto auth = make(jwtSettings());
  // 32 (HS256) and 256 (RS256) signature bytes leave 2 and 4 unused bits in the last
  // character: flipping the lowest one keeps the bytes and changes the token text.
  const std::string hs = hs256(goodClaims());
  const std::string rs = rs256(goodClaims());
  ASSERT_EQ(check(*auth, hs), AuthResult::kOk);
  ASSERT_EQ(check(*auth, rs), AuthResult::kOk);
  EXPECT_EQ(check(*auth, respelledLastCharacter(hs)), AuthResult::kInvalid);
  EXPECT_EQ(check(*auth, respelledLastCharacter(rs)), AuthResult::kInvalid);
  std::string padded = rs;
  const std::size_t a = padded.find('A', padded.rfind('.'));
  if (a != std::string::npos) {
    padded[a] = '=';  // Poco's decoder reads '=' as 'A'
    EXPECT_EQ(check(*auth, padded), AuthResult::kInvalid);
  }
}

TEST_F(AuthTest, AudienceMayBeAList) {
  auto auth = make(jwtSettings());
  Claims claims = goodClaims();
  claims.aud = {"other", "task-api"};
  EXPECT_EQ(check(*auth, hs256(claims)), AuthResult::kOk);
}

TEST_F(AuthTest, ExpiredTokensFailBeyondTheLeeway) {
  auto auth = make(jwtSettings());
  Claims claims = goodClaims();
  claims.exp = now() - 20;  // within 30 s of leeway
  EXPECT_EQ(check(*auth, hs256(claims)), AuthResult::kOk);
  claims.exp = now() - 31;
  EXPECT_EQ(check(*auth, hs256(claims)), AuthResult::kInvalid);
  EXPECT_EQ(check(*auth, rs256(claims)), AuthResult::kInvalid);
}

TEST_F(AuthTest, TokensTurnInvalidAsTheClockPassesExp) {
  auto auth = make(jwtSettings());
  const std::string token = hs256(goodClaims());  // exp = now + 300
  EXPECT_EQ(check(*auth, token), AuthResult::kOk);
  clock_.advance(std::chrono::seconds(331));
  EXPECT_EQ(check(*auth, token), AuthResult::kInvalid);
}

TEST_F(AuthTest, NotBeforeInTheFutureFails) {
  auto auth = make(jwtSettings());
  Claims claims = goodClaims();
  claims.nbf = now() + 60;
  EXPECT_EQ(check(*auth, hs256(claims)), AuthResult::kInvalid);
  claims.nbf = now() + 20;  // within leeway
  EXPECT_EQ(check(*auth, hs256(claims)), AuthResult::kOk);
}

TEST_F(AuthTest, MissingExpFailsUnlessNotRequired) {
  Claims claims = goodClaims();
  claims.exp.reset();
  EXPECT_EQ(check(*make(jwtSettings()), hs256(claims)), AuthResult::kInvalid);
  AuthSettings lenient = jwtSettings();
  lenient.jwt.require_exp = false;
  EXPECT_EQ(check(*make(lenient), hs256(claims)), AuthResult::kOk);
}

TEST_F(AuthTest, WrongIssuerOrAudienceFails) {
  auto auth = make(jwtSettings());
  Claims claims = goodClaims();
  claims.iss = "https://evil.example";
  EXPECT_EQ(check(*auth, hs256(claims)), AuthResult::kInvalid);
  claims = goodClaims();
  claims.iss.clear();
  EXPECT_EQ(check(*auth, hs256(claims)), AuthResult::kInvalid);
  claims = goodClaims();
  claims.aud = {"another-api"};
  EXPECT_EQ(check(*auth, hs256(claims)), AuthResult::kInvalid);
  claims.aud.clear();
  EXPECT_EQ(check(*auth, rs256(claims)), AuthResult::kInvalid);
}

TEST_F(AuthTest, BadSignaturesFail) {
  auto auth = make(jwtSettings());
  EXPECT_EQ(check(*auth, hs256(goodClaims(), kOtherSecret)), AuthResult::kInvalid);
  EXPECT_EQ(check(*auth, rs256(goodClaims(), otherRsa())), AuthResult::kInvalid);
  // A payload swapped under a valid signature.
  std::string token = hs256(goodClaims());
  const std::string other =
      hs256(Claims{now() + 99999, {}, "https://issuer.example", {"task-api"}});
  const auto payload = [](const std::string& t) {
    const auto a = t.find('.'), b = t.rfind('.');
    return t.substr(a + 1, b - a - 1);
  };
  token.replace(token.find('.') + 1, payload(token).size(), payload(other));
  EXPECT_EQ(check(*auth, token), AuthResult::kInvalid);
  EXPECT_EQ(check(*auth, "not.a.jwt"), AuthResult::kInvalid);
  EXPECT_EQ(check(*auth, "a.b.c.d"), AuthResult::kInvalid);
}

TEST_F(AuthTest, AlgNoneIsRejected) {
  auto auth = make(jwtSettings());
  const std::string payload = R"({"sub":"admin","iss":"https://issuer.example","aud":"task-api",)"
                              R"("exp":)" +
                              std::to_string(now() + 300) + "}";
  const std::string header = base64Url(R"({"alg":"none","typ":"JWT"})");
  EXPECT_EQ(check(*auth, header + "." + base64Url(payload) + "."), AuthResult::kInvalid);
  EXPECT_EQ(check(*auth, header + "." + base64Url(payload) + ".c2ln"), AuthResult::kInvalid);
  const std::string none_upper = base64Url(R"({"alg":"None","typ":"JWT"})");
  EXPECT_EQ(check(*auth, none_upper + "." + base64Url(payload) + ".c2ln"), AuthResult::kInvalid);
}

TEST_F(AuthTest, OnlyConfiguredAlgorithmsAreAccepted) {
  AuthSettings rs_only = jwtSettings();
  rs_only.jwt.hs256_secret.clear();
  auto auth = make(rs_only);
  EXPECT_EQ(check(*auth, rs256(goodClaims())), AuthResult::kOk);
  EXPECT_EQ(check(*auth, hs256(goodClaims())), AuthResult::kInvalid);
  // Key confusion: an HS256 token whose "secret" is the RSA public key.
  EXPECT_EQ(check(*auth, hs256(goodClaims(), rsa().public_pem)), AuthResult::kInvalid);

  AuthSettings hs_only = jwtSettings();
  hs_only.jwt.rs256_public_key_pem.clear();
  auto hs = make(hs_only);
  EXPECT_EQ(check(*hs, rs256(goodClaims())), AuthResult::kInvalid);
  Poco::JWT::Token token = makeToken(goodClaims());
  Poco::JWT::Signer signer(kSecret);
  signer.addAlgorithm(Poco::JWT::Signer::ALGO_HS512);
  EXPECT_EQ(check(*hs, signer.sign(token, Poco::JWT::Signer::ALGO_HS512)), AuthResult::kInvalid);
}

TEST_F(AuthTest, JwtsAreNotAcceptedWhenNoJwtKeyIsConfigured) {
  auto auth = make(staticTokens({"token-0123456789abcdef"}));
  EXPECT_EQ(check(*auth, hs256(goodClaims())), AuthResult::kInvalid);
}

// --- config: auth.* ----------------------------------------------------------------------

class AuthConfigTest : public ::testing::Test {
 protected:
  // Reads `yaml` as the auth section; returns the finish() status.
  Status read(const std::string& yaml, AuthSettings& out) {
    ConfigReader reader(test::yamlNode(yaml));
    readAuthSettings(reader, out);
    return reader.finish();
  }
  test::TempDir dir_;
};

TEST_F(AuthConfigTest, TokensFromListAndFile) {
  const std::string file = dir_.write("tokens",
                                      "# API tokens\n\nfile-token-0123456789\r\n"
                                      "  spaced-token-0123456789  \n#old-token\n");
  AuthSettings settings;
  Status s = read("tokens: [list-token-0123456789]\ntokens_file: " + file + "\n", settings);
  ASSERT_TRUE(s.isOk()) << s.message();
  ASSERT_EQ(settings.token_hashes.size(), 3u);
  EXPECT_EQ(settings.token_hashes[0], sha256("list-token-0123456789"));
  EXPECT_EQ(settings.token_hashes[1], sha256("file-token-0123456789"));
  EXPECT_EQ(settings.token_hashes[2], sha256("spaced-token-0123456789"));
  EXPECT_EQ(settings.weak_tokens, 0u);
}

TEST_F(AuthConfigTest, CommaSeparatedTokensFromEnvironmentStyleValue) {
  AuthSettings settings;
  ASSERT_TRUE(read("tokens: \"a-first-token-000000,a-second-token-00000\"\n", settings).isOk());
  EXPECT_EQ(settings.token_hashes.size(), 2u);
}

TEST_F(AuthConfigTest, ShortTokensAreCountedAsWeak) {
  AuthSettings settings;
  ASSERT_TRUE(read("tokens: [abc]\n", settings).isOk());
  EXPECT_EQ(settings.weak_tokens, 1u);
}

TEST_F(AuthConfigTest, MissingTokensFileIsAnErrorUnlessCreationIsAsked) {
  AuthSettings settings;
  const std::string file = dir_.path() + "/api-token";
  const Status missing = read("tokens_file: " + file + "\n", settings);
  ASSERT_FALSE(missing.isOk());
  EXPECT_NE(missing.message().find("tokens_file: cannot open " + file + ": no such file"),
            std::string::npos)
      << missing.message();
}

TEST_F(AuthConfigTest, MissingTokensFileIsGeneratedAtInitWhenAsked) {
  AuthSettings settings;
  const std::string file = dir_.path() + "/sub/api-token";
  ASSERT_TRUE(read("tokens_file: " + file + "\ntokens_file_create: true\n", settings).isOk());
  EXPECT_EQ(settings.pending_tokens_file, file);
  EXPECT_FALSE(std::filesystem::exists(file));  // configure() has no side effects

  ASSERT_TRUE(loadPendingTokensFile(settings).isOk());
  ASSERT_EQ(settings.token_hashes.size(), 1u);
  std::ifstream in(file);
  std::string token;
  std::getline(in, token);
  EXPECT_EQ(token.size(), 64u);
  EXPECT_EQ(settings.token_hashes[0], sha256(token));
  EXPECT_EQ(std::filesystem::status(file).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

TEST_F(AuthConfigTest, ExistingTokensFileIsKeptWhenCreationIsAsked) {
  AuthSettings settings;
  const std::string file = dir_.write("api-token", "kept-token-0123456789\n");
  ASSERT_TRUE(read("tokens_file: " + file + "\ntokens_file_create: true\n", settings).isOk());
  ASSERT_TRUE(loadPendingTokensFile(settings).isOk());
  ASSERT_EQ(settings.token_hashes.size(), 1u);
  EXPECT_EQ(settings.token_hashes[0], sha256("kept-token-0123456789"));
}

TEST_F(AuthConfigTest, TokensFileWithoutTokensIsAnError) {
  AuthSettings settings;
  const Status s = read("tokens_file: " + dir_.write("empty", "# nothing\n\n") + "\n", settings);
  EXPECT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("holds no token"), std::string::npos) << s.message();
}

TEST_F(AuthConfigTest, TokenWithWhitespaceIsAnErrorThatDoesNotEchoIt) {
  AuthSettings settings;
  const Status s = read("tokens_file: " + dir_.write("t", "secret part-two\n") + "\n", settings);
  EXPECT_FALSE(s.isOk());
  EXPECT_NE(s.message().find(":1: a token must not contain whitespace"), std::string::npos)
      << s.message();
  EXPECT_EQ(s.message().find("part-two"), std::string::npos) << s.message();
}

TEST_F(AuthConfigTest, EnabledWithoutAnySourceFailsWithAPreciseMessage) {
  AuthSettings settings;
  const Status s = read("enabled: true\n", settings);
  EXPECT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("no token source is configured"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("task_api.auth.tokens_file"), std::string::npos);
}

TEST_F(AuthConfigTest, DisabledNeedsNoSource) {
  AuthSettings settings;
  ASSERT_TRUE(read("enabled: false\n", settings).isOk());
  EXPECT_FALSE(settings.enabled);
}

TEST_F(AuthConfigTest, Hs256SecretRules) {
  AuthSettings a;
  EXPECT_NE(read("jwt: {hs256_secret: short}\n", a).message().find("at least 32 bytes"),
            std::string::npos);
  AuthSettings b;
  const std::string file = dir_.write("secret", std::string(kSecret) + "\n");
  ASSERT_TRUE(read("jwt: {hs256_secret_file: " + file + "}\n", b).isOk());
  EXPECT_EQ(b.jwt.hs256_secret, kSecret);  // trailing newline trimmed
  AuthSettings c;
  EXPECT_NE(
      read(std::string("jwt: {hs256_secret: ") + kSecret + ", hs256_secret_file: " + file + "}\n",
           c)
          .message()
          .find("not both"),
      std::string::npos);
}

TEST_F(AuthConfigTest, Rs256KeyFileMustHoldAPublicKey) {
  AuthSettings good;
  const std::string key = dir_.write("key.pem", rsa().public_pem);
  Status s = read("jwt: {rs256_public_key_file: " + key + ", audience: api, leeway: 5s}\n", good);
  ASSERT_TRUE(s.isOk()) << s.message();
  EXPECT_EQ(good.jwt.rs256_public_key_pem, rsa().public_pem);
  EXPECT_EQ(good.jwt.leeway, std::chrono::seconds(5));
  AuthSettings bad;
  const std::string junk = dir_.write("junk.pem", "-----BEGIN PUBLIC KEY-----\nnope\n");
  s = read("jwt: {rs256_public_key_file: " + junk + "}\n", bad);
  EXPECT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("is not a PEM RSA public key"), std::string::npos) << s.message();
}

TEST_F(AuthConfigTest, UnknownJwtKeysAreRejected) {
  AuthSettings settings;
  const Status s =
      read(std::string("jwt: {hs256_secret: ") + kSecret + ", algorithm: none}\n", settings);
  EXPECT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("algorithm"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace appliance::plugins::task_api
