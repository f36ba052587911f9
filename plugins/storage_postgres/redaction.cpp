#include "redaction.h"

#include <algorithm>
#include <cctype>

namespace appliance::plugins::storage_postgres {
namespace {

bool startsWithNoCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  }
  return true;
}

bool isUri(std::string_view text) {
  return startsWithNoCase(text, "postgresql://") || startsWithNoCase(text, "postgres://");
}

// postgresql://[user[:password]@]host...[?k=v&password=v]
std::string redactUri(std::string_view uri) {
  std::string out;
  out.reserve(uri.size());
  const std::size_t scheme_end = uri.find("://") + 3;
  // The authority ends at the first '/', '?' or '#'; its userinfo at the LAST '@' in it (a
  // password may contain an unescaped '@').
  std::size_t authority_end = uri.find_first_of("/?#", scheme_end);
  if (authority_end == std::string_view::npos) authority_end = uri.size();
  const std::string_view authority = uri.substr(scheme_end, authority_end - scheme_end);
  out.append(uri.substr(0, scheme_end));
  const std::size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    const std::string_view userinfo = authority.substr(0, at);
    const std::size_t colon = userinfo.find(':');
    if (colon != std::string_view::npos) {
      out.append(userinfo.substr(0, colon + 1)).append(kRedacted);
    } else {
      out.append(userinfo);
    }
    out.append(authority.substr(at));
  } else {
    out.append(authority);
  }
  // Query parameters: mask password=... (any case), keep the rest.
  std::string_view rest = uri.substr(authority_end);
  while (!rest.empty()) {
    const std::size_t sep = rest.find_first_of("?&", 1);
    std::string_view param = rest.substr(0, sep);
    if (param.size() > 1 && (param[0] == '?' || param[0] == '&') &&
        startsWithNoCase(param.substr(1), "password=")) {
      out.append(param.substr(0, 1 + 9)).append(kRedacted);
    } else {
      out.append(param);
    }
    if (sep == std::string_view::npos) break;
    rest = rest.substr(sep);
  }
  return out;
}

// key = value pairs; values may be single-quoted with backslash escapes.
std::string redactKeyValue(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    // Copy whitespace, then the keyword.
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) out += text[i++];
    const std::size_t key_start = i;
    while (i < text.size() && text[i] != '=' && !std::isspace(static_cast<unsigned char>(text[i])))
      ++i;
    const std::string_view key = text.substr(key_start, i - key_start);
    out.append(key);
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) out += text[i++];
    if (i >= text.size() || text[i] != '=') continue;  // malformed: keep scanning
    out += text[i++];
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) out += text[i++];
    const std::size_t value_start = i;
    if (i < text.size() && text[i] == '\'') {
      ++i;
      while (i < text.size() && text[i] != '\'')
        i += (text[i] == '\\' && i + 1 < text.size()) ? 2 : 1;
      if (i < text.size()) ++i;  // closing quote
    } else {
      while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) {
        i += (text[i] == '\\' && i + 1 < text.size()) ? 2 : 1;
      }
    }
    i = std::min(i, text.size());
    std::string lowered(key);
    std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lowered == "password") {
      out.append(kRedacted);
    } else if (lowered == "dbname" && isUri(text.substr(value_start, i - value_start))) {
      out.append(redactUri(text.substr(value_start, i - value_start)));
    } else {
      out.append(text.substr(value_start, i - value_start));
    }
  }
  return out;
}

}  // namespace

std::string redactConnectionString(std::string_view conninfo) {
  return isUri(conninfo) ? redactUri(conninfo) : redactKeyValue(conninfo);
}

SecretScrubber::SecretScrubber(std::vector<std::string> secrets) {
  for (auto& s : secrets) {
    if (!s.empty()) secrets_.push_back(std::move(s));
  }
  // Longest first, so a secret containing another is masked whole.
  std::sort(secrets_.begin(), secrets_.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

std::string SecretScrubber::scrub(std::string_view text) const {
  std::string out(text);
  for (const auto& secret : secrets_) {
    for (std::size_t pos = out.find(secret); pos != std::string::npos;
         pos = out.find(secret, pos + kRedacted.size())) {
      out.replace(pos, secret.size(), kRedacted);
    }
  }
  return out;
}

}  // namespace appliance::plugins::storage_postgres
