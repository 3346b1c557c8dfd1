// `berth config` as a user runs it: output, exit codes and the one-line errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <ostream>

#include <nlohmann/json.hpp>

#include "tests/support/run_berth.h"

namespace berth::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::string k_projects = std::string(BERTH_TESTDATA) + "/projects";
const std::string k_shop = k_projects + "/shop";

/// Expected files write the project directory as ${PROJECT_DIR}.
std::string expected(const std::string& file, const std::string& dir) {
  return replace_all(read_text(file), "${PROJECT_DIR}", dir);
}

/// A realistic project, the flags it is printed with, and its expected output.
struct Golden {
  std::string name;
  std::string dir;
  std::vector<std::string> args;
  std::string expected_file;
};

const Golden k_goldens[] = {
    {"shop_yaml", k_shop, {"config"}, k_shop + "/expected.yaml"},
    {"shop_json", k_shop, {"config", "--format", "json"}, k_shop + "/expected.json"},
    {"layered_two_files",
     k_projects + "/layered",
     {"-f", "compose.yaml", "-f", "compose.prod.yaml", "config"},
     k_projects + "/layered/expected.yaml"},
    {"layered_tools_json",
     k_projects + "/layered",
     {"--profile", "tools", "config", "--format", "json"},
     k_projects + "/layered/expected-tools.json"},
    {"sample_webstack",
     std::string(BERTH_TESTDATA) + "/../../samples/web-redis-nginx",
     {"config"},
     k_projects + "/webstack/expected.yaml"},
};

/// gtest prints a parameter in test listings; the name says more than its bytes.
void PrintTo(const Golden& golden, std::ostream* out) { *out << golden.name; }

class ConfigGolden : public ::testing::TestWithParam<Golden> {};

TEST_P(ConfigGolden, MatchesExpectedOutput) {
  const Golden& g = GetParam();
  const std::string dir = std::filesystem::canonical(g.dir).string();
  const auto r = run_berth(g.args, dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, expected(g.expected_file, dir));
  EXPECT_EQ(r.err, "");
}

TEST_P(ConfigGolden, OutputIsAFixedPoint) {
  const Golden& g = GetParam();
  const std::string dir = std::filesystem::canonical(g.dir).string();
  const auto first = run_berth(g.args, dir);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  // Load the printed model again (same project directory and flags other than -f).
  std::vector<std::string> again{"-f", "-", "--project-directory", dir};
  for (std::size_t i = 0; i < g.args.size(); ++i) {
    if (g.args[i] == "-f") {
      ++i;
      continue;
    }
    again.push_back(g.args[i]);
  }
  const auto second = run_berth(again, dir, {}, first.out);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(second.out, first.out);
}

INSTANTIATE_TEST_SUITE_P(Projects, ConfigGolden, ::testing::ValuesIn(k_goldens),
                         [](const auto& info) { return info.param.name; });

TEST(ConfigCli, ShellEnvironmentWinsOverDotEnv) {
  const auto r = run_berth({"config"}, k_shop, {{"WEB_PORT", "9999"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("published: \"9999\""));
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("published: \"8080\"")));
}

TEST(ConfigCli, ListsServicesVolumesNetworksProfilesImages) {
  EXPECT_EQ(run_berth({"config", "--services"}, k_shop).out, "cache\ndb\nweb\nworker\n");
  EXPECT_EQ(run_berth({"config", "--volumes"}, k_shop).out, "dbdata\nuploads\n");
  EXPECT_EQ(run_berth({"config", "--networks"}, k_shop).out, "back\nfront\n");
  EXPECT_EQ(run_berth({"config", "--profiles"}, k_shop).out, "cache\n");
  EXPECT_EQ(run_berth({"config", "--images"}, k_shop).out,
            "redis:7\npostgres:16\nlocalhost:5000/shop-web:2.1 # not a comment\n"
            "localhost:5000/shop-web:2.1 # not a comment\n");
}

