#include "util/strings.h"

#include <gtest/gtest.h>

namespace berth {
namespace {

TEST(Strings, SplitKeepsEmptyParts) {
  EXPECT_EQ(split("a::b", ':'), (std::vector<std::string_view>{"a", "", "b"}));
  EXPECT_EQ(split("", ':'), (std::vector<std::string_view>{""}));
  EXPECT_EQ(split("a:", ':'), (std::vector<std::string_view>{"a", ""}));
}

TEST(Strings, LowerIsAsciiOnly) {
  EXPECT_EQ(lower("TcP-\xC3\x89"), "tcp-\xC3\x89");
}

TEST(Strings, Utf8LengthCountsCharactersNotBytes) {
  EXPECT_EQ(utf8_length(""), 0u);
  EXPECT_EQ(utf8_length("sh -c"), 5u);
  EXPECT_EQ(utf8_length("\"sleep 1…\""), 10u);  // "…" is three bytes, one character
  EXPECT_EQ(utf8_length("caf\xC3\xA9 \xF0\x9F\x90\xB3"), 6u);  // é (2 bytes), whale (4 bytes)
}

}  // namespace
}  // namespace berth
