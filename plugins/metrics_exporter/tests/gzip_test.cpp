#include "gzip.h"
#include "gunzip.h"

#include <zlib.h>

#include <gtest/gtest.h>

#include <string>

namespace appliance::plugins::metrics_exporter {
namespace {

TEST(AcceptsGzip, HonoursCodingsAndQValues) {
  EXPECT_TRUE(acceptsGzip("gzip"));
  EXPECT_TRUE(acceptsGzip("GZip"));
  EXPECT_TRUE(acceptsGzip("x-gzip"));
  EXPECT_TRUE(acceptsGzip("deflate, gzip;q=0.5"));
  EXPECT_TRUE(acceptsGzip("br , gzip ; q=1.0 "));
  EXPECT_TRUE(acceptsGzip("*"));
  EXPECT_TRUE(acceptsGzip("identity;q=1, *;q=0.1"));
  EXPECT_FALSE(acceptsGzip(""));
  EXPECT_FALSE(acceptsGzip("identity"));
  EXPECT_FALSE(acceptsGzip("deflate, br"));
  EXPECT_FALSE(acceptsGzip("gzipped"));
  EXPECT_FALSE(acceptsGzip("gzip;q=0"));
  EXPECT_FALSE(acceptsGzip("gzip;q=0.000"));
  EXPECT_FALSE(acceptsGzip("gzip;q=0, *"));  // an explicit refusal beats the wildcard
  EXPECT_FALSE(acceptsGzip("*;q=0"));
  EXPECT_FALSE(acceptsGzip("gzip;q=abc"));  // malformed q: treat as not acceptable
}

TEST(GzipCompress, RoundTripsAnExposition) {
  std::string text;
  for (int i = 0; i < 2000; ++i) {
    text += "http_requests_total{method=\"GET\",route=\"/tasks/{id}\",status=\"200\"} ";
    text += std::to_string(i * 7919);
    text += '\n';
  }
  const auto compressed = gzipCompress(text, 1);
  ASSERT_TRUE(compressed.isOk()) << compressed.status().message();
  ASSERT_GE(compressed->size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>((*compressed)[0]), 0x1f);  // gzip magic
  EXPECT_EQ(static_cast<unsigned char>((*compressed)[1]), 0x8b);
  EXPECT_LT(compressed->size(), text.size() / 4);
  EXPECT_EQ(gunzip(*compressed), text);
}

TEST(GzipCompress, RoundTripsEmptyAndIncompressibleInput) {
  const auto empty = gzipCompress("", 6);
  ASSERT_TRUE(empty.isOk());
  EXPECT_EQ(gunzip(*empty), "");

  std::string noise;
  std::uint32_t state = 12345;
  for (int i = 0; i < 100000; ++i) {
    state = state * 1103515245u + 12345u;
    noise += static_cast<char>(state >> 24);
  }
  const auto compressed = gzipCompress(noise, 9);
  ASSERT_TRUE(compressed.isOk());
  EXPECT_EQ(gunzip(*compressed), noise);
}

}  // namespace
}  // namespace appliance::plugins::metrics_exporter
