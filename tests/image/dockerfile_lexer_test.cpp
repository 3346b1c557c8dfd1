#include "image/dockerfile/lexer.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "util/error.h"

namespace berth::image::dockerfile {
namespace {

/// The variables every case sees; "unset" is not among them.
Lookup test_lookup() {
  static const std::map<std::string, std::string, std::less<>> variables = {
      {"v", "val"},
      {"empty", ""},
      {"sp", "a b"},
      {"path", "/usr/local/bin"},
      {"file", "archive.tar.gz"},
  };
  return [](std::string_view name) -> std::optional<std::string> {
    const auto found = variables.find(name);
    if (found == variables.end()) {
      return std::nullopt;
    }
    return found->second;
  };
}

struct WordCase {
  std::string word;
  std::string expected;
  char escape = '\\';
};

TEST(DockerfileLexer, ExpandsWords) {
  const std::vector<WordCase> cases = {
      {"plain", "plain"},
      {"$v", "val"},
      {"${v}", "val"},
      {"x${v}y", "xvaly"},
      {"$v-x", "val-x"},
      {"$v.$v", "val.val"},
      {"$unset", ""},
      {"a${unset}b", "ab"},
      {"${unset:-def}", "def"},
      {"${empty:-def}", "def"},
      {"${empty-def}", ""},
      {"${unset-def}", "def"},
      {"${v:-def}", "val"},
      {"${v-def}", "val"},
      {"${v:+alt}", "alt"},
      {"${v+alt}", "alt"},
      {"${empty:+alt}", ""},
      {"${empty+alt}", "alt"},
      {"${unset+alt}", ""},
      {"${unset:-a b}", "a b"},
      {"${unset:-${v}}", "val"},
      {"${unset:-$v/x}", "val/x"},
      {"${unset:-${also_unset:-deep}}", "deep"},
      {"${unset:-'a}b'}", "a}b"},
      {"${unset:-\"$v}\"}", "val}"},
      {"${v:?must be set}", "val"},
      {"${empty?x}", ""},
      // Quotes: single literal, double expanding, both removed.
      {"'$v'", "$v"},
      {"\"$v\"", "val"},
      {"'a'\"b\"c", "abc"},
      {"\"it's\"", "it's"},
      {"'a \"b\" c'", "a \"b\" c"},
      {"\"a 'b' c\"", "a 'b' c"},
      // The escape character: outside quotes it escapes anything, inside double quotes only
      // `"`, `$` and itself.
      {"\\$v", "$v"},
      {"\\${v}", "${v}"},
      {"\"\\$v\"", "$v"},
      {"\"a\\b\"", "a\\b"},
      {"\"a\\\"b\"", "a\"b"},
      {"\"a\\\\b\"", "a\\b"},
      {"a\\ b", "a b"},
      {"\\\\", "\\"},
      {"\\'", "'"},
      {"'\\'", "\\"},
      {"trailing\\", "trailing"},
      {"`$v", "$v", '`'},
      {"a\\b", "a\\b", '`'},
      {"\"a`\"b\"", "a\"b", '`'},
      {"C:\\dir\\", "C:\\dir\\", '`'},
      // A `$` before something that is not a name stays.
      {"$", "$"},
      {"a$", "a$"},
      {"$/", "$/"},
      {"${v}$", "val$"},
      {"\"$\"", "$"},
      {"$1", ""},
      {"$$", ""},
      {"$12x", "x"},
      // BuildKit's pattern operators.
      {"${file%.gz}", "archive.tar"},
      {"${file%.*}", "archive.tar"},
      {"${file%%.*}", "archive"},
      {"${file#*.}", "tar.gz"},
      {"${file##*.}", "gz"},
      {"${file#nomatch}", "archive.tar.gz"},
      {"${file%a??????.tar.gz}", ""},
      {"${file%a?????.tar.gz}", "archive.tar.gz"},
      {"${path/local/opt}", "/usr/opt/bin"},
      {"${path//\\//:}", ":usr:local:bin"},
      {"${path/\\//}", "usr/local/bin"},
      {"${file//a/A}", "Archive.tAr.gz"},
      {"${file/*./x}", "xgz"},
      {"${unset%x}", ""},
      {"${unset/x/y}", ""},
  };
  const Lookup lookup = test_lookup();
  for (const WordCase& c : cases) {
    EXPECT_EQ(expand_word(c.word, lookup, c.escape), c.expected) << c.word;
  }
}

struct ErrorCase {
  std::string word;
  std::string error;
};

TEST(DockerfileLexer, RefusesBadWords) {
  const std::vector<ErrorCase> cases = {
      {"${unset:?must be set}", "unset: must be set"},
      {"${unset?must be set}", "unset: must be set"},
      {"${unset?}", "unset: is not allowed to be unset"},
      {"${unset:?}", "unset: is not allowed to be unset"},
      {"${empty:?}", "empty: is not allowed to be empty"},
      {"${empty:?no $v}", "empty: no val"},
      {"${unset:-${other:?inner}}", "other: inner"},
      {"${", "bad substitution"},
      {"${v", "bad substitution"},
      {"${1v}", "bad substitution"},
      {"${}", "bad substitution"},
      {"${{v}}", "bad substitution"},
      {"${:-x}", "bad substitution"},
      {"${v:x}", "bad substitution"},
      {"${v:}", "bad substitution"},
      {"${v!}", "bad substitution"},
      {"${v:-x", "bad substitution"},
      {"${v:-\"x}", "bad substitution"},
      {"${v/x", "bad substitution"},
      {"${v/x/y", "bad substitution"},
      {"'abc", "unexpected end of statement while looking for matching single-quote"},
      {"a'b", "unexpected end of statement while looking for matching single-quote"},
      {"\"abc", "unexpected end of statement while looking for matching double-quote"},
      {"\"abc\\", "unexpected end of statement while looking for matching double-quote"},
      {"\"$v", "unexpected end of statement while looking for matching double-quote"},
  };
  const Lookup lookup = test_lookup();
  for (const ErrorCase& c : cases) {
    try {
      const std::string result = expand_word(c.word, lookup);
      ADD_FAILURE() << c.word << " expanded to " << result;
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()), c.error) << c.word;
    }
  }
}

