#include "orchestrator/compose/interpolate.h"
#include "tests/support/yaml_test_util.h"

#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "util/error.h"

namespace berth::compose {
namespace {

using berth::testing::lookup_in;
using berth::testing::Vars;

// compose-go's template tests use these two: one set, one set but empty.
const Lookup& defaults() {
  static const Lookup lookup = lookup_in({{"FOO", "first"}, {"BAR", ""}});
  return lookup;
}

std::string subst(std::string_view text, const Lookup& lookup = defaults()) {
  return interpolate(text, lookup);
}

std::string error_of(std::string_view text, const Lookup& lookup = defaults()) {
  try {
    const std::string result = interpolate(text, lookup);
    return "no error, got: " + result;
  } catch (const Error& e) {
    return e.what();
  }
}

std::string invalid_message(std::string_view text) {
  return fmt::format(
      "invalid interpolation format for {:?}: you may need to escape any $ with another $", text);
}

// ---- interpolate(): plain references and escapes ----

TEST(Interpolate, NoReferenceIsUnchanged) {
  EXPECT_EQ(subst("foo"), "foo");
  EXPECT_EQ(subst(""), "");
}

TEST(Interpolate, DollarDollarIsALiteralDollar) {
  EXPECT_EQ(subst("$${foo}"), "${foo}");
  EXPECT_EQ(subst("$$"), "$");
  EXPECT_EQ(subst("$$$$"), "$$");
  EXPECT_EQ(subst("$$FOO"), "$FOO");
  EXPECT_EQ(subst("a$$$FOO"), "a$first");
}

TEST(Interpolate, LoneDollarIsKept) {
  for (const char* text : {"a $ string", "^REGEX$", "$}", "$", "$1A", "100$", "$-x", "$ {FOO}"}) {
    EXPECT_EQ(subst(text), text) << text;
  }
}

TEST(Interpolate, PlainAndBracedReferences) {
  EXPECT_EQ(subst("This $FOO var"), "This first var");
  EXPECT_EQ(subst("This ${FOO} var"), "This first var");
  EXPECT_EQ(subst("${FOO}${FOO}"), "firstfirst");
  EXPECT_EQ(subst("${FOO}}"), "first}");
}

TEST(Interpolate, NonBracedNameEndsAtFirstNonNameChar) {
  EXPECT_EQ(subst("$FOO-bar"), "first-bar");
  EXPECT_EQ(subst("$FOO.bar"), "first.bar");
  EXPECT_EQ(subst("$FOO:/target"), "first:/target");
  EXPECT_EQ(subst("$FOOx"), "");
}

TEST(Interpolate, NamesAreCaseSensitiveAndMayHoldDigitsAndUnderscores) {
  const Lookup lookup = lookup_in({{"foo_Bar1", "x"}, {"_", "u"}});
  EXPECT_EQ(subst("$foo_Bar1 ${foo_Bar1} $_ ${_}", lookup), "x x u u");
  EXPECT_EQ(subst("$FOO_BAR1", lookup), "");
}

TEST(Interpolate, UnsetOrEmptyWithoutDefaultIsEmpty) {
  EXPECT_EQ(subst("This ${missing} var"), "This  var");
  EXPECT_EQ(subst("This ${BAR} var"), "This  var");
  EXPECT_EQ(subst("This $missing var"), "This  var");
}

TEST(Interpolate, UnsetHandlerIsCalledPerReferenceToAnUnsetVariable) {
  std::vector<std::string> unset;
  const UnsetHandler handler = [&](std::string_view name) { unset.emplace_back(name); };
  EXPECT_EQ(interpolate("$A ${A} $B $BAR $FOO ${C:-x} ${D-x} ${E:+x} ${F+x}", defaults(), handler),
            "    first x x  ");
  EXPECT_EQ(unset, (std::vector<std::string>{"A", "A", "B"}));
}

// ---- defaults ----

TEST(Interpolate, Defaults) {
  EXPECT_EQ(subst("ok ${missing:-def}"), "ok def");
  EXPECT_EQ(subst("ok ${missing-def}"), "ok def");
  EXPECT_EQ(subst("ok ${BAR:-def}"), "ok def");
  EXPECT_EQ(subst("ok ${FOO:-def}"), "ok first");
  EXPECT_EQ(subst("ok ${BAR-def}"), "ok ");
  EXPECT_EQ(subst("ok ${FOO-def}"), "ok first");
  EXPECT_EQ(subst("ok ${missing-}"), "ok ");
  EXPECT_EQ(subst("ok ${missing:-}"), "ok ");
}

TEST(Interpolate, DefaultMayHoldOperatorCharacters) {
  EXPECT_EQ(subst("ok ${BAR:-/non:-alphanumeric}"), "ok /non:-alphanumeric");
  EXPECT_EQ(subst("${UNSET_VAR-myerror?msg}"), "myerror?msg");
  EXPECT_EQ(subst("{{{ ${X:-foo-bar-value} }}}"), "{{{ foo-bar-value }}}");
  EXPECT_EQ(subst("{{{ ${X:-foo?bar?value} }}}"), "{{{ foo?bar?value }}}");
  EXPECT_EQ(subst("{{{ ${X:-foo:?bar:?value} }}}"), "{{{ foo:?bar:?value }}}");
  EXPECT_EQ(subst("${X:-a b  c}"), "a b  c");
}

TEST(Interpolate, OuterTextDoesNotChangeTheOperator) {
  EXPECT_EQ(subst("-ok ${BAR:-defaultValue}"), "-ok defaultValue");
  EXPECT_EQ(subst("+ok ${UNSET:-${BAR-defaultValue}}"), "+ok ");
  EXPECT_EQ(subst("-ok ${FOO:-defaultValue}"), "-ok first");
  EXPECT_EQ(subst(":-ok ${UNSET-defaultValue}"), ":-ok defaultValue");
  EXPECT_EQ(subst(":-ok ${BAR-defaultValue}"), ":-ok ");
  EXPECT_EQ(subst(":?ok ${BAR-defaultValue}"), ":?ok ");
  EXPECT_EQ(subst(":?ok ${BAR:-defaultValue}"), ":?ok defaultValue");
  EXPECT_EQ(subst(":+ok ${BAR:-defaultValue}"), ":+ok defaultValue");
  EXPECT_EQ(subst("+ok ${BAR-defaultValue}"), "+ok ");
  EXPECT_EQ(subst("?ok ${BAR:-defaultValue}"), "?ok defaultValue");
}

TEST(Interpolate, NestedDefaults) {
  EXPECT_EQ(subst("ok ${UNSET_VAR-$FOO}"), "ok first");
  EXPECT_EQ(subst("ok ${UNSET_VAR-${FOO}}"), "ok first");
  EXPECT_EQ(subst("ok ${UNSET_VAR-${FOO} ${FOO}}"), "ok first first");
  EXPECT_EQ(subst("ok ${BAR:-$FOO}"), "ok first");
  EXPECT_EQ(subst("ok ${BAR:-${FOO}}"), "ok first");
  EXPECT_EQ(subst("ok ${BAR:-${FOO} ${FOO}}"), "ok first first");
  EXPECT_EQ(subst("ok ${BAR+$FOO}"), "ok first");
  EXPECT_EQ(subst("ok ${BAR+$FOO ${FOO:+second}}"), "ok first second");
  EXPECT_EQ(subst("${X:-${Y:-${Z:-qix}}}"), "qix");
  EXPECT_EQ(subst("${X:-${Y:-x}_test_${Y:-y}}"), "x_test_y");
  EXPECT_EQ(subst("${X:-${Y:-x}_test}"), "x_test");
  EXPECT_EQ(subst("${X:-${Y:-${Z:-x}}_test}"), "x_test");
  EXPECT_EQ(subst("${X:-${FOO:-x}}"), "first");
  EXPECT_EQ(subst("${X:-$$FOO}"), "$FOO");
  EXPECT_EQ(subst("${X:-$}"), "$");
}

TEST(Interpolate, BracesInsideADefaultNest) {
  EXPECT_EQ(subst(R"(${X:-{"a":1}})"), R"({"a":1})");
  EXPECT_EQ(subst(R"(${FOO:-{"a":1}})"), "first");
  EXPECT_EQ(subst(R"(${X:-{"a":1}} tail})"), R"({"a":1} tail})");
  // Unbalanced: like compose-go's greedy pattern, the reference ends at the last '}'.
  EXPECT_EQ(subst("${X:-{}"), "{");
}

TEST(Interpolate, ReferencesAfterADefaultAreSubstituted) {
  EXPECT_EQ(subst("{{{ ${X:-foo} ${BAR:-DEFAULT_VALUE} }}}"), "{{{ foo DEFAULT_VALUE }}}");
  EXPECT_EQ(subst("${X:-baz} }}}"), "baz }}}");
  EXPECT_EQ(subst("${X-baz} }}}"), "baz }}}");
  EXPECT_EQ(subst("{{{ ${X} }}}"), "{{{  }}}");
  EXPECT_EQ(subst("${X:-a}$FOO${Y-b}$$"), "afirstb$");
}

// ---- alternatives ----

TEST(Interpolate, Alternatives) {
  EXPECT_EQ(subst("ok ${UNSET_VAR:+presence_value}"), "ok ");
  EXPECT_EQ(subst("ok ${UNSET_VAR+presence_value}"), "ok ");
  EXPECT_EQ(subst("ok ${FOO:+presence_value}"), "ok presence_value");
  EXPECT_EQ(subst("ok ${FOO+presence_value}"), "ok presence_value");
  EXPECT_EQ(subst("ok ${BAR+presence_value}"), "ok presence_value");
  EXPECT_EQ(subst("ok ${BAR:+presence_value}"), "ok ");
  EXPECT_EQ(subst("${FOO:+${FOO}-x}"), "first-x");
}

// ---- required ----

TEST(Interpolate, RequiredVariableErrors) {
  EXPECT_EQ(error_of("not ok ${UNSET_VAR:?Mandatory Variable Unset}"),
            "required variable UNSET_VAR is missing a value: Mandatory Variable Unset");
  EXPECT_EQ(error_of("not ok ${BAR:?Mandatory Variable Empty}"),
            "required variable BAR is missing a value: Mandatory Variable Empty");
  EXPECT_EQ(error_of("not ok ${UNSET_VAR:?}"), "required variable UNSET_VAR is missing a value");
  EXPECT_EQ(error_of("not ok ${UNSET_VAR?Mandatory Variable Unset}"),
            "required variable UNSET_VAR is missing a value: Mandatory Variable Unset");
  EXPECT_EQ(error_of("not ok ${UNSET_VAR?}"), "required variable UNSET_VAR is missing a value");
  EXPECT_EQ(error_of("${UNSET_VAR?bar-baz}"),
            "required variable UNSET_VAR is missing a value: bar-baz");
  EXPECT_EQ(error_of("${X:?foo} ${Y:?bar}"), "required variable X is missing a value: foo");
  EXPECT_EQ(error_of("{{{ ${X:?foo} ${BAR:-DEFAULT_VALUE} }}}"),
            "required variable X is missing a value: foo");
}

TEST(Interpolate, RequiredMessageIsInterpolated) {
  EXPECT_EQ(error_of("not ok ${UNSET_VAR:?Mandatory Variable ${FOO}}"),
            "required variable UNSET_VAR is missing a value: Mandatory Variable first");
  EXPECT_EQ(error_of("not ok ${UNSET_VAR?Mandatory Variable ${FOO}}"),
            "required variable UNSET_VAR is missing a value: Mandatory Variable first");
  EXPECT_EQ(error_of("${X:?$BAR}"), "required variable X is missing a value");
}

TEST(Interpolate, RequiredVariableThatIsSet) {
  EXPECT_EQ(subst("ok ${FOO:?err}"), "ok first");
  EXPECT_EQ(subst("ok ${FOO?err}"), "ok first");
  EXPECT_EQ(subst("ok ${BAR?err}"), "ok ");
  EXPECT_EQ(subst("${FOO?bar-baz}"), "first");
}

TEST(Interpolate, ArgumentsAreExpandedEvenWhenUnusedAsInComposeGo) {
  // compose-go substitutes the default before it looks at the variable.
  EXPECT_EQ(error_of("${FOO:-${X:?need X}}"), "required variable X is missing a value: need X");
  std::vector<std::string> unset;
  EXPECT_EQ(interpolate("${FOO:-$X}", defaults(),
                        [&](std::string_view name) { unset.emplace_back(name); }),
            "first");
  EXPECT_EQ(unset, std::vector<std::string>{"X"});
}

// ---- invalid forms ----

TEST(Interpolate, InvalidFormsNameTheWholeText) {
  for (const char* text : {"${", "${}", "${ }", "${ foo}", "${foo }", "${foo!}", "${VAR",
                           "${VAR:x}", "${VAR:}", "${1A}", "${-x}", "${VAR:-x", "${A.B}"}) {
    EXPECT_EQ(error_of(text), invalid_message(text)) << text;
  }
}

TEST(Interpolate, InvalidFormInsideLongerOrNestedText) {
  EXPECT_EQ(error_of("ok ${} end"), invalid_message("ok ${} end"));
  EXPECT_EQ(error_of("${A:-${}}"), invalid_message("${A:-${}}"));
  EXPECT_EQ(error_of("$FOO ${"), invalid_message("$FOO ${"));
  EXPECT_EQ(error_of("say \"${\""),
            R"(invalid interpolation format for "say \"${\"": you may need to escape any $ )"
            R"(with another $)");
}

TEST(Interpolate, DeepNestingIsRefused) {
  std::string deep;
  for (int i = 0; i < 200; ++i) {
    deep += "${A:-";
  }
  deep += "x" + std::string(200, '}');
  EXPECT_EQ(error_of(deep), fmt::format("interpolation nested too deeply in {:?}", deep));

  std::string fine;
  for (int i = 0; i < 30; ++i) {
    fine += "${A:-";
  }
  fine += "x" + std::string(30, '}');
  EXPECT_EQ(subst(fine), "x");
}

// ---- interpolate_tree() ----

TEST(InterpolateTree, SubstitutesValuesInMapsAndSequences) {
  YAML::Node root = YAML::Load(R"(services:
  servicea:
    image: example:${USER}
    volumes: ["$FOO:/target", {source: "${FOO}"}]
    logging:
      driver: ${FOO}
      options:
        user: $USER
)");
  interpolate_tree(root, lookup_in({{"USER", "jenny"}, {"FOO", "bar"}}), "compose.yaml");
  const YAML::Node service = root["services"]["servicea"];
  EXPECT_EQ(service["image"].Scalar(), "example:jenny");
  EXPECT_EQ(service["volumes"][0].Scalar(), "bar:/target");
  EXPECT_EQ(service["volumes"][1]["source"].Scalar(), "bar");
  EXPECT_EQ(service["logging"]["driver"].Scalar(), "bar");
  EXPECT_EQ(service["logging"]["options"]["user"].Scalar(), "jenny");
}

TEST(InterpolateTree, KeysAreNeverInterpolated) {
  YAML::Node root = YAML::Load("environment:\n  $FOO: $FOO\n  ${BAR}: x\n");
  interpolate_tree(root, defaults(), "compose.yaml");
  std::vector<std::pair<std::string, std::string>> entries;
  for (const auto& entry : root["environment"]) {
    entries.emplace_back(entry.first.Scalar(), entry.second.Scalar());
  }
  EXPECT_EQ(entries,
            (std::vector<std::pair<std::string, std::string>>{{"$FOO", "first"}, {"${BAR}", "x"}}));
}

TEST(InterpolateTree, TagsStyleAndMarksAreKept) {
  YAML::Node root = YAML::Load(R"(quoted: "${FOO}"
plain: ${FOO}
number: ${NUM}
reset: !reset ${FOO}
override: !override
  x: $FOO
nothing:
tilde: ~
)");
  interpolate_tree(root, lookup_in({{"FOO", "first"}, {"NUM", "8"}}), "c.yaml");
  EXPECT_EQ(root["quoted"].Scalar(), "first");
  EXPECT_EQ(root["quoted"].Tag(), "!");
  EXPECT_EQ(root["plain"].Scalar(), "first");
  EXPECT_EQ(root["plain"].Tag(), "?");
  EXPECT_EQ(root["number"].Scalar(), "8");
  EXPECT_EQ(root["number"].Tag(), "?");
  EXPECT_EQ(root["reset"].Scalar(), "first");
  EXPECT_EQ(root["reset"].Tag(), "!reset");
  EXPECT_EQ(root["override"].Tag(), "!override");
  EXPECT_EQ(root["override"]["x"].Scalar(), "first");
  EXPECT_TRUE(root["nothing"].IsNull());
  EXPECT_TRUE(root["tilde"].IsNull());
  EXPECT_EQ(root["plain"].Mark().line, 1);
  EXPECT_EQ(root["plain"].Mark().column, 7);
}

TEST(InterpolateTree, InvalidFormErrorNamesPositionAndPath) {
  YAML::Node root = YAML::Load("services:\n  web:\n    image: \"${\"\n");
  try {
    interpolate_tree(root, defaults(), "compose.yaml");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "compose.yaml:3:12: services.web.image: invalid interpolation format for \"${\": "
              "you may need to escape any $ with another $");
  }
}

