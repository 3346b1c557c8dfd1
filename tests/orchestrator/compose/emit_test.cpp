#include "orchestrator/compose/emit.h"

#include <gtest/gtest.h>

#include "orchestrator/compose/config_hash.h"

namespace berth::compose {
namespace {

TEST(Emit, TopLevelKeysInComposeOrderThenSorted) {
  const auto model = YAML::Load(
      "x-z: 1\nvolumes: {}\nservices: {}\nname: p\nconfigs: {}\nnetworks: {}\nsecrets: {}\n");
  EXPECT_EQ(to_yaml(model),
            "name: p\nservices: {}\nnetworks: {}\nvolumes: {}\nsecrets: {}\nconfigs: {}\n"
            "x-z: 1\n");
}

TEST(Emit, StringsThatReadAsOtherTypesAreQuoted) {
  const auto model = YAML::Load(
      "services:\n  web:\n    image: 'yes'\n    environment:\n      A: 'true'\n      B: '1.5'\n"
      "      C: ''\n      D: 'null'\n      E: '1:20'\n      F: plain\n      G: '0x1F'\n");
  EXPECT_EQ(to_yaml(model),
            "services:\n  web:\n    environment:\n      A: \"true\"\n      B: \"1.5\"\n"
            "      C: \"\"\n      D: \"null\"\n      E: \"1:20\"\n      F: plain\n"
            "      G: \"0x1F\"\n    image: \"yes\"\n");
}

/// `x-k: <text>` printed from a quoted (string) scalar.
std::string printed_string(const std::string& text) {
  YAML::Node model;
  model["x-k"] = text;
  model["x-k"].SetTag("!");
  return to_yaml(model, false);
}

TEST(Emit, QuotingDecisionsForEveryAmbiguousForm) {
  // Strings a YAML 1.1 or 1.2 reader would take for numbers, booleans, nulls, base-60...
  for (const char* text : {"-1", "+2", "1e5", "1.5E-3", ".5", "3.", "-.inf", ".NaN", "0x1f", "0o17",
                           "1:20", "-1:2:3", "1_0:59.5", "Off", "~"}) {
    EXPECT_EQ(printed_string(text), "x-k: \"" + std::string(text) + "\"\n") << text;
  }
  // ... and look-alikes that read back as strings, printed plain.
  for (const char* text : {"1:60", "1:2x", "0x", "0o8", "e5", "1e", "1.2.3", "a1", "1-2", "1.5x",
                           "inf", "nan", "v1.0"}) {
    EXPECT_EQ(printed_string(text), "x-k: " + std::string(text) + "\n") << text;
  }
}

TEST(Emit, AnyStringReadsBackUnchanged) {
  const std::string texts[] = {":",         "- x",     "-x",          "#c",        "a #b",
                               "a: b",      "a:b",     " lead",       "trail ",    "multi\nline",
                               "tab\there", "quo\"te", "back\\slash", "ctl\x01",   "üñí",
                               "[x]",       "{x}",     "*ref",        "&anchor",   "!tag",
                               "|",         ">",       "'single'",    "%dir",      "@at",
                               "`tick`",    "?",       "? q",         "trailing:", "x,y"};
  for (const std::string& text : texts) {
    YAML::Node model;
    model["x-k"] = text;
    model["x-k"].SetTag("!");
    model[text] = "key";
    const YAML::Node back = YAML::Load(to_yaml(model, false));
    EXPECT_EQ(back["x-k"].Scalar(), text) << to_yaml(model, false);
    EXPECT_EQ(back[text].Scalar(), "key") << to_yaml(model, false);
  }
}

TEST(Emit, NestedSequencesAndMappingsInBlockStyle) {
  const auto model = YAML::Load("x-a:\n  - [1, [2, 3]]\n  - {k: v, l: [w]}\n  - []\n  - {}\n");
  EXPECT_EQ(to_yaml(model, false),
            "x-a:\n  - - 1\n    - - 2\n      - 3\n  - k: v\n    l:\n      - w\n  - []\n"
            "  - {}\n");
}

TEST(Emit, TypedScalarsAreNormalised) {
  const auto model = YAML::Load(
      "services:\n  web:\n    privileged: True\n    ports:\n      - target: '80'\n"
      "        published: 8080\n        protocol: tcp\n        mode: ingress\n");
  EXPECT_EQ(to_json(model),
            "{\n  \"services\": {\n    \"web\": {\n      \"ports\": [\n        {\n"
            "          \"mode\": \"ingress\",\n          \"protocol\": \"tcp\",\n"
            "          \"published\": \"8080\",\n          \"target\": 80\n        }\n"
            "      ],\n      \"privileged\": true\n    }\n  }\n}\n");
}

TEST(Emit, DollarsAreEscapedOnlyForInterpolatedOutput) {
  const auto model = YAML::Load("services:\n  web:\n    command: ['echo', '$HOME']\n");
  EXPECT_EQ(to_yaml(model), "services:\n  web:\n    command:\n      - echo\n      - $$HOME\n");
  EXPECT_EQ(to_yaml(model, false),
            "services:\n  web:\n    command:\n      - echo\n      - $HOME\n");
}

TEST(Emit, ExtensionValuesKeepTheirSourceTypes) {
  const auto model = YAML::Load("x-a:\n  n: 3\n  s: '3'\n  b: true\n  z: ~\n");
  EXPECT_EQ(to_json(model),
            "{\n  \"x-a\": {\n    \"b\": true,\n    \"n\": 3,\n    \"s\": \"3\",\n"
            "    \"z\": null\n  }\n}\n");
}

TEST(Emit, OutputReadsBackToTheSameOutput) {
  const auto model = YAML::Load(
      "name: p\nservices:\n  web:\n    image: 'on'\n    command: ['a b', '#c', '-d', 'e: f']\n"
      "    environment: {K: '007', L: '-', M: '~', N: \"multi\\nline\"}\n");
  const std::string once = to_yaml(model, false);
  EXPECT_EQ(to_yaml(YAML::Load(once), false), once);
}

TEST(ConfigHash, IgnoresWhatDoesNotChangeTheContainer) {
  const auto a = YAML::Load("services:\n  web:\n    image: x\n");
  const auto b = YAML::Load(
      "services:\n  web:\n    image: x\n    depends_on: {db: {condition: service_started}}\n"
      "    profiles: [p]\n    scale: 3\n    pull_policy: always\n    deploy: {replicas: 3}\n"
      "    build: {context: /x}\n");
  const auto c = YAML::Load("services:\n  web:\n    image: y\n");
  EXPECT_EQ(service_config_hash(a, "web"), service_config_hash(b, "web"));
  EXPECT_NE(service_config_hash(a, "web"), service_config_hash(c, "web"));
  EXPECT_EQ(service_config_hash(a, "web").size(), 64u);
}

TEST(ConfigHash, EmptyDeployIsNotAnError) {
  // Found by the fuzzer: `deploy:` with no value made the hash throw.
  const auto model = YAML::Load("services:\n  web:\n    image: x\n    deploy:\n");
  EXPECT_EQ(service_config_hash(model, "web").size(), 64u);
}

}  // namespace
}  // namespace berth::compose