struct WordsCase {
  std::string text;
  std::vector<std::string> expected;
};

TEST(DockerfileLexer, ExpandsAndSplitsWords) {
  const std::vector<WordsCase> cases = {
      {"", {}},
      {"  \t ", {}},
      {"a b  c", {"a", "b", "c"}},
      {" a\tb ", {"a", "b"}},
      {"\"a b\" c /dst/", {"a b", "c", "/dst/"}},
      {"'a b' c", {"a b", "c"}},
      {"a\\ b c", {"a b", "c"}},
      {"$sp x", {"a", "b", "x"}},
      {"\"$sp\" x", {"a b", "x"}},
      {"x$sp", {"xa", "b"}},
      {"$empty x", {"x"}},
      {"$unset", {}},
      {"x\"$empty\"", {"x"}},
      {"\"\" x", {"", "x"}},
      {"'' x", {"", "x"}},
      {"\"$empty\"", {""}},
      {"${unset:-a b}", {"a", "b"}},
      {"${unset:-\"a b\"}", {"a", "b"}},
      {"80/tcp 443 ${v}", {"80/tcp", "443", "val"}},
      {"a\"b c\"d e", {"ab cd", "e"}},
  };
  const Lookup lookup = test_lookup();
  for (const WordsCase& c : cases) {
    EXPECT_EQ(expand_words(c.text, lookup), c.expected) << c.text;
  }
  EXPECT_EQ(expand_words("a` b c", lookup, '`'), (std::vector<std::string>{"a b", "c"}));
}

TEST(DockerfileLexer, SplitsRawWords) {
  const std::vector<WordsCase> cases = {
      {"", {}},
      {"   ", {}},
      {"a=1 b=\"x y\"", {"a=1", "b=\"x y\""}},
      {"a='x y' c", {"a='x y'", "c"}},
      {"a\\ b c", {"a\\ b", "c"}},
      {"\"a\\\"b\" c", {"\"a\\\"b\"", "c"}},
      {"'a\\' b", {"'a\\'", "b"}},
      {"a=$v  b", {"a=$v", "b"}},
      {"x\\", {"x"}},
      {"\"\"", {"\"\""}},
  };
  for (const WordsCase& c : cases) {
    EXPECT_EQ(split_words_raw(c.text), c.expected) << c.text;
  }
  EXPECT_EQ(split_words_raw("a` b \\ c", '`'), (std::vector<std::string>{"a` b", "\\", "c"}));
}

