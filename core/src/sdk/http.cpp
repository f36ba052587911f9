#include "appliance/http.h"

#include <strings.h>

namespace appliance {
namespace {
thread_local detail::ResponseDeferral* current_deferral = nullptr;
}  // namespace

void detail::setResponseDeferral(ResponseDeferral* deferral) { current_deferral = deferral; }

ResponseFinisher deferResponse() { return current_deferral ? current_deferral->defer() : nullptr; }

namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percentDecode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%' && i + 2 < in.size() && hexValue(in[i + 1]) >= 0 &&
               hexValue(in[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hexValue(in[i + 1]) * 16 + hexValue(in[i + 2])));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

template <class Fn>
void forEachQueryPair(std::string_view query, Fn&& fn) {
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    const std::size_t eq = pair.find('=');
    const std::string_view key = pair.substr(0, eq);
    const std::string_view value =
        eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    if (!fn(key, value)) return;
  }
}

}  // namespace

std::optional<std::string_view> HttpRequest::header(std::string_view name) const {
  for (const auto& h : headers) {
    if (h.name.size() == name.size() && strncasecmp(h.name.data(), name.data(), name.size()) == 0) {
      return std::string_view(h.value);
    }
  }
  return std::nullopt;
}

std::optional<std::string_view> HttpRequest::pathParam(std::string_view name) const {
  for (const auto& [key, value] : path_params) {
    if (key == name) return std::string_view(value);
  }
  return std::nullopt;
}

std::optional<std::string> HttpRequest::queryParam(std::string_view name) const {
  std::optional<std::string> found;
  forEachQueryPair(query, [&](std::string_view key, std::string_view value) {
    if (key == name || percentDecode(key) == name) {
      found = percentDecode(value);
      return false;
    }
    return true;
  });
  return found;
}

std::vector<std::pair<std::string, std::string>> HttpRequest::queryParams() const {
  std::vector<std::pair<std::string, std::string>> out;
  forEachQueryPair(query, [&](std::string_view key, std::string_view value) {
    out.emplace_back(percentDecode(key), percentDecode(value));
    return true;
  });
  return out;
}

void HttpResponse::setHeader(std::string name, std::string value) {
  for (auto& h : headers) {
    if (strcasecmp(h.name.c_str(), name.c_str()) == 0) {
      h.value = std::move(value);
      return;
    }
  }
  headers.push_back({std::move(name), std::move(value)});
}

void HttpResponse::error(int status_code, std::string_view message) {
  std::string out;
  out.reserve(message.size() + 16);
  out += "{\"detail\":\"";
  appendJsonEscaped(out, message);
  out += "\"}";
  json(status_code, std::move(out));
}

void appendJsonEscaped(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::size_t run = 0;  // start of the pending run of characters that need no escaping
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(text.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        out += "\\u00";
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 0xF]);
    }
  }
  out.append(text.data() + run, text.size() - run);
}

std::string jsonQuote(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out.push_back('"');
  appendJsonEscaped(out, text);
  out.push_back('"');
  return out;
}

std::string htmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace appliance
