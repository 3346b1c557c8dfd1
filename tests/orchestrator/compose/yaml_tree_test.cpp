#include "orchestrator/compose/yaml_tree.h"

#include <gtest/gtest.h>

#include "orchestrator/compose/merge.h"
#include "tests/support/yaml_test_util.h"
#include "util/error.h"

namespace berth::compose {
namespace {

using berth::testing::render_yaml;

std::string error_of(const std::string& yaml) {
  try {
    parse_compose_yaml(yaml, "compose.yaml");
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(YamlTree, EmptyFileIsAnEmptyMapping) {
  EXPECT_EQ(render_yaml(parse_compose_yaml("", "f")), "{}");
  EXPECT_EQ(render_yaml(parse_compose_yaml("# only a comment\n", "f")), "{}");
}

TEST(YamlTree, MergeKeysExplicitKeysWinAndFirstListedMappingWins) {
  const auto doc = parse_compose_yaml(
      "a: &a {x: 1, y: 1}\n"
      "b: &b {y: 2, z: 2}\n"
      "c:\n  <<: [*a, *b]\n  x: 0\n",
      "f");
  EXPECT_EQ(render_yaml(doc["c"]), "{x: 0, y: 1, z: 2}");
}

TEST(YamlTree, MergeKeyWithSingleMapping) {
  const auto doc = parse_compose_yaml(
      "x-base: &base\n  image: busybox\n  restart: always\n"
      "services:\n  web:\n    <<: *base\n    restart: 'no'\n",
      "f");
  EXPECT_EQ(render_yaml(doc["services"]["web"]), "{restart: \"no\", image: busybox}");
}

TEST(YamlTree, QuotedMergeKeyIsAnOrdinaryKey) {
  const auto doc = parse_compose_yaml("a:\n  '<<': 1\n", "f");
  EXPECT_EQ(doc["a"]["<<"].Scalar(), "1");
}

TEST(YamlTree, ErrorsNameFileLineAndColumn) {
  EXPECT_EQ(error_of("services:\n  web: {}\n  web: {}\n"),
            "compose.yaml:3:3: mapping key \"web\" already defined");
  EXPECT_EQ(error_of("- a\n- b\n"),
            "compose.yaml:1:1: top-level object must be a mapping, not a sequence");
  EXPECT_EQ(error_of("a:\n  <<: 3\n"),
            "compose.yaml:2:7: merge key \"<<\" takes a mapping or a list of mappings");
  EXPECT_EQ(error_of("a:\n  <<: [1]\n"),
            "compose.yaml:2:8: merge key \"<<\" takes mappings, not a string");
  EXPECT_EQ(error_of("? [a, b]\n: 1\n"),
            "compose.yaml:1:3: mapping keys must be strings, not a sequence");
  EXPECT_EQ(error_of("services: [unclosed\n"), "compose.yaml:2:1: end of sequence flow not found");
}

TEST(YamlTree, AliasInsideItsOwnAnchorIsRefused) {
  EXPECT_EQ(error_of("a: &a\n  b: *a\n"),
            "compose.yaml:1:4: an alias refers to a node that contains it");
}

TEST(YamlTree, AliasBombIsRefusedNotExpanded) {
  std::string yaml = "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 12; ++i) {
    yaml += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [";
    for (int j = 0; j < 10; ++j) yaml += (j ? ", *l" : "*l") + std::to_string(i - 1);
    yaml += "]\n";
  }
  EXPECT_EQ(error_of(yaml),
            "compose.yaml: document too large: its aliases expand to more than 500000 nodes");
}

TEST(YamlTree, DeepNestingIsRefused) {
  const std::string yaml = "a: " + std::string(300, '[') + std::string(300, ']') + "\n";
  EXPECT_NE(error_of(yaml).find("nested deeper than 200 levels"), std::string::npos);
}

TEST(YamlTree, AdoptedDocumentSharesNothingBetweenAliases) {
  // Two services share one environment mapping through an alias; after adoption, changing
  // one must not change the other (later phases edit the model in place).
  auto doc = parse_compose_yaml(
      "services:\n  a:\n    environment: &env {X: '1'}\n  b:\n    environment: *env\n", "f");
  YAML::Node model = adopt_document(doc);
  model["services"]["a"]["environment"]["X"] = "changed";
  EXPECT_EQ(model["services"]["b"]["environment"]["X"].Scalar(), "1");
}

TEST(YamlTree, AdoptedDocumentConsumesMergeTags) {
  auto doc = parse_compose_yaml(
      "services:\n  a:\n    image: !override busybox\n    ports: !reset []\n    command: x\n", "f");
  EXPECT_EQ(render_yaml(adopt_document(doc)), "{services: {a: {image: busybox, command: x}}}");
}

}  // namespace
}  // namespace berth::compose
