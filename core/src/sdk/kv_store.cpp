#include "appliance/kv_store.h"

namespace appliance {
namespace {

// Valid UTF-8 without NUL (keys end up in SQL text columns and log lines).
bool isCleanUtf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == 0) return false;
    std::size_t extra = 0;
    if (c < 0x80) {
      extra = 0;
    } else if ((c & 0xE0) == 0xC0 && c >= 0xC2) {
      extra = 1;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
    } else if ((c & 0xF8) == 0xF0 && c <= 0xF4) {
      extra = 3;
    } else {
      return false;
    }
    if (i + extra >= text.size()) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return false;
    }
    i += extra + 1;
  }
  return true;
}

Status checkName(std::string_view what, std::string_view text) {
  if (text.empty() || text.size() > kKvMaxKeyBytes) {
    return Status::invalid(std::string(what) + " must be 1.." + std::to_string(kKvMaxKeyBytes) +
                           " bytes, got " + std::to_string(text.size()));
  }
  if (!isCleanUtf8(text)) {
    return Status::invalid(std::string(what) + " must be valid UTF-8 without NUL bytes");
  }
  return Status::ok();
}

constexpr char kMaxCodePoint[] = "\xF4\x8F\xBF\xBF";  // U+10FFFF

}  // namespace

std::string kvPrefixUpperBound(std::string_view prefix) {
  std::string bound(prefix);
  while (!bound.empty()) {
    // The last code point starts at the last byte that is not a continuation byte.
    std::size_t start = bound.size() - 1;
    while (start > 0 && (static_cast<unsigned char>(bound[start]) & 0xC0) == 0x80) --start;
    const auto lead = static_cast<unsigned char>(bound[start]);
    const std::size_t length = bound.size() - start;
    char32_t cp = lead < 0x80   ? lead
                  : lead < 0xE0 ? lead & 0x1F
                  : lead < 0xF0 ? lead & 0x0F
                                : lead & 0x07;
    for (std::size_t i = 1; i < length; ++i) {
      cp = (cp << 6) | (static_cast<unsigned char>(bound[start + i]) & 0x3F);
    }
    bound.resize(start);
    if (cp >= 0x10FFFF) continue;  // no greater code point: carry into the one before
    ++cp;
    if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xE000;  // surrogates are not valid UTF-8
    if (cp < 0x80) {
      bound += static_cast<char>(cp);
    } else if (cp < 0x800) {
      bound += static_cast<char>(0xC0 | (cp >> 6));
      bound += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      bound += static_cast<char>(0xE0 | (cp >> 12));
      bound += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      bound += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      bound += static_cast<char>(0xF0 | (cp >> 18));
      bound += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      bound += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      bound += static_cast<char>(0x80 | (cp & 0x3F));
    }
    return bound;
  }
  // Above every key of at most kKvMaxKeyBytes: the longest key of U+10FFFF only is a proper
  // prefix of this one.
  std::string above;
  for (std::size_t i = 0; i <= kKvMaxKeyBytes / 4; ++i) above += kMaxCodePoint;
  return above;
}

Status validateKvKey(std::string_view ns, std::string_view key) {
  if (Status s = checkName("kv namespace", ns); !s) return s;
  return checkName("kv key", key);
}

Status validateKvWrite(std::string_view ns, const KvWrite& write) {
  if (Status s = validateKvKey(ns, write.key); !s) return s;
  if (write.op == KvWrite::Op::kPut) {
    if (write.value.size() > kKvMaxValueBytes) {
      return Status::invalid("kv value for '" + write.key + "' is " +
                             std::to_string(write.value.size()) + " bytes; the limit is " +
                             std::to_string(kKvMaxValueBytes));
    }
    if (write.expires_at < 0) return Status::invalid("kv expires_at must be >= 0");
  }
  return Status::ok();
}

}  // namespace appliance