TEST(ConfigCli, ProfilesFromTheCommandLineReplaceComposeProfiles) {
  // --profile replaces COMPOSE_PROFILES=cache from .env: cache is off, and web needs it.
  const auto off = run_berth({"--profile", "other", "config", "--services"}, k_shop);
  EXPECT_EQ(off.exit_code, 1);
  EXPECT_EQ(off.err,
            "berth: error: service \"web\" depends on service \"cache\", which is disabled by "
            "its profiles; enable one with --profile\n");
  const auto on = run_berth({"--profile", "cache", "config", "--services"}, k_shop);
  EXPECT_EQ(on.out, "cache\ndb\nweb\nworker\n");
}

TEST(ConfigCli, ServicesOutsideActiveProfilesAreLeftOut) {
  TempDir dir;
  dir.write("compose.yaml",
            "services:\n  web:\n    image: a\n  debug:\n    image: b\n    profiles: [dev]\n"
            "  tools:\n    image: c\n    profiles: [ops, dev]\n");
  EXPECT_EQ(run_berth({"config", "--services"}, dir.path()).out, "web\n");
  EXPECT_EQ(run_berth({"--profile", "ops", "config", "--services"}, dir.path()).out,
            "tools\nweb\n");
  EXPECT_EQ(run_berth({"config", "--services"}, dir.path(), {{"COMPOSE_PROFILES", "dev"}}).out,
            "debug\ntools\nweb\n");
  EXPECT_EQ(run_berth({"--profile", "*", "config", "--services"}, dir.path()).out,
            "debug\ntools\nweb\n");
}

TEST(ConfigCli, DependencyOnDisabledServiceNamesBoth) {
  TempDir dir;
  dir.write("compose.yaml",
            "services:\n  web:\n    image: a\n    depends_on: [db]\n"
            "  db:\n    image: b\n    profiles: [debug]\n");
  const auto r = run_berth({"config"}, dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "berth: error: service \"web\" depends on service \"db\", which is disabled by its "
            "profiles; enable one with --profile\n");
}

TEST(ConfigCli, QuietPrintsNothing) {
  const auto r = run_berth({"config", "-q"}, k_shop);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
}

TEST(ConfigCli, OutputFlagWritesTheFile) {
  TempDir out;
  const std::string file = out.path() + "/resolved.yaml";
  const auto r = run_berth({"config", "-o", file}, k_shop);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(read_text(file), expected(k_shop + "/expected.yaml", k_shop));
}

TEST(ConfigCli, HashIsStableAcrossKeyOrderAndFormatting) {
  TempDir a;
  TempDir b;
  a.write("compose.yaml",
          "services:\n  web:\n    image: nginx\n    environment: [A=1, B=2]\n"
          "    ports: ['8080:80']\n");
  b.write("compose.yaml",
          "services:\n  web:\n    ports:\n      - target: 80\n        published: 8080\n"
          "    environment:\n      B: 2\n      A: '1'\n    image: \"nginx\"\n");
  const auto ha = run_berth({"-p", "same", "config", "--hash", "web"}, a.path());
  const auto hb = run_berth({"-p", "same", "config", "--hash", "*"}, b.path());
  ASSERT_EQ(ha.exit_code, 0) << ha.err;
  EXPECT_EQ(ha.out, hb.out);
  EXPECT_THAT(ha.out, ::testing::MatchesRegex("web [0-9a-f]{64}\n"));
  // ... and changes when something the container runs with changes.
  b.write("compose.yaml",
          "services:\n  web:\n    image: nginx\n    environment: [A=1, B=3]\n"
          "    ports: ['8080:80']\n");
  EXPECT_NE(run_berth({"-p", "same", "config", "--hash", "web"}, b.path()).out, ha.out);
}

