#include "image/dockerfile/ignore.h"
#include "tests/support/error_of.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "image/dockerfile/glob.h"

namespace berth::image::dockerfile {
namespace {

using testing::error_of;

/// One row: the .dockerignore text, a context path, whether Docker excludes it.
struct Row {
  const char* patterns;
  const char* path;
  bool excluded;
};

// Each row was worked out from moby/patternmatcher's rules (MatchesOrParentMatches).
const std::vector<Row> k_rows = {
    // `*`, `?` and classes stay within one path element.
    {"*.go", "main.go", true},
    {"*.go", "cmd/main.go", false},
    {"?.txt", "a.txt", true},
    {"?.txt", "ab.txt", false},
    {"a?c", "a/c", false},
    {"[a-c].txt", "b.txt", true},
    {"[a-c].txt", "d.txt", false},
    {"[^a].txt", "a.txt", false},
    {"[^a].txt", "b.txt", true},
    {"\\*.txt", "*.txt", true},
    {"\\*.txt", "a.txt", false},
    {"\\[x\\]", "[x]", true},
    {"dir/*/conf", "dir/a/conf", true},
    {"dir/*/conf", "dir/a/b/conf", false},
    {"*", "a/b", true},
    // `**`: any number of elements, "**/" as "**", Docker's suffix test for `**text`.
    {"**/*.go", "main.go", true},
    {"**/*.go", "a/b/c.go", true},
    {"**/*.go", "a/b/c.txt", false},
    {"**", "anything/at/all", true},
    {"**.log", "a/b.log", true},
    {"**.log", "x.log", true},
    {"**/foo", "foo", true},
    {"**/foo", "a/b/foo", true},
    {"**/foo", "a/barfoo", false},
    {"a/**", "a/b/c", true},
    {"a/**", "a", false},
    {"a/**/b", "a/b", true},
    {"a/**/b", "a/x/y/b", true},
    {"a/**/b", "a/xb", false},
    // Cleaning: a leading `/` or `./`, doubled slashes, `.` elements, a trailing `/`.
    {"/build", "build", true},
    {"/build", "src/build", false},
    {"./tmp//x/./y/", "tmp/x/y", true},
    {"a/*/", "a/b", true},
    {"../x", "x", false},
    // A directory excludes everything below it.
    {"node_modules", "node_modules/a/b.js", true},
    {"/build", "build/out/x.o", true},
    // `!` re-includes, also below an excluded directory; the last match wins.
    {"docs\n!docs/README.md", "docs/guide.md", true},
    {"docs\n!docs/README.md", "docs/README.md", false},
    {"docs\n!docs/README.md", "docs", true},
    {"vendor\n!vendor/keep/**", "vendor/keep/x/y.go", false},
    {"vendor\n!vendor/keep/**", "vendor/other/y.go", true},
    {"*.md\n!README.md", "README.md", false},
    {"*.md\n!README.md", "CHANGES.md", true},
    {"*.md\n!README.md\nREADME.md", "README.md", true},
    {"!keep\n*", "keep", true},
    {"*\n! keep", "keep", false},
    {"*\n!*.go\nvendor", "vendor/x.go", true},
    // Comments (only with `#` first), blank lines, CRLF, a byte order mark.
    {"# *.go\n\n   \n*.tmp", "main.go", false},
    {"# *.go\n\n   \n*.tmp", "a.tmp", true},
    {" #x", "#x", true},
    {"foo\r\nbar\r\n", "bar", true},
    {"\xEF\xBB\xBF"
     "foo",
     "foo", true},
    // Nothing excludes the context root.
    {"*", ".", false},
    {"", "anything", false},
};

TEST(Dockerignore, PatternTable) {
  for (const Row& row : k_rows) {
    const IgnoreRules rules = IgnoreRules::parse(row.patterns);
    EXPECT_EQ(rules.excluded(row.path), row.excluded)
        << "patterns \"" << row.patterns << "\", path \"" << row.path << "\"";
  }
}

TEST(Dockerignore, MayIncludeBelowSkipsOnlyDirectoriesNothingCanComeBackFrom) {
  const IgnoreRules plain = IgnoreRules::parse("node_modules\n*.log");
  EXPECT_FALSE(plain.may_include_below("node_modules"));
  EXPECT_TRUE(plain.may_include_below("src"));  // not excluded at all

  const IgnoreRules docs = IgnoreRules::parse("docs\n!docs/README.md");
  EXPECT_TRUE(docs.may_include_below("docs"));
  EXPECT_FALSE(docs.may_include_below("docs/sub"));

  const IgnoreRules deep = IgnoreRules::parse("vendor\n!vendor/keep/**");
  EXPECT_TRUE(deep.may_include_below("vendor"));
  EXPECT_TRUE(deep.may_include_below("vendor/keep"));
  EXPECT_FALSE(deep.may_include_below("vendor/other"));

  // A top-level-only `!*.txt` cannot reach into a directory; `!**/keep` can.
  EXPECT_FALSE(IgnoreRules::parse("cache\n!*.txt").may_include_below("cache"));
  EXPECT_TRUE(IgnoreRules::parse("cache\n!**/keep").may_include_below("cache"));
  EXPECT_TRUE(IgnoreRules::parse("cache\n!ca*/*/x").may_include_below("cache"));
}

TEST(Dockerignore, EmptyRules) {
  EXPECT_TRUE(IgnoreRules().empty());
  EXPECT_TRUE(IgnoreRules::parse("# only a comment\n\n").empty());
  EXPECT_FALSE(IgnoreRules::parse("x").empty());
}

TEST(Dockerignore, BadPatternsNameTheirLine) {
  EXPECT_EQ(error_of([] { IgnoreRules::parse("ok\n# comment\n[a-\n"); }),
            ".dockerignore:3: bad pattern \"[a-\": unterminated character class");
  EXPECT_EQ(error_of([] { IgnoreRules::parse("foo\\", "app/.dockerignore"); }),
            "app/.dockerignore:1: bad pattern \"foo\\\": trailing backslash");
  EXPECT_EQ(error_of([] { IgnoreRules::parse("\n  !  \n"); }),
            ".dockerignore:2: bad pattern \"!\": illegal exclusion pattern");
  EXPECT_EQ(error_of([] { IgnoreRules::parse("x[]"); }),
            ".dockerignore:1: bad pattern \"x[]\": empty character class");
  EXPECT_EQ(error_of([] { IgnoreRules::parse("![-a]"); }),
            ".dockerignore:1: bad pattern \"![-a]\": bad range in character class");
  EXPECT_EQ(error_of([] { IgnoreRules::parse("[abc"); }),
            ".dockerignore:1: bad pattern \"[abc\": unterminated character class");
}

TEST(DockerignoreGlob, GoFilepathMatch) {
  EXPECT_TRUE(glob_match("*.py", ".hidden.py"));
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_FALSE(glob_match("*", "a/b"));
  EXPECT_TRUE(glob_match("a**b", "axyb"));  // without double_star, two stars are one
  EXPECT_TRUE(glob_match("[\\]]", "]"));
  EXPECT_TRUE(glob_match("[a-cx-z]", "y"));
  EXPECT_TRUE(glob_match("?", "é"));  // one character, two bytes
  EXPECT_TRUE(glob_match("[é]", "é"));
  EXPECT_FALSE(glob_match("[a-", "a"));  // malformed: matches nothing
  EXPECT_TRUE(glob_match("src/*/conf", "src/", {.prefix = true}));
  EXPECT_FALSE(glob_match("src/*/conf", "lib/", {.prefix = true}));
  EXPECT_TRUE(glob_has_wildcards("a*"));
  EXPECT_TRUE(glob_has_wildcards("[ab]"));
  EXPECT_FALSE(glob_has_wildcards("a\\*b"));
  EXPECT_FALSE(glob_has_wildcards("plain"));
}

}  // namespace
}  // namespace berth::image::dockerfile
