#include "orchestrator/compose/dotenv.h"
#include "tests/support/yaml_test_util.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <unistd.h>

#include "util/error.h"

namespace berth::compose {

// Lets EXPECT_EQ print entry lists readably.
inline void PrintTo(const EnvEntry& entry, std::ostream* os) {
  *os << "{\"" << entry.key << "\", \"" << entry.value << "\"}";
}

namespace {

using Entries = std::vector<EnvEntry>;
using berth::testing::lookup_in;
using berth::testing::Vars;

const Lookup& no_vars() {
  static const Lookup lookup = lookup_in({});
  return lookup;
}

Entries parse(std::string_view text, const Lookup& lookup = no_vars()) {
  return parse_dotenv(text, ".env", lookup);
}

// The single entry `text` parses to, as "KEY=value" for short assertions.
std::string one(std::string_view text) {
  const Entries entries = parse(text);
  if (entries.size() != 1) {
    return "expected one entry, got " + std::to_string(entries.size());
  }
  return entries[0].key + "=" + entries[0].value;
}

std::string error_of(std::string_view text, const Lookup& lookup = no_vars()) {
  try {
    const Entries entries = parse(text, lookup);
    return "no error, got " + std::to_string(entries.size()) + " entries";
  } catch (const Error& e) {
    return e.what();
  }
}

// ---- layout: blank lines, comments, separators, export ----

TEST(Dotenv, IgnoresBlankLinesAndComments) {
  for (const char* text : {"", "\n", "\r\n", "\t\t ", "# Comment", "\t # comment", "#a\n\n#b\n"}) {
    EXPECT_EQ(parse(text), Entries{}) << text;
  }
}

TEST(Dotenv, EntriesComeInFileOrder) {
  EXPECT_EQ(parse("ONE=1\nTWO='2'\nTHREE = \"3\"\n# x\nONE=again"),
            (Entries{{"ONE", "1"}, {"TWO", "2"}, {"THREE", "3"}, {"ONE", "again"}}));
}

TEST(Dotenv, PlainFixture) {
  EXPECT_EQ(parse("OPTION_A=1\nOPTION_B=2\nOPTION_C= 3\nOPTION_D =4\nOPTION_E = 5\n"
                  "OPTION_F = \nOPTION_G=\nOPTION_H = my string # Inline comment\n"),
            (Entries{{"OPTION_A", "1"},
                     {"OPTION_B", "2"},
                     {"OPTION_C", "3"},
                     {"OPTION_D", "4"},
                     {"OPTION_E", "5"},
                     {"OPTION_F", ""},
                     {"OPTION_G", ""},
                     {"OPTION_H", "my string"}}));
}

TEST(Dotenv, EmptyValue) {
  EXPECT_EQ(one("KEY="), "KEY=");
  EXPECT_EQ(one("KEY=\n"), "KEY=");
  EXPECT_EQ(one("KEY=''"), "KEY=");
  EXPECT_EQ(one("KEY=\"\""), "KEY=");
}

TEST(Dotenv, SpacesAroundTheSeparatorAndLeadingIndent) {
  EXPECT_EQ(one("FOO =bar"), "FOO=bar");
  EXPECT_EQ(one("FOO= bar"), "FOO=bar");
  EXPECT_EQ(one(" KEY =value"), "KEY=value");
  EXPECT_EQ(one("   KEY=value"), "KEY=value");
  EXPECT_EQ(one("\tKEY=value"), "KEY=value");
  EXPECT_EQ(one("FOO=bar "), "FOO=bar");
}

TEST(Dotenv, YamlStyleColonSeparator) {
  EXPECT_EQ(one("OPTION_A: 1"), "OPTION_A=1");
  EXPECT_EQ(one("OPTION_A: Foo=bar"), "OPTION_A=Foo=bar");
  EXPECT_EQ(one("OPTION_A=1:B"), "OPTION_A=1:B");
  EXPECT_EQ(one("OPTION_A=postgres://localhost:5432/database?sslmode=disable"),
            "OPTION_A=postgres://localhost:5432/database?sslmode=disable");
  EXPECT_EQ(one("FOO=foobar="), "FOO=foobar=");
}

TEST(Dotenv, ExportPrefix) {
  EXPECT_EQ(one("export OPTION_A=2"), "OPTION_A=2");
  EXPECT_EQ(one("export OPTION_B='\\n'"), "OPTION_B=\\n");
  EXPECT_EQ(one("export exportFoo=2"), "exportFoo=2");
  EXPECT_EQ(one("exportFOO=2"), "exportFOO=2");
  EXPECT_EQ(one("export_FOO =2"), "export_FOO=2");
  EXPECT_EQ(one("export.FOO= 2"), "export.FOO=2");
  EXPECT_EQ(one("export\tOPTION_A=2"), "OPTION_A=2");
  EXPECT_EQ(one("  export OPTION_A=2"), "OPTION_A=2");
  EXPECT_EQ(one("\texport OPTION_A=2"), "OPTION_A=2");
  EXPECT_EQ(one("export OPTION_A=\"export A\""), "OPTION_A=export A");
  EXPECT_EQ(one("export=1"), "export=1");
  EXPECT_EQ(parse("export FROM_ENV\n", lookup_in({{"FROM_ENV", "x"}})),
            (Entries{{"FROM_ENV", "x"}}));
}

TEST(Dotenv, KeyCharacters) {
  EXPECT_EQ(parse("a=b\na[1]=c\na.propertyKey=d\n"
                  "árvíztűrő-TÜKÖRFÚRÓGÉP=ÁRVÍZTŰRŐ-tükörfúrógép\n"
                  "VAR-WITH-DASHES=dashes\nVAR.WITH.DOTS=dots\nVAR_WITH_UNDERSCORES=underscores\n"
                  "1LEADING_DIGIT=ok\n"),
            (Entries{{"a", "b"},
                     {"a[1]", "c"},
                     {"a.propertyKey", "d"},
                     {"árvíztűrő-TÜKÖRFÚRÓGÉP", "ÁRVÍZTŰRŐ-tükörfúrógép"},
                     {"VAR-WITH-DASHES", "dashes"},
                     {"VAR.WITH.DOTS", "dots"},
                     {"VAR_WITH_UNDERSCORES", "underscores"},
                     {"1LEADING_DIGIT", "ok"}}));
}

TEST(Dotenv, WindowsLineEndings) {
  EXPECT_EQ(
      parse("A=1\r\nB='2'\r\nC=\"3\" \r\n# c\r\n\r\nD\r\nE = x # y\r\n", lookup_in({{"D", "4"}})),
      (Entries{{"A", "1"}, {"B", "2"}, {"C", "3"}, {"D", "4"}, {"E", "x"}}));
}

TEST(Dotenv, Utf8ByteOrderMarkIsSkipped) {
  EXPECT_EQ(parse("\xEF\xBB\xBFOPTION_A=1\nOPTION_B=2"),
            (Entries{{"OPTION_A", "1"}, {"OPTION_B", "2"}}));
}

// ---- `KEY` alone ----

TEST(Dotenv, KeyAloneTakesItsValueFromTheLookup) {
  const Lookup env = lookup_in({{"VAR_TO_BE_LOADED_FROM_OS_ENV", "SOME_RANDOM_VALUE"}});
  EXPECT_EQ(
      parse("VAR_TO_BE_LOADED_FROM_OS_ENV\nfoo=bar\nbar=baz\n", env),
      (Entries{
          {"VAR_TO_BE_LOADED_FROM_OS_ENV", "SOME_RANDOM_VALUE"}, {"foo", "bar"}, {"bar", "baz"}}));
  EXPECT_EQ(parse("VAR_TO_BE_LOADED_FROM_OS_ENV", env),
            (Entries{{"VAR_TO_BE_LOADED_FROM_OS_ENV", "SOME_RANDOM_VALUE"}}));
  EXPECT_EQ(parse("  VAR_TO_BE_LOADED_FROM_OS_ENV  \n", env),
            (Entries{{"VAR_TO_BE_LOADED_FROM_OS_ENV", "SOME_RANDOM_VALUE"}}));
}

TEST(Dotenv, KeyAloneThatIsUnsetIsLeftOut) {
  std::vector<std::string> asked;
  const Lookup recording = [&](std::string_view name) -> std::optional<std::string> {
    asked.emplace_back(name);
    return std::nullopt;
  };
  EXPECT_EQ(parse("FOO=bar\nVARIABLE_NOT_FOUND\nBAR=baz\n", recording),
            (Entries{{"FOO", "bar"}, {"BAR", "baz"}}));
  EXPECT_EQ(asked, std::vector<std::string>{"VARIABLE_NOT_FOUND"});
}

TEST(Dotenv, KeyAloneDoesNotReadEarlierEntries) {
  EXPECT_EQ(parse("A=1\nA\n"), (Entries{{"A", "1"}}));
}

// ---- unquoted values ----

TEST(Dotenv, UnquotedInlineComments) {
  EXPECT_EQ(one("FOO=bar # this is foo"), "FOO=bar");
  EXPECT_EQ(one("FOO=bar #this is foo"), "FOO=bar");
  EXPECT_EQ(one("FOO=bar #"), "FOO=bar");
  EXPECT_EQ(one("FOO=123#not-an-inline-comment"), "FOO=123#not-an-inline-comment");
  EXPECT_EQ(one("A=x # y"), "A=x");
  EXPECT_EQ(one("A=x#y"), "A=x#y");
  // Like compose-go, only a space starts an inline comment, and a value may start with '#'.
  EXPECT_EQ(one("A=x\t# y"), "A=x\t# y");
  EXPECT_EQ(one("A=#y"), "A=#y");
  EXPECT_EQ(one("A= # y"), "A=# y");
}

TEST(Dotenv, UnquotedHasNoEscapes) {
  EXPECT_EQ(one("FOO=a\\tb"), "FOO=a\\tb");
  EXPECT_EQ(one("FOO=a\\nb"), "FOO=a\\nb");
  EXPECT_EQ(one("FOO=it's \"x\""), "FOO=it's \"x\"");
}

TEST(Dotenv, UnquotedIsInterpolated) {
  std::vector<std::string> unset;
  const Entries entries = parse_dotenv("A=$Symbol\nB=pa$$word\nC=${D:-d}\n", ".env", no_vars(),
                                       [&](std::string_view name) { unset.emplace_back(name); });
  EXPECT_EQ(entries, (Entries{{"A", ""}, {"B", "pa$word"}, {"C", "d"}}));
  EXPECT_EQ(unset, std::vector<std::string>{"Symbol"});
  EXPECT_EQ(parse("A=$Symbol", lookup_in({{"Symbol", "sym"}})), (Entries{{"A", "sym"}}));
}

// ---- single quotes ----

TEST(Dotenv, SingleQuotesAreLiteral) {
  EXPECT_EQ(one("PASSWORD='pa$$word'"), "PASSWORD=pa$$word");
  EXPECT_EQ(one("BAR='quote $FOO'"), "BAR=quote $FOO");
  EXPECT_EQ(one("A='${X:?boom}'"), "A=${X:?boom}");
  EXPECT_EQ(one("OPTION_D='\\n'"), "OPTION_D=\\n");
  EXPECT_EQ(one("A='a\\tb\\\\c'"), "A=a\\tb\\\\c");
  EXPECT_EQ(one("FOO='ba#r'"), "FOO=ba#r");
  EXPECT_EQ(one("FOO='bar#baz' # comment"), "FOO=bar#baz");
  EXPECT_EQ(one("FOO='\"d\"'"), "FOO=\"d\"");
}

TEST(Dotenv, SingleQuotesKeepAnEscapedSingleQuote) {
  EXPECT_EQ(one("A='it\\'s'"), "A=it's");
}

TEST(Dotenv, MultiLineSingleQuoted) {
  EXPECT_EQ(parse("OPTION_J = 'first line\nsecond line\nthird line\nand so on'\n"
                  "OPTION_Z = \"last value\"\n"),
            (Entries{{"OPTION_J", "first line\nsecond line\nthird line\nand so on"},
                     {"OPTION_Z", "last value"}}));
}

// ---- double quotes ----

TEST(Dotenv, DoubleQuotes) {
  EXPECT_EQ(one("FOO=\"bar\""), "FOO=bar");
  EXPECT_EQ(one("FOO=\"escaped\\\"bar\""), "FOO=escaped\"bar");
  EXPECT_EQ(one("FOO=\"\\\"quoted\\\"\""), "FOO=\"quoted\"");
  EXPECT_EQ(one("FOO=\"'d'\""), "FOO='d'");
  EXPECT_EQ(one("OPTION_I = \"echo 'asd'\""), "OPTION_I=echo 'asd'");
  EXPECT_EQ(one("A=\"x # y\""), "A=x # y");
  EXPECT_EQ(one("FOO=\"bar#baz\""), "FOO=bar#baz");
  EXPECT_EQ(one("FOO=\"bar#baz\"#"), "FOO=bar#baz");
  EXPECT_EQ(one("FOO=\"bar#baz\" # comment"), "FOO=bar#baz");
  EXPECT_EQ(one("FOO=\"bar#baz#bang\" # comment"), "FOO=bar#baz#bang");
  EXPECT_EQ(one("A=\"  padded  \""), "A=  padded  ");
}

TEST(Dotenv, DoubleQuotedEscapes) {
  EXPECT_EQ(one("FOO=\"bar\\nbaz\""), "FOO=bar\nbaz");
  EXPECT_EQ(one("FOO=\"a\\tb\""), "FOO=a\tb");
  EXPECT_EQ(one("OPTION_H=\"\\n\""), "OPTION_H=\n");
  EXPECT_EQ(one("KEY=\"Z\\aZ\\bZ\\fZ\\nZ\\rZ\\tZ\\vZ\\\\Z\\0123Z\""),
            "KEY=Z\aZ\bZ\fZ\nZ\rZ\tZ\vZ\\ZSZ");
  EXPECT_EQ(one("FOO=\"bar\\n\\ b\\az\""), "FOO=bar\n\\ b\az");
  EXPECT_EQ(one("FOO=\"bar\\\\\\n\\ b\\az\""), "FOO=bar\\\n\\ b\az");
  EXPECT_EQ(one("FOO=\"bar\\\\r\\ b\\az\""), "FOO=bar\\r\\ b\az");
  EXPECT_EQ(one("FOO=\"bar\\nbaz\\\\\""), "FOO=bar\nbaz\\");
}

TEST(Dotenv, OctalAndUnsupportedEscapes) {
  EXPECT_EQ(one("KEY=\"\\0123\""), "KEY=S");
  EXPECT_EQ(one("KEY=\"\\0377\""), "KEY=\xC3\xBF");
  // compose-go reads "\0" plus fewer than three octal digits as "\" plus the digits.
  EXPECT_EQ(one("KEY=\"\\0\""), "KEY=\\");
  EXPECT_EQ(one("KEY=\"\\012\""), "KEY=\\12");
  EXPECT_EQ(one("KEY=\"\\0400\""), "KEY=\\400");
  EXPECT_EQ(one("KEY=\"\\0189\""), "KEY=\\189");
  EXPECT_EQ(one("KEY=\"\\x07\""), "KEY=\\x07");
  EXPECT_EQ(one("KEY=\"\\u12e4\""), "KEY=\\u12e4");
  EXPECT_EQ(one("KEY=\"\\U00101234\""), "KEY=\\U00101234");
  EXPECT_EQ(one("KEY=\"\\c\""), "KEY=\\c");
}

TEST(Dotenv, DoubleQuotedIsInterpolated) {
  EXPECT_EQ(parse("FOO=test\nBAR=\"quote $FOO\""),
            (Entries{{"FOO", "test"}, {"BAR", "quote test"}}));
  EXPECT_EQ(one("PASSWORD=\"pa$$word\""), "PASSWORD=pa$word");
  EXPECT_EQ(one("FOO=\"foo\\$BAR\""), "FOO=foo$BAR");
  EXPECT_EQ(one("FOO=\"foo\\${BAR}\""), "FOO=foo${BAR}");
  EXPECT_EQ(parse("FOO=test\nBAR=\"foo\\${FOO} ${FOO}\""),
            (Entries{{"FOO", "test"}, {"BAR", "foo${FOO} test"}}));
}

TEST(Dotenv, MultiLineDoubleQuoted) {
  EXPECT_EQ(one("TEST_URLS=\"stratum+tcp://stratum.antpool.com:3333\n"
                "stratum+tcp://stratum.antpool.com:443\""),
            "TEST_URLS=stratum+tcp://stratum.antpool.com:3333\n"
            "stratum+tcp://stratum.antpool.com:443");
  EXPECT_EQ(parse("A=\"1\n$B\n3\"\nC=4", lookup_in({{"B", "2"}})),
            (Entries{{"A", "1\n2\n3"}, {"C", "4"}}));
}

TEST(Dotenv, QuotedFixture) {
  EXPECT_EQ(parse("OPTION_A='1'\nOPTION_B='2'\nOPTION_C=''\nOPTION_D='\\n'\nOPTION_E=\"1\"\n"
                  "OPTION_F=\"2\"\nOPTION_G=\"\"\nOPTION_H=\"\\n\"\n"),
            (Entries{{"OPTION_A", "1"},
                     {"OPTION_B", "2"},
                     {"OPTION_C", ""},
                     {"OPTION_D", "\\n"},
                     {"OPTION_E", "1"},
                     {"OPTION_F", "2"},
                     {"OPTION_G", ""},
                     {"OPTION_H", "\n"}}));
}

// ---- interpolation sources ----

TEST(Dotenv, ExpandsFromEarlierEntries) {
  EXPECT_EQ(parse("FOO=test\nBAR=$FOO"), (Entries{{"FOO", "test"}, {"BAR", "test"}}));
  EXPECT_EQ(parse("FOO=test\nBAR=${FOO}bar"), (Entries{{"FOO", "test"}, {"BAR", "testbar"}}));
  EXPECT_EQ(parse("BAR=$FOO"), (Entries{{"BAR", ""}}));
  EXPECT_EQ(parse("BAR=$FOO\nFOO=late"), (Entries{{"BAR", ""}, {"FOO", "late"}}));
  EXPECT_EQ(parse("A=1\nA=2\nB=$A"), (Entries{{"A", "1"}, {"A", "2"}, {"B", "2"}}));
  EXPECT_EQ(parse("TEST=$ME", lookup_in({{"ME", "YES"}})), (Entries{{"TEST", "YES"}}));
}

TEST(Dotenv, Substitutions) {
  const char* text =
      "OPTION_A=1\nOPTION_B=${OPTION_A}\nOPTION_C=$OPTION_B\nOPTION_D=${OPTION_A}_${OPTION_B}\n"
      "OPTION_E=${OPTION_NOT_DEFINED}\n";
  EXPECT_EQ(parse(text), (Entries{{"OPTION_A", "1"},
                                  {"OPTION_B", "1"},
                                  {"OPTION_C", "1"},
                                  {"OPTION_D", "1_1"},
                                  {"OPTION_E", ""}}));
}

TEST(Dotenv, LookupWinsOverEarlierEntriesAsInComposeGo) {
  const char* text =
      "OPTION_A=1\nOPTION_B=${OPTION_A}\nOPTION_C=$OPTION_B\nOPTION_D=${OPTION_A}_${OPTION_B}\n"
      "OPTION_E=${OPTION_NOT_DEFINED}\n";
  EXPECT_EQ(parse(text, lookup_in({{"OPTION_A", "5"}})), (Entries{{"OPTION_A", "1"},
                                                                  {"OPTION_B", "5"},
                                                                  {"OPTION_C", "5"},
                                                                  {"OPTION_D", "5_5"},
                                                                  {"OPTION_E", ""}}));
}

TEST(Dotenv, SubstitutionsWithDefaults) {
  const char* text =
      "OPTION_A=${OPTION_A:-1}\nOPTION_B=${OPTION_A}\nOPTION_C=$OPTION_B\n"
      "OPTION_D=${OPTION_A}_${OPTION_B}\nOPTION_E=${OPTION_NOT_DEFINED}\n";
  EXPECT_EQ(parse(text, lookup_in({{"OPTION_A", "5"}})), (Entries{{"OPTION_A", "5"},
                                                                  {"OPTION_B", "5"},
                                                                  {"OPTION_C", "5"},
                                                                  {"OPTION_D", "5_5"},
                                                                  {"OPTION_E", ""}}));
  EXPECT_EQ(parse(text), (Entries{{"OPTION_A", "1"},
                                  {"OPTION_B", "1"},
                                  {"OPTION_C", "1"},
                                  {"OPTION_D", "1_1"},
                                  {"OPTION_E", ""}}));
}

TEST(Dotenv, InterpolationOperators) {
  const std::string prefix = "EMPTY_VAR=\nTEST_VAR=Test Value\n";
  const auto result = [&](const std::string& line) { return parse(prefix + line).back().value; };
  EXPECT_EQ(result("RESULT=${UNSET_VAR:-Default Value}"), "Default Value");
  EXPECT_EQ(result("RESULT=${EMPTY_VAR:-Default Value}"), "Default Value");
  EXPECT_EQ(result("RESULT=${TEST_VAR:-Default Value}"), "Test Value");
  EXPECT_EQ(result("RESULT=${UNSET_VAR-Default Value}"), "Default Value");
  EXPECT_EQ(result("RESULT=${EMPTY_VAR-Default Value}"), "");
  EXPECT_EQ(result("RESULT=${TEST_VAR-Default Value}"), "Test Value");
  EXPECT_EQ(result("RESULT=${TEST_VAR:?Default Value}"), "Test Value");
  EXPECT_EQ(result("RESULT=${EMPTY_VAR?Test error}"), "");
  EXPECT_EQ(result("RESULT=${TEST_VAR:+alt}"), "alt");
  EXPECT_EQ(result("RESULT=${EMPTY_VAR:+alt}"), "");
  EXPECT_EQ(result("RESULT=${EMPTY_VAR+alt}"), "alt");
  EXPECT_EQ(error_of(prefix + "RESULT=${UNSET_VAR:?Test error}"),
            ".env:3: required variable UNSET_VAR is missing a value: Test error");
  EXPECT_EQ(error_of(prefix + "RESULT=${EMPTY_VAR:?Test error}"),
            ".env:3: required variable EMPTY_VAR is missing a value: Test error");
  EXPECT_EQ(error_of(prefix + "RESULT=\"${UNSET_VAR?Test error}\""),
            ".env:3: required variable UNSET_VAR is missing a value: Test error");
}

// ---- errors ----

TEST(Dotenv, UnexpectedCharacterInKey) {
  EXPECT_EQ(error_of("%!(EXTRA string)=foo"),
            R"(.env:1: unexpected character "%" in variable name "%!(EXTRA string)=foo")");
  EXPECT_EQ(error_of("lol$wut"), R"(.env:1: unexpected character "$" in variable name "lol$wut")");
  EXPECT_EQ(error_of("A=1\n\nKEY # comment\n"),
            R"(.env:3: unexpected character "#" in variable name "KEY # comment")");
  EXPECT_EQ(error_of("A=1\r\nB\"=2\r\n"),
            R"(.env:2: unexpected character "\"" in variable name "B\"=2")");
}

TEST(Dotenv, KeyWithASpace) {
  EXPECT_EQ(error_of("A='1\n2\n3'\n# c\n\nB=\"x\ny\"\nFOO BAR=1\n"),
            R"(.env:8: variable name "FOO BAR" cannot contain a space)");
  EXPECT_EQ(error_of("FOO\tBAR=1"), R"(.env:1: variable name "FOO\tBAR" cannot contain a space)");
}

TEST(Dotenv, MissingKey) {
  EXPECT_EQ(error_of("=\"value\""), ".env:1: missing variable name");
  EXPECT_EQ(error_of("A=1\n : x"), ".env:2: missing variable name");
}

TEST(Dotenv, UnterminatedQuotes) {
  EXPECT_EQ(error_of("KEY=\""), ".env:1: unterminated quoted value \"");
  EXPECT_EQ(error_of("KEY=\"value"), ".env:1: unterminated quoted value \"value");
  EXPECT_EQ(error_of("KEY=\"value\\\""), ".env:1: unterminated quoted value \"value\\\"");
  EXPECT_EQ(error_of("KEY=\"value'"), ".env:1: unterminated quoted value \"value'");
  EXPECT_EQ(error_of("KEY='"), ".env:1: unterminated quoted value '");
  EXPECT_EQ(error_of("KEY='value"), ".env:1: unterminated quoted value 'value");
  EXPECT_EQ(error_of("KEY='value\\'"), ".env:1: unterminated quoted value 'value\\'");
  EXPECT_EQ(error_of("KEY='value\""), ".env:1: unterminated quoted value 'value\"");
  EXPECT_EQ(error_of("A=1\nKEY=\"multi\nline\nB=2\n"), ".env:2: unterminated quoted value \"multi");
}

TEST(Dotenv, TextAfterTheClosingQuote) {
  EXPECT_EQ(error_of("A=\"x\" y\nB=2"), R"(.env:1: unexpected "y" after the closing quote)");
  EXPECT_EQ(error_of("A='x'B=2"), R"(.env:1: unexpected "B=2" after the closing quote)");
}

TEST(Dotenv, InterpolationErrorsNameTheLine) {
  EXPECT_EQ(error_of("A=1\n\nB=${"),
            ".env:3: invalid interpolation format for \"${\": you may need to escape any $ "
            "with another $");
  EXPECT_EQ(error_of("A=\"x\ny\"\nB=${C:?set C}"),
            ".env:3: required variable C is missing a value: set C");
}

// ---- files ----

class DotenvFile : public ::testing::Test {
 protected:
  void SetUp() override {
    m_dir = std::filesystem::temp_directory_path() /
            ("berth_dotenv_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(m_dir);
  }
  void TearDown() override { std::filesystem::remove_all(m_dir); }

  std::string write(const std::string& name, const std::string& content) {
    const std::filesystem::path path = m_dir / name;
    std::ofstream(path, std::ios::binary) << content;
    return path.string();
  }

  std::filesystem::path m_dir;
};

TEST_F(DotenvFile, ReadsAFile) {
  const std::string path = write("app.env", "A=1\nB=\"$A-2\"\n");
  EXPECT_EQ(read_dotenv_file(path, no_vars()), (Entries{{"A", "1"}, {"B", "1-2"}}));
}

TEST_F(DotenvFile, ErrorsNameTheFile) {
  const std::string path = write("bad.env", "A=1\nB C=2\n");
  try {
    read_dotenv_file(path, no_vars());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), path + ":2: variable name \"B C\" cannot contain a space");
  }
}

TEST_F(DotenvFile, MissingFile) {
  const std::string path = (m_dir / "missing.env").string();
  try {
    read_dotenv_file(path, no_vars());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), path + ": cannot read env file: No such file or directory");
  }
}

TEST_F(DotenvFile, DirectoryIsAnError) {
  try {
    read_dotenv_file(m_dir.string(), no_vars());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), m_dir.string() + ": cannot read env file: Is a directory");
  }
}

}  // namespace
}  // namespace berth::compose