TEST(InterpolateTree, RequiredErrorNamesSequenceIndex) {
  YAML::Node root = YAML::Load(R"(services:
  web:
    ports:
      - "80:80"
      - "${PORT:?set PORT}:80"
)");
  try {
    interpolate_tree(root, defaults(), "compose.yaml");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "compose.yaml:5:9: services.web.ports[1]: required variable PORT is missing a "
              "value: set PORT");
  }
}

TEST(InterpolateTree, FirstErrorInDocumentOrderIsReported) {
  YAML::Node root = YAML::Load("a: ${A:?}\nb: ${B:?}\n");
  try {
    interpolate_tree(root, defaults(), "f.yaml");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "f.yaml:1:4: a: required variable A is missing a value");
  }
}

TEST(InterpolateTree, RootScalarErrorHasNoPath) {
  YAML::Node root = YAML::Load("\"${\"");
  try {
    interpolate_tree(root, defaults(), "f.yaml");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "f.yaml:1:1: " + invalid_message("${"));
  }
}

TEST(InterpolateTree, UnsetHandlerIsCalled) {
  YAML::Node root = YAML::Load("a: $X\nb: [$Y, \"${FOO}\"]\n");
  std::vector<std::string> unset;
  interpolate_tree(root, defaults(), "f.yaml",
                   [&](std::string_view name) { unset.emplace_back(name); });
  EXPECT_EQ(unset, (std::vector<std::string>{"X", "Y"}));
}