TEST(ConfigCli, HashIgnoresDependsOnAndScale) {
  TempDir a;
  a.write("compose.yaml", "services:\n  web:\n    image: nginx\n  db:\n    image: pg\n");
  const auto before = run_berth({"config", "--hash", "web"}, a.path());
  a.write("compose.yaml",
          "services:\n  web:\n    image: nginx\n    scale: 2\n    depends_on: [db]\n"
          "  db:\n    image: pg\n");
  const auto after = run_berth({"config", "--hash", "web"}, a.path());
  ASSERT_EQ(after.exit_code, 0) << after.err;
  EXPECT_EQ(before.out, after.out);
}

TEST(ConfigCli, ReadsStandardInput) {
  TempDir dir;
  const auto r = run_berth({"-f", "-", "-p", "piped", "config", "--services"}, dir.path(), {},
                           "services:\n  one:\n    image: busybox\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "one\n");
}

TEST(ConfigCli, DiscoversFilesUpwardWithOverride) {
  TempDir dir;
  dir.write("compose.yaml", "services:\n  web:\n    image: a\n");
  dir.write("compose.override.yaml", "services:\n  web:\n    image: b\n");
  dir.write("sub/deeper/.keep", "");
  const auto r = run_berth({"config", "--images"}, dir.path() + "/sub/deeper");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "b\n");
}

