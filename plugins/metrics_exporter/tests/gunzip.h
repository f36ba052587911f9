#pragma once
// Test helper: inflates one gzip member, failing the test on any zlib error.

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>

namespace appliance::plugins::metrics_exporter {

inline std::string gunzip(const std::string& compressed) {
  z_stream stream{};
  EXPECT_EQ(inflateInit2(&stream, 15 + 16), Z_OK);
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  stream.avail_in = static_cast<uInt>(compressed.size());
  std::string out;
  char chunk[16384];
  int result = Z_OK;
  while (result == Z_OK) {
    stream.next_out = reinterpret_cast<Bytef*>(chunk);
    stream.avail_out = sizeof chunk;
    result = inflate(&stream, Z_NO_FLUSH);
    out.append(chunk, sizeof chunk - stream.avail_out);
  }
  EXPECT_EQ(result, Z_STREAM_END) << "input is not one complete gzip member";
  EXPECT_EQ(stream.avail_in, 0u) << "trailing bytes after the gzip member";
  inflateEnd(&stream);
  return out;
}

}  // namespace appliance::plugins::metrics_exporter