TEST(InterpolateTree, AliasedScalarIsInterpolatedOnce) {
  YAML::Node root = YAML::Load(R"(x-common: &c "$$HOME"
a: *c
b: [*c, *c]
)");
  int lookups = 0;
  const Lookup counting = [&](std::string_view) -> std::optional<std::string> {
    ++lookups;
    return std::nullopt;
  };
  interpolate_tree(root, counting, "f.yaml");
  EXPECT_EQ(root["x-common"].Scalar(), "$HOME");
  EXPECT_EQ(root["a"].Scalar(), "$HOME");
  EXPECT_EQ(root["b"][0].Scalar(), "$HOME");
  EXPECT_EQ(root["b"][1].Scalar(), "$HOME");
  EXPECT_EQ(lookups, 0);
}

TEST(InterpolateTree, AliasedMappingIsInterpolatedOnce) {
  YAML::Node root = YAML::Load(R"(x-base: &base
  command: "echo $$x ${FOO}"
services:
  a: *base
  b:
    <<: *base
)");
  interpolate_tree(root, defaults(), "f.yaml");
  EXPECT_EQ(root["services"]["a"]["command"].Scalar(), "echo $x first");
  EXPECT_EQ(root["x-base"]["command"].Scalar(), "echo $x first");
  EXPECT_EQ(root["services"]["b"]["<<"]["command"].Scalar(), "echo $x first");
}