TEST(ConfigCli, ComposeFileVariableWithSeparator) {
  TempDir dir;
  dir.write("one.yaml", "services:\n  web:\n    image: a\n");
  dir.write("two.yaml", "services:\n  db:\n    image: b\n");
  const auto r =
      run_berth({"config", "--services"}, dir.path(),
                {{"COMPOSE_FILE", "one.yaml;two.yaml"}, {"COMPOSE_PATH_SEPARATOR", ";"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "db\nweb\n");
}

TEST(ConfigCli, ProjectNamePrecedence) {
  TempDir dir;
  dir.write("compose.yaml", "name: from-file\nservices:\n  web:\n    image: a\n");
  auto name_line = [](const std::string& out) { return out.substr(0, out.find('\n')); };
  EXPECT_EQ(name_line(run_berth({"config"}, dir.path()).out), "name: from-file");
  EXPECT_EQ(name_line(run_berth({"config"}, dir.path(), {{"COMPOSE_PROJECT_NAME", "env"}}).out),
            "name: env");
  EXPECT_EQ(
      name_line(
          run_berth({"-p", "flag", "config"}, dir.path(), {{"COMPOSE_PROJECT_NAME", "env"}}).out),
      "name: flag");
}

TEST(ConfigCli, InvalidProjectNameIsRefused) {
  TempDir dir;
  dir.write("compose.yaml", "services:\n  web:\n    image: a\n");
  const auto r = run_berth({"-p", "My App", "config"}, dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "berth: error: invalid project name \"My App\" (-p): must consist only of lowercase "
            "alphanumeric characters, hyphens, and underscores as well as start with a letter "
            "or number\n");
}

TEST(ConfigCli, UnknownKeyNamesFileLineAndPath) {
  TempDir dir;
  dir.write("compose.yaml", "services:\n  web:\n    imagee: nginx\n");
  const auto r = run_berth({"config"}, dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, StartsWith("berth: error: compose.yaml:3:5: services.web.imagee"));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
}

TEST(ConfigCli, YamlSyntaxErrorNamesFileLineColumn) {
  TempDir dir;
  dir.write("compose.yaml", "services:\n  web:\n    image: [nginx\n");
  const auto r = run_berth({"config"}, dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, ::testing::MatchesRegex("berth: error: compose.yaml:[0-9]+:[0-9]+: .*\n"));
}

TEST(ConfigCli, MissingRequiredVariableNamesItAndItsMessage) {
  TempDir dir;
  dir.write("compose.yaml", "services:\n  web:\n    image: \"${IMAGE:?set IMAGE first}\"\n");
  const auto r = run_berth({"config"}, dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("compose.yaml:3:12"));
  EXPECT_THAT(r.err, HasSubstr("required variable IMAGE is missing a value: set IMAGE first"));
}

TEST(ConfigCli, UnsetVariableWarnsOnce) {
  TempDir dir;
  dir.write("compose.yaml",
            "services:\n  web:\n    image: \"nginx${SUFFIX}\"\n    command: echo $SUFFIX\n");
  const auto r = run_berth({"config", "-q"}, dir.path());
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.err,
            "berth: warning: The \"SUFFIX\" variable is not set. Defaulting to a blank string.\n");
}

TEST(ConfigCli, DependencyCycleIsNamedStably) {
  TempDir dir;
  dir.write("compose.yaml",
            "services:\n  b:\n    image: x\n    depends_on: [a]\n"
            "  a:\n    image: x\n    depends_on: [b]\n");
  const auto r = run_berth({"config"}, dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "berth: error: dependency cycle: a -> b -> a\n");
}

TEST(ConfigCli, SemanticErrorsNameServiceAndKey) {
  struct Case {
    std::string yaml;
    std::string error;
  };
  const Case cases[] = {
      {"services:\n  web:\n    restart: always\n",
       "service \"web\" has neither an image nor a build context specified"},
      {"services:\n  web:\n    image: a\n    networks: [nope]\n",
       "service \"web\" refers to undefined network \"nope\""},
      {"services:\n  web:\n    image: a\n    volumes: ['data:/data']\n",
       "service \"web\" refers to undefined volume \"data\""},
      {"services:\n  web:\n    image: a\n    secrets: [key]\n",
       "service \"web\" refers to undefined secret \"key\""},
      {"services:\n  web:\n    image: a\n    depends_on: [db]\n",
       "service \"web\" refers to undefined service \"db\" (depends_on)"},
      {"services:\n  web:\n    image: a\n    network_mode: host\n    networks: [default]\n",
       "service \"web\" declares mutually exclusive `network_mode` and `networks`"},
      {"services:\n  web:\n    image: a\n    container_name: w\n    scale: 2\n",
       "services.web: container_name \"w\" cannot be used with more than one replica"},
      {"services:\n  web:\n    image: a\n    scale: 2\n    deploy: {replicas: 3}\n",
       "services.web: scale (2) and deploy.replicas (3) disagree; set only one of them"},
  };
  for (const auto& c : cases) {
    TempDir dir;
    dir.write("compose.yaml", c.yaml);
    const auto r = run_berth({"config"}, dir.path());
    EXPECT_EQ(r.exit_code, 1) << c.yaml;
    EXPECT_EQ(r.err, "berth: error: " + c.error + "\n") << c.yaml;
  }
}

TEST(ConfigCli, NoFileFound) {
  TempDir dir;
  const auto r = run_berth({"config"}, dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, StartsWith("berth: error: no configuration file provided: not found"));
}

TEST(ConfigCli, NoInterpolateKeepsVariables) {
  TempDir dir;
  dir.write("compose.yaml", "services:\n  web:\n    image: \"nginx:${TAG}\"\n");
  const auto r = run_berth({"config", "--no-interpolate"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("image: nginx:${TAG}"));
}

TEST(ConfigCli, IncludeAndExtendsAcrossFiles) {
  TempDir dir;
  dir.write("compose.yaml",
            "include:\n  - lib/db.yaml\nservices:\n  web:\n    extends:\n      file: base.yaml\n"
            "      service: app\n    depends_on: [db]\n");
  dir.write("base.yaml", "services:\n  app:\n    image: app:${TAG:-1}\n    env_file: app.env\n");
  dir.write("app.env", "MODE=base\n");
  dir.write("lib/db.yaml", "services:\n  db:\n    image: pg:${PG}\n    volumes: [./data:/data]\n");
  dir.write("lib/.env", "PG=16\n");
  const auto r = run_berth({"config", "--format", "json"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto json = nlohmann::json::parse(r.out);
  EXPECT_EQ(json["services"]["web"]["image"], "app:1");
  EXPECT_EQ(json["services"]["web"]["environment"]["MODE"], "base");
  EXPECT_EQ(json["services"]["db"]["image"], "pg:16");
  EXPECT_EQ(json["services"]["db"]["volumes"][0]["source"], dir.path() + "/lib/data");
}

TEST(ConfigCli, ObsoleteVersionKeyWarnsAndIsDropped) {
  TempDir dir;
  dir.write("compose.yaml", "version: '3.8'\nservices:\n  web:\n    image: nginx\n");
  const auto r = run_berth({"config"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err,
            "berth: warning: compose.yaml: the attribute `version` is obsolete, it will be "
            "ignored\n");
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("version")));
}

TEST(ConfigCli, SelectedServicesComeWithTheirDependencies) {
  TempDir dir;
  dir.write("compose.yaml",
            "services:\n  web:\n    image: a\n    depends_on: [api]\n  api:\n    image: b\n"
            "    links: [db]\n  db:\n    image: c\n  other:\n    image: d\n");
  EXPECT_EQ(run_berth({"config", "--services", "web"}, dir.path()).out, "api\ndb\nweb\n");
  const auto missing = run_berth({"config", "web", "ghost"}, dir.path());
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err, "berth: error: no such service: ghost\n");
}

TEST(ConfigCli, BadFlagsAndMissingFilesAreOneLineErrors) {
  TempDir dir;
  dir.write("compose.yaml", "services:\n  web:\n    image: a\n");
  const auto level = run_berth({"--log-level", "loud", "config"}, dir.path());
  EXPECT_EQ(level.exit_code, 1);
  EXPECT_EQ(level.err,
            "berth: error: unknown log level \"loud\" (trace, debug, info, warning, error, off)\n");
  const auto file = run_berth({"-f", "nope.yaml", "config"}, dir.path());
  EXPECT_EQ(file.exit_code, 1);
  EXPECT_EQ(file.err, "berth: error: nope.yaml: no such file\n");
  const auto env = run_berth({"--env-file", "nope.env", "config"}, dir.path());
  EXPECT_EQ(env.exit_code, 1);
  EXPECT_EQ(env.err, "berth: error: " + dir.path() +
                         "/nope.env: cannot read env file: No such file or directory\n");
  const auto hash = run_berth({"config", "--hash", "ghost"}, dir.path());
  EXPECT_EQ(hash.exit_code, 1);
  EXPECT_EQ(hash.err, "berth: error: no such service: ghost\n");
  const auto format = run_berth({"config", "--format", "toml"}, dir.path());
  EXPECT_EQ(format.exit_code, 2);
  EXPECT_THAT(format.err, StartsWith("berth: error: --format: toml not in {yaml,json}"));
}

TEST(ConfigCli, ResetRemovesSingleEnvironmentAndLabelEntries) {
  TempDir dir;
  dir.write("compose.yaml",
            "services:\n  web:\n    image: x\n    environment: {A: '1', B: '2'}\n"
            "    labels: [keep, drop=1]\n");
  dir.write("compose.override.yaml",
            "services:\n  web:\n    environment:\n      B: !reset\n    labels:\n"
            "      drop: !reset\n");
  const auto r = run_berth({"config", "--format", "json"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto web = nlohmann::json::parse(r.out)["services"]["web"];
  EXPECT_EQ(web["environment"], nlohmann::json({{"A", "1"}}));
  EXPECT_EQ(web["labels"], nlohmann::json({{"keep", ""}}));
}

TEST(ConfigCli, VersionAndUnknownCommand) {
  TempDir dir;
  const auto v = run_berth({"--version"}, dir.path());
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_THAT(v.out, StartsWith("berth version "));
  const auto bad = run_berth({"frobnicate"}, dir.path());
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_THAT(bad.err, StartsWith("berth: error: "));
}

}  // namespace
}  // namespace berth::testing
