#include "gzip.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>

namespace appliance::plugins::metrics_exporter {
namespace {

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t");
  return text.substr(first, last - first + 1);
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// The q-value of one element's parameters ("q=0.5"); 1 when absent, 0 when malformed.
double qValue(std::string_view parameters) {
  while (!parameters.empty()) {
    const auto semicolon = parameters.find(';');
    const auto parameter = trim(parameters.substr(0, semicolon));
    parameters =
        semicolon == std::string_view::npos ? std::string_view{} : parameters.substr(semicolon + 1);
    if (parameter.size() < 2 || (parameter[0] != 'q' && parameter[0] != 'Q') ||
        parameter[1] != '=') {
      continue;
    }
    const auto number = trim(parameter.substr(2));
    double q = 0;
    const auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), q);
    if (error != std::errc() || end != number.data() + number.size()) return 0;
    return q;
  }
  return 1;
}

}  // namespace

bool acceptsGzip(std::string_view accept_encoding) {
  double gzip_q = -1;  // -1: not listed
  double any_q = -1;
  while (!accept_encoding.empty()) {
    const auto comma = accept_encoding.find(',');
    const auto element = accept_encoding.substr(0, comma);
    accept_encoding =
        comma == std::string_view::npos ? std::string_view{} : accept_encoding.substr(comma + 1);
    const auto semicolon = element.find(';');
    const auto coding = trim(element.substr(0, semicolon));
    const auto parameters =
        semicolon == std::string_view::npos ? std::string_view{} : element.substr(semicolon + 1);
    if (equalsIgnoreCase(coding, "gzip") || equalsIgnoreCase(coding, "x-gzip")) {
      gzip_q = std::max(gzip_q, qValue(parameters));
    } else if (coding == "*") {
      any_q = std::max(any_q, qValue(parameters));
    }
  }
  return gzip_q >= 0 ? gzip_q > 0 : any_q > 0;
}

Result<std::string> gzipCompress(std::string_view data, int level) {
  if (data.size() > std::numeric_limits<uInt>::max()) {
    return Status::internal("gzip: input larger than 4 GiB");
  }
  z_stream stream{};
  constexpr int kGzipWindowBits = 15 + 16;  // 32 KiB window, gzip header and trailer
  if (deflateInit2(&stream, level, Z_DEFLATED, kGzipWindowBits, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return Status::internal("gzip: deflateInit2 failed");
  }
  std::string out;
  // deflateBound accounts for the gzip wrapper, so one deflate(Z_FINISH) call always fits.
  out.resize(deflateBound(&stream, static_cast<uLong>(data.size())));
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  const int result = deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  if (result != Z_STREAM_END) return Status::internal("gzip: deflate did not finish");
  return out;
}

}  // namespace appliance::plugins::metrics_exporter