TEST(InterpolateTree, BillionLaughsVisitsEachDistinctNodeOnce) {
  std::string text = "l0: &l0 [\"$$x\", \"$FOO\"]\n";
  for (int level = 1; level <= 40; ++level) {
    text += fmt::format("l{}: &l{} [", level, level);
    for (int i = 0; i < 10; ++i) {
      text += fmt::format("{}*l{}", i == 0 ? "" : ", ", level - 1);
    }
    text += "]\n";
  }
  YAML::Node root = YAML::Load(text);
  int lookups = 0;
  const Lookup counting = [&](std::string_view) -> std::optional<std::string> {
    ++lookups;
    return "v";
  };
  interpolate_tree(root, counting, "f.yaml");
  EXPECT_EQ(lookups, 1);
  YAML::Node deep = root["l40"];
  for (int level = 40; level > 0; --level) {
    deep = deep[9];
  }
  EXPECT_EQ(deep[0].Scalar(), "$x");
  EXPECT_EQ(deep[1].Scalar(), "v");
}

TEST(InterpolateTree, ScalarsWithoutDollarAreLeftAlone) {
  YAML::Node root = YAML::Load("a: plain\nb: 'quoted'\nc: 3\n");
  interpolate_tree(root, defaults(), "f.yaml");
  EXPECT_EQ(root["a"].Scalar(), "plain");
  EXPECT_EQ(root["b"].Scalar(), "quoted");
  EXPECT_EQ(root["b"].Tag(), "!");
  EXPECT_EQ(root["c"].Scalar(), "3");
}

}  // namespace
}  // namespace berth::compose
