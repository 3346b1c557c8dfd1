#include "util/shell_words.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "util/error.h"

namespace berth {
namespace {

using Words = std::vector<std::string>;

std::string error_of(std::string_view text) {
  try {
    split_shell_words(text);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(SplitShellWords, Blanks) {
  EXPECT_EQ(split_shell_words(""), Words{});
  EXPECT_EQ(split_shell_words("   \t\n"), Words{});
  EXPECT_EQ(split_shell_words("echo"), Words{"echo"});
  EXPECT_EQ(split_shell_words("a b  c"), (Words{"a", "b", "c"}));
  EXPECT_EQ(split_shell_words("  lead trail  "), (Words{"lead", "trail"}));
  EXPECT_EQ(split_shell_words("\techo\nhi"), (Words{"echo", "hi"}));
}

TEST(SplitShellWords, SingleQuotesAreLiteral) {
  EXPECT_EQ(split_shell_words("'a b'"), Words{"a b"});
  EXPECT_EQ(split_shell_words("a'b c'd"), Words{"ab cd"});
  EXPECT_EQ(split_shell_words("'a\\b'"), Words{"a\\b"});
  EXPECT_EQ(split_shell_words("'say \"hi\"'"), Words{"say \"hi\""});
  EXPECT_EQ(split_shell_words("'$HOME'"), Words{"$HOME"});
}

TEST(SplitShellWords, DoubleQuotes) {
  EXPECT_EQ(split_shell_words("\"a b\""), Words{"a b"});
  EXPECT_EQ(split_shell_words("\"it's\""), Words{"it's"});
  EXPECT_EQ(split_shell_words("\"a\\\"b\""), Words{"a\"b"});
  EXPECT_EQ(split_shell_words("\"a\\$b\""), Words{"a$b"});
  EXPECT_EQ(split_shell_words("\"a\\`b\""), Words{"a`b"});
  EXPECT_EQ(split_shell_words("\"\\\\\""), Words{"\\"});
  // Other backslashes stay inside double quotes.
  EXPECT_EQ(split_shell_words("\"a\\b\\n\""), Words{"a\\b\\n"});
  EXPECT_EQ(split_shell_words("\"a\\\nb\""), Words{"ab"});
}

TEST(SplitShellWords, EmptyQuotesMakeEmptyWords) {
  EXPECT_EQ(split_shell_words("''"), Words{""});
  EXPECT_EQ(split_shell_words("\"\""), Words{""});
  EXPECT_EQ(split_shell_words("a '' b"), (Words{"a", "", "b"}));
  EXPECT_EQ(split_shell_words("a\"\"b"), Words{"ab"});
}

TEST(SplitShellWords, BackslashOutsideQuotes) {
  EXPECT_EQ(split_shell_words("a\\ b"), Words{"a b"});
  EXPECT_EQ(split_shell_words("\\'"), Words{"'"});
  EXPECT_EQ(split_shell_words("\\\""), Words{"\""});
  EXPECT_EQ(split_shell_words("\\\\"), Words{"\\"});
  EXPECT_EQ(split_shell_words("\\n"), Words{"n"});
  EXPECT_EQ(split_shell_words("a\\\nb"), Words{"ab"});  // line continuation
  EXPECT_EQ(split_shell_words("a \\\n b"), (Words{"a", "b"}));
}

TEST(SplitShellWords, NoExpansionAndNoOperators) {
  EXPECT_EQ(split_shell_words("echo $HOME ${X:-y} `id` $(id) *"),
            (Words{"echo", "$HOME", "${X:-y}", "`id`", "$(id)", "*"}));
  EXPECT_EQ(split_shell_words("a;b && c | d > e"), (Words{"a;b", "&&", "c", "|", "d", ">", "e"}));
  EXPECT_EQ(split_shell_words("~/bin/x"), Words{"~/bin/x"});
}

TEST(SplitShellWords, Realistic) {
  EXPECT_EQ(split_shell_words("sh -c \"echo 'a b' && sleep 1\""),
            (Words{"sh", "-c", "echo 'a b' && sleep 1"}));
  EXPECT_EQ(split_shell_words("bundle exec thin -p 3000"),
            (Words{"bundle", "exec", "thin", "-p", "3000"}));
  EXPECT_EQ(split_shell_words("python -c 'print(\"hi\")'"),
            (Words{"python", "-c", "print(\"hi\")"}));
  EXPECT_EQ(split_shell_words("--opt=\"x y\""), Words{"--opt=x y"});
}

TEST(SplitShellWords, Errors) {
  EXPECT_EQ(error_of("'abc"), "unterminated single quote");
  EXPECT_EQ(error_of("echo \"abc"), "unterminated double quote");
  EXPECT_EQ(error_of("\"abc\\\""), "unterminated double quote");
  EXPECT_EQ(error_of("\"it's"), "unterminated double quote");
  EXPECT_EQ(error_of("abc\\"), "trailing backslash");
}

}  // namespace
}  // namespace berth