using Pairs = std::vector<std::pair<std::string, std::optional<std::string>>>;

struct PairsCase {
  std::string keyword;
  std::string text;
  Pairs expected;
};

TEST(DockerfileLexer, ParsesKeyValues) {
  const std::vector<PairsCase> cases = {
      {"ENV", "a=1", {{"a", "1"}}},
      {"ENV", "a=1 b=\"x y\"", {{"a", "1"}, {"b", "x y"}}},
      {"ENV", "a=x\\ y", {{"a", "x y"}}},
      {"ENV", "a= b=''", {{"a", ""}, {"b", ""}}},
      {"ENV", "a=$v b=${unset:-d}", {{"a", "val"}, {"b", "d"}}},
      {"ENV", "a='$v'", {{"a", "$v"}}},
      {"ENV", "a=1=2", {{"a", "1=2"}}},
      {"ENV", "${v}_name=1", {{"val_name", "1"}}},
      // The legacy single pair: everything after the first blanks is the value.
      {"ENV", "k v", {{"k", "v"}}},
      {"ENV", "k v w", {{"k", "v w"}}},
      {"ENV", "k   v  w ", {{"k", "v  w"}}},
      {"ENV", "k \"v  w\" x", {{"k", "v  w x"}}},
      {"ENV", "k $v", {{"k", "val"}}},
      {"ENV", "k a=b", {{"k", "a=b"}}},
      {"LABEL", "\"com.example.a b\"=\"c d\" x=y", {{"com.example.a b", "c d"}, {"x", "y"}}},
      {"LABEL", "version 1.0", {{"version", "1.0"}}},
      {"ARG", "name", {{"name", std::nullopt}}},
      {"ARG", "name=default", {{"name", "default"}}},
      {"ARG", "name=", {{"name", ""}}},
      {"ARG", "a=1 b", {{"a", "1"}, {"b", std::nullopt}}},
      {"ARG", "a=$v", {{"a", "val"}}},
      {"ARG", "a b c", {{"a", std::nullopt}, {"b", std::nullopt}, {"c", std::nullopt}}},
  };
  const Lookup lookup = test_lookup();
  for (const PairsCase& c : cases) {
    EXPECT_EQ(parse_key_values(c.keyword, c.text, lookup), c.expected)
        << c.keyword << " " << c.text;
  }
}

struct PairsErrorCase {
  std::string keyword;
  std::string text;
  std::string error;
};

TEST(DockerfileLexer, RefusesBadKeyValues) {
  const std::vector<PairsErrorCase> cases = {
      {"ENV", "", "ENV requires at least one argument"},
      {"LABEL", "  ", "LABEL requires at least one argument"},
      {"ARG", "", "ARG requires at least one argument"},
      {"ENV", "k", "ENV must have two arguments"},
      {"LABEL", "k", "LABEL must have two arguments"},
      {"ENV", "=v", "ENV names can not be blank"},
      {"LABEL", "a=1 =2", "LABEL names can not be blank"},
      {"ARG", "=v", "ARG names can not be blank"},
      {"ENV", "$unset=v", "ENV names can not be blank"},
      {"ENV", "a=1 b", "Syntax error - can't find = in \"b\". Must be of the form: name=value"},
      {"ENV", "a=\"x", "unexpected end of statement while looking for matching double-quote"},
      {"ENV", "a=${v", "bad substitution"},
  };
  const Lookup lookup = test_lookup();
  for (const PairsErrorCase& c : cases) {
    try {
      parse_key_values(c.keyword, c.text, lookup);
      ADD_FAILURE() << c.keyword << " " << c.text << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()), c.error) << c.keyword << " " << c.text;
    }
  }
}

}  // namespace
}  // namespace berth::image::dockerfile
