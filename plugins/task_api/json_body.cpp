#include "json_body.h"

#include <bitset>
#include <cstring>

namespace appliance::plugins::task_api {
namespace {

// Python's json module raises RecursionError far deeper; a flat request body never nests.
constexpr std::size_t kMaxDepth = 512;

constexpr std::string_view kExpectingValue = "Expecting value";
constexpr std::string_view kExpectingName = "Expecting property name enclosed in double quotes";
constexpr std::string_view kExpectingColon = "Expecting ':' delimiter";
constexpr std::string_view kExpectingComma = "Expecting ',' delimiter";
constexpr std::string_view kExtraData = "Extra data";
constexpr std::string_view kUnterminated = "Unterminated string starting at";
constexpr std::string_view kControlChar = "Invalid control character at";
constexpr std::string_view kBadEscape = "Invalid \\escape";
constexpr std::string_view kBadUnicodeEscape = "Invalid \\uXXXX escape";
constexpr std::string_view kLoneSurrogate = "Unpaired surrogate in \\uXXXX escape";
constexpr std::string_view kBadUtf8 = "Invalid UTF-8 byte sequence";
constexpr std::string_view kTooDeep = "Maximum nesting depth exceeded";

int hexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void appendUtf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Length of the valid UTF-8 sequence starting with lead byte `s[i]` (>= 0x80), or 0.
// Rejects overlong forms, UTF-16 surrogates and code points above U+10FFFF.
std::size_t utf8SequenceLength(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const auto cont = [&](std::size_t k) { return i + k < s.size() && (b(k) & 0xC0) == 0x80; };
  const unsigned char c = b(0);
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(1) >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;   // overlong
    if (c == 0xF4 && b(1) >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

class Parser {
 public:
  explicit Parser(std::string_view doc) : doc_(doc) {}

  JsonParseResult run(std::span<const std::string_view> keys, std::span<JsonValue> values) {
    for (auto& v : values) v.reset();
    if (doc_.size() >= 3 && std::memcmp(doc_.data(), "\xEF\xBB\xBF", 3) == 0) pos_ = 3;
    skipWs();
    JsonParseResult result;
    if (pos_ < doc_.size() && doc_[pos_] == '{') {
      result.top = JsonType::kObject;
      if (!parseObject(keys, values)) return error();
    } else {
      JsonValue top;
      if (!parseValue(&top)) return error();
      result.top = top.type;
    }
    skipWs();
    if (pos_ != doc_.size()) {
      fail(kExtraData);
      return error();
    }
    return result;
  }

 private:
  bool fail(std::string_view message) {
    message_ = message;
    error_pos_ = pos_;
    return false;
  }
  bool failAt(std::size_t pos, std::string_view message) {
    pos_ = pos;
    return fail(message);
  }

  JsonParseResult error() const {
    JsonParseResult r;
    r.ok = false;
    r.message = message_;
    r.position = countCodePoints(doc_.substr(0, error_pos_));
    return r;
  }

  void skipWs() {
    while (pos_ < doc_.size()) {
      const char c = doc_[pos_];
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return;
      ++pos_;
    }
  }

  bool peekIs(char c) const { return pos_ < doc_.size() && doc_[pos_] == c; }

  // The top-level object: members with a wanted key are stored, the rest skipped.
  bool parseObject(std::span<const std::string_view> keys, std::span<JsonValue> values) {
    ++pos_;  // '{'
    skipWs();
    if (peekIs('}')) {
      ++pos_;
      return true;
    }
    for (;;) {
      std::string_view key;
      if (!readKey(key)) return false;
      JsonValue* target = nullptr;
      for (std::size_t i = 0; i < keys.size(); ++i) {
        if (keys[i] == key) target = &values[i];
      }
      if (target) target->reset();
      if (!parseValue(target)) return false;
      skipWs();
      if (peekIs(',')) {
        ++pos_;
        skipWs();
        continue;
      }
      if (peekIs('}')) {
        ++pos_;
        return true;
      }
      return fail(kExpectingComma);
    }
  }

  // Reads `"key"` and the following ':'; `key` views the document or key_buffer_.
  bool readKey(std::string_view& key) {
    if (!peekIs('"')) return fail(kExpectingName);
    const std::size_t start = pos_ + 1;
    bool escaped = false;
    key_buffer_.clear();
    if (!readString(&key_buffer_, escaped)) return false;
    key = escaped ? std::string_view(key_buffer_) : doc_.substr(start, pos_ - 1 - start);
    skipWs();
    if (!peekIs(':')) return fail(kExpectingColon);
    ++pos_;
    skipWs();
    return true;
  }

  // Parses one value at pos_ (whitespace already skipped). With `out`, scalars and strings
  // are stored; containers are always validated and skipped.
  bool parseValue(JsonValue* out) {
    if (pos_ >= doc_.size()) return fail(kExpectingValue);
    const char c = doc_[pos_];
    const std::size_t start = pos_;
    JsonType type;
    bool integral = false;
    if (c == '"') {
      bool escaped = false;
      std::string* dest = out ? &out->decoded : nullptr;
      if (!readString(dest, escaped)) return false;
      if (out) {
        out->str =
            escaped ? std::string_view(out->decoded) : doc_.substr(start + 1, pos_ - start - 2);
      }
      type = JsonType::kString;
    } else if (c == '{' || c == '[') {
      if (!skipContainer()) return false;
      type = c == '{' ? JsonType::kObject : JsonType::kArray;
    } else if (c == 't' || c == 'f' || c == 'n') {
      if (!readLiteral()) return false;
      type = c == 'n' ? JsonType::kNull : JsonType::kBool;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      if (!readNumber(integral)) return false;
      type = JsonType::kNumber;
    } else {
      return fail(kExpectingValue);
    }
    if (out) {
      out->type = type;
      out->raw = doc_.substr(start, pos_ - start);
      out->boolean = type == JsonType::kBool && c == 't';
      out->integral = integral;
    }
    return true;
  }

  bool readLiteral() {
    const std::string_view rest = doc_.substr(pos_);
    for (std::string_view word : {"true", "false", "null"}) {
      if (rest.substr(0, word.size()) == word) {
        pos_ += word.size();
        return true;
      }
    }
    return fail(kExpectingValue);
  }

  // JSON number grammar; like Python, stops at the longest valid prefix and lets the caller
  // report what follows.
  bool readNumber(bool& integral) {
    const std::size_t start = pos_;
    if (peekIs('-')) ++pos_;
    const auto isDigit = [&](std::size_t p) {
      return p < doc_.size() && doc_[p] >= '0' && doc_[p] <= '9';
    };
    if (!isDigit(pos_)) return failAt(start, kExpectingValue);
    if (doc_[pos_] == '0') {
      ++pos_;
    } else {
      while (isDigit(pos_)) ++pos_;
    }
    integral = true;
    if (peekIs('.') && isDigit(pos_ + 1)) {
      integral = false;
      pos_ += 1;
      while (isDigit(pos_)) ++pos_;
    }
    if (peekIs('e') || peekIs('E')) {
      std::size_t p = pos_ + 1;
      if (p < doc_.size() && (doc_[p] == '+' || doc_[p] == '-')) ++p;
      if (isDigit(p)) {
        integral = false;
        pos_ = p;
        while (isDigit(pos_)) ++pos_;
      }
    }
    return true;
  }

  // Reads a string at pos_ (on its opening quote) up to and past the closing quote. Decodes
  // into `dest` when given; `escaped` tells whether the text differs from the raw bytes.
  bool readString(std::string* dest, bool& escaped) {
    const std::size_t quote = pos_;
    std::size_t run = ++pos_;  // start of bytes not yet copied to dest
    while (pos_ < doc_.size()) {
      const auto c = static_cast<unsigned char>(doc_[pos_]);
      if (c == '"') {
        if (dest && escaped) dest->append(doc_.data() + run, pos_ - run);
        ++pos_;
        return true;
      }
      if (c < 0x20) return fail(kControlChar);
      if (c >= 0x80) {
        const std::size_t n = utf8SequenceLength(doc_, pos_);
        if (n == 0) return fail(kBadUtf8);
        pos_ += n;
        continue;
      }
      if (c != '\\') {
        ++pos_;
        continue;
      }
      if (pos_ + 1 >= doc_.size()) break;
      if (dest) dest->append(doc_.data() + run, pos_ - run);
      escaped = true;
      if (!readEscape(dest)) return false;
      run = pos_;
    }
    return failAt(quote, kUnterminated);
  }

  bool readEscape(std::string* dest) {
    const std::size_t backslash = pos_;
    const char e = doc_[pos_ + 1];
    char decoded = 0;
    switch (e) {
      case '"':
        decoded = '"';
        break;
      case '\\':
        decoded = '\\';
        break;
      case '/':
        decoded = '/';
        break;
      case 'b':
        decoded = '\b';
        break;
      case 'f':
        decoded = '\f';
        break;
      case 'n':
        decoded = '\n';
        break;
      case 'r':
        decoded = '\r';
        break;
      case 't':
        decoded = '\t';
        break;
      case 'u':
        return readUnicodeEscape(dest);
      default:
        return failAt(backslash, kBadEscape);
    }
    if (dest) dest->push_back(decoded);
    pos_ += 2;
    return true;
  }

  // \uXXXX at pos_, with a following \uXXXX low surrogate when the first is a high one.
  bool readUnicodeEscape(std::string* dest) {
    const std::size_t backslash = pos_;
    std::uint32_t cp = 0;
    if (!readHex4(pos_ + 2, cp)) return failAt(backslash, kBadUnicodeEscape);
    pos_ += 6;
    if (cp >= 0xDC00 && cp <= 0xDFFF) return failAt(backslash, kLoneSurrogate);
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      std::uint32_t low = 0;
      if (pos_ + 1 >= doc_.size() || doc_[pos_] != '\\' || doc_[pos_ + 1] != 'u') {
        return failAt(backslash, kLoneSurrogate);
      }
      if (!readHex4(pos_ + 2, low)) return failAt(pos_, kBadUnicodeEscape);
      if (low < 0xDC00 || low > 0xDFFF) return failAt(backslash, kLoneSurrogate);
      pos_ += 6;
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    }
    if (dest) appendUtf8(*dest, cp);
    return true;
  }

  bool readHex4(std::size_t at, std::uint32_t& out) const {
    if (at + 4 > doc_.size()) return false;
    out = 0;
    for (std::size_t i = at; i < at + 4; ++i) {
      const int h = hexDigit(doc_[i]);
      if (h < 0) return false;
      out = out * 16 + static_cast<std::uint32_t>(h);
    }
    return true;
  }

  // Validates and skips an array or object of any depth, iteratively.
  bool skipContainer() {
    std::bitset<kMaxDepth> is_array;
    std::size_t depth = 0;
    bool expect_value = true;  // false: a value just ended
    for (;;) {
      if (expect_value) {
        skipWs();
        const char c = pos_ < doc_.size() ? doc_[pos_] : '\0';
        if (c == '{' || c == '[') {
          if (depth == kMaxDepth) return fail(kTooDeep);
          is_array[depth++] = c == '[';
          ++pos_;
          skipWs();
          if (peekIs(c == '{' ? '}' : ']')) {
            ++pos_;
            --depth;
            expect_value = false;
          } else if (c == '{') {
            std::string_view ignored;
            if (!readKey(ignored)) return false;
          }
          continue;
        }
        if (!parseValue(nullptr)) return false;
        expect_value = false;
        continue;
      }
      if (depth == 0) return true;
      skipWs();
      const bool array = is_array[depth - 1];
      if (peekIs(',')) {
        ++pos_;
        skipWs();
        if (!array) {
          std::string_view ignored;
          if (!readKey(ignored)) return false;
        }
        expect_value = true;
      } else if (peekIs(array ? ']' : '}')) {
        ++pos_;
        --depth;
      } else {
        return fail(kExpectingComma);
      }
    }
  }

  std::string_view doc_;
  std::size_t pos_ = 0;
  std::size_t error_pos_ = 0;
  std::string_view message_;
  std::string key_buffer_;
};

}  // namespace

JsonParseResult parseJsonObject(std::string_view document, std::span<const std::string_view> keys,
                                std::span<JsonValue> values) {
  return Parser(document).run(keys, values);
}

std::size_t countCodePoints(std::string_view utf8) {
  std::size_t n = 0;
  for (const char c : utf8) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

}  // namespace appliance::plugins::task_api
