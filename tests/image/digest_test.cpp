#include "image/digest.h"

#include <gtest/gtest.h>

#include "util/error.h"

namespace berth::image {
namespace {

TEST(Digest, OfDataIsSha256) {
  EXPECT_EQ(Digest::of("").str(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Digest, ParseRoundTrips) {
  auto text = Digest::of("abc").str();
  EXPECT_EQ(Digest::parse(text).str(), text);
  EXPECT_EQ(Digest::parse(text).short_hex(), text.substr(7, 12));
}

TEST(Digest, RejectsMalformed) {
  for (const char* bad : {"", "sha256:", "sha512:abc", "sha256:ABCDEF",
                          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}) {
    EXPECT_FALSE(is_digest(bad)) << bad;
    try {
      Digest::parse(bad);
      FAIL() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()), "invalid digest \"" + std::string(bad) + "\"");
    }
  }
}

}  // namespace
}  // namespace berth::image
