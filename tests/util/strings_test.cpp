#include "util/strings.h"

#include <gtest/gtest.h>

namespace berth {
namespace {

TEST(Strings, SplitKeepsEmptyParts) {
  EXPECT_EQ(split("a::b", ':'), (std::vector<std::string_view>{"a", "", "b"}));
  EXPECT_EQ(split("", ':'), (std::vector<std::string_view>{""}));
  EXPECT_EQ(split("a:", ':'), (std::vector<std::string_view>{"a", ""}));
}

TEST(Strings, LowerIsAsciiOnly) { EXPECT_EQ(lower("TcP-\xC3\x89"), "tcp-\xC3\x89"); }

}  // namespace
}  // namespace berth
