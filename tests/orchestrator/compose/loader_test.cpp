// The whole loader on files in a temporary directory, with an injected environment.
#include "orchestrator/compose/loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "orchestrator/compose/emit.h"
#include "tests/support/run_berth.h"
#include "util/error.h"

namespace berth::compose {
namespace {

using ::testing::HasSubstr;

class Loader : public ::testing::Test {
 protected:
  Project load(std::map<std::string, std::string> env = {}, LoadOptions options = {}) {
    options.working_dir = m_dir.path();
    env.emplace("HOME", "/home/user");
    options.environment = env;
    return load_project(options);
  }

  std::string error(std::map<std::string, std::string> env = {}, LoadOptions options = {}) {
    try {
      load(std::move(env), std::move(options));
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  }

  std::string write(const std::string& name, const std::string& content) {
    return m_dir.write(name, content);
  }

  std::string scalar(const Project& p, const std::string& service, const std::string& key) {
    return p.model["services"][service][key].Scalar();
  }

  berth::testing::TempDir m_dir;
};

TEST_F(Loader, ShellWinsOverDotEnvAndDotEnvIsInterpolated) {
  write("compose.yaml", "services:\n  web:\n    image: \"${IMAGE}:${TAG}\"\n");
  write(".env", "BASE=app\nIMAGE=${BASE}-web\nTAG=from-dotenv\n");
  EXPECT_EQ(scalar(load(), "web", "image"), "app-web:from-dotenv");
  EXPECT_EQ(scalar(load({{"TAG", "from-shell"}}), "web", "image"), "app-web:from-shell");
}

TEST_F(Loader, EnvFileFlagReplacesDotEnvAndLaterFilesWin) {
  write("compose.yaml", "services:\n  web:\n    image: \"${A}-${B}\"\n");
  write(".env", "A=dotenv\nB=dotenv\n");
  write("one.env", "A=one\nB=one\n");
  write("two.env", "B=two\n");
  LoadOptions options;
  options.env_files = {"one.env", "two.env"};
  EXPECT_EQ(scalar(load({}, options), "web", "image"), "one-two");
}

TEST_F(Loader, ComposeDisableEnvFileSkipsDotEnv) {
  write("compose.yaml", "services:\n  web:\n    image: \"x${A:-unset}\"\n");
  write(".env", "A=set\n");
  EXPECT_EQ(scalar(load({{"COMPOSE_DISABLE_ENV_FILE", "true"}}), "web", "image"), "xunset");
}

TEST_F(Loader, ProjectNameFromDotEnvAndVisibleToInterpolation) {
  write("compose.yaml", "services:\n  web:\n    image: \"img-${COMPOSE_PROJECT_NAME}\"\n");
  write(".env", "COMPOSE_PROJECT_NAME=fromdotenv\n");
  const Project p = load();
  EXPECT_EQ(p.name, "fromdotenv");
  EXPECT_EQ(scalar(p, "web", "image"), "img-fromdotenv");
}

TEST_F(Loader, DirectoryNameIsNormalised) {
  write("My_App.Dir/compose.yaml", "services:\n  web:\n    image: x\n");
  LoadOptions options;
  options.files = {"My_App.Dir/compose.yaml"};
  EXPECT_EQ(load({}, options).name, "my_appdir");
}

TEST_F(Loader, EnvironmentKeyAloneTakesTheShellValue) {
  write("compose.yaml",
        "services:\n  web:\n    image: x\n    environment: [FROM_SHELL, UNSET, SET=1]\n");
  const Project p = load({{"FROM_SHELL", "hello"}});
  const YAML::Node env = p.model["services"]["web"]["environment"];
  EXPECT_EQ(env["FROM_SHELL"].Scalar(), "hello");
  EXPECT_TRUE(env["UNSET"].IsNull());
  EXPECT_EQ(env["SET"].Scalar(), "1");
}

TEST_F(Loader, EnvFileContentsGoUnderEnvironment) {
  write("compose.yaml",
        "services:\n  web:\n    image: x\n    env_file:\n      - a.env\n"
        "      - path: missing.env\n        required: false\n    environment:\n"
        "      WINS: environment\n");
  write("a.env", "WINS=env_file\nONLY=env_file\n");
  const Project p = load();
  const YAML::Node web = p.model["services"]["web"];
  EXPECT_FALSE(web["env_file"]);
  EXPECT_EQ(web["environment"]["WINS"].Scalar(), "environment");
  EXPECT_EQ(web["environment"]["ONLY"].Scalar(), "env_file");
}

TEST_F(Loader, MissingRequiredEnvFileIsAnError) {
  write("compose.yaml", "services:\n  web:\n    image: x\n    env_file: nope.env\n");
  EXPECT_EQ(error(), "services.web.env_file: env file " + m_dir.path() + "/nope.env not found");
}

TEST_F(Loader, ExtendsChainAcrossFilesResolvesPathsAgainstEachFile) {
  write("compose.yaml",
        "services:\n  web:\n    extends: {file: lib/base.yaml, service: mid}\n"
        "    environment: {LEVEL: web}\n");
  write("lib/base.yaml",
        "services:\n  mid:\n    extends: root\n    volumes: ['./data:/data']\n"
        "  root:\n    image: busybox\n    environment: {LEVEL: root, ROOT: '1'}\n");
  const Project p = load();
  const YAML::Node web = p.model["services"]["web"];
  EXPECT_EQ(web["image"].Scalar(), "busybox");
  EXPECT_EQ(web["environment"]["LEVEL"].Scalar(), "web");
  EXPECT_EQ(web["environment"]["ROOT"].Scalar(), "1");
  EXPECT_EQ(web["volumes"][0]["source"].Scalar(), m_dir.path() + "/lib/data");
  EXPECT_FALSE(web["extends"]);
  EXPECT_FALSE(p.model["services"]["mid"]);  // only this file's services are in the model
}

TEST_F(Loader, ServicesExtendingOneBaseDoNotShareWhatTheyInherit) {
  // Both inherit the same environment mapping; each then gets its own env_file merged in.
  write("compose.yaml",
        "services:\n  base:\n    image: x\n    environment: {A: '1'}\n    labels: [l]\n"
        "  one:\n    extends: base\n    env_file: one.env\n"
        "  two:\n    extends: base\n    env_file: two.env\n");
  write("one.env", "X=one\n");
  write("two.env", "X=two\n");
  const Project p = load();
  const YAML::Node services = p.model["services"];
  EXPECT_EQ(services["one"]["environment"]["X"].Scalar(), "one");
  EXPECT_EQ(services["two"]["environment"]["X"].Scalar(), "two");
  EXPECT_FALSE(services["base"]["environment"]["X"]);
  EXPECT_EQ(services["base"]["environment"].size(), 1u);
}

TEST_F(Loader, MergeTagsInAnExtendedServiceApplyToTheExtendsOnly) {
  // In the second file, !override replaces base's environment for web; merging that file
  // into the first still merges web's environment with the first file's.
  write("compose.yaml", "services:\n  web:\n    image: x\n    environment: {A: '1'}\n");
  write("compose.override.yaml",
        "services:\n  base:\n    image: x\n    environment: {B: '2'}\n"
        "  web:\n    extends: base\n    environment: !override {C: '3'}\n");
  const YAML::Node env = load().model["services"]["web"]["environment"];
  EXPECT_EQ(env.size(), 2u);
  EXPECT_EQ(env["A"].Scalar(), "1");
  EXPECT_EQ(env["C"].Scalar(), "3");
}

TEST_F(Loader, ExtendsCycleIsNamed) {
  write("compose.yaml",
        "services:\n  a:\n    image: x\n    extends: b\n  b:\n    image: x\n    extends: a\n");
  // Reported where the cycle closes: resolving b, which names a again.
  EXPECT_EQ(error(), "compose.yaml: services.b.extends: circular reference: a -> b -> a");
}

TEST_F(Loader, ExtendsOfUnknownServiceIsNamed) {
  write("compose.yaml", "services:\n  a:\n    image: x\n    extends: ghost\n");
  EXPECT_EQ(error(),
            "compose.yaml: services.a.extends: service \"ghost\" not found in compose.yaml");
}

TEST_F(Loader, IncludeCycleIsNamed) {
  write("compose.yaml", "include: [other.yaml]\nservices:\n  a:\n    image: x\n");
  write("other.yaml", "include: [compose.yaml]\n");
  EXPECT_THAT(error(),
              HasSubstr("include cycle: " + m_dir.path() + "/compose.yaml -> " + m_dir.path() +
                        "/other.yaml -> " + m_dir.path() + "/compose.yaml"));
}

TEST_F(Loader, IncludedResourceDefinedTwiceIsAnError) {
  write("compose.yaml", "include: [lib.yaml]\nservices:\n  db:\n    image: x\n");
  write("lib.yaml", "services:\n  db:\n    image: y\n");
  EXPECT_EQ(error(), "compose.yaml: services.db conflicts with the one imported from lib.yaml");
}

TEST_F(Loader, OverrideFilesMergeInOrderWithResetAndOverride) {
  write("compose.yaml",
        "services:\n  web:\n    image: x\n    ports: ['80:80']\n    command: [a, b]\n"
        "    environment: {A: '1', B: '2'}\n");
  write("compose.override.yaml",
        "services:\n  web:\n    ports: !reset []\n    command: [c]\n"
        "    environment: !override {C: '3'}\n");
  const Project p = load();
  const YAML::Node web = p.model["services"]["web"];
  EXPECT_FALSE(web["ports"]);
  EXPECT_EQ(web["command"].size(), 1u);
  EXPECT_EQ(web["environment"].size(), 1u);
  EXPECT_EQ(web["environment"]["C"].Scalar(), "3");
}

TEST_F(Loader, StartOrderFollowsEveryKindOfReference) {
  write("compose.yaml",
        "services:\n  app:\n    image: x\n    depends_on: [db]\n    links: ['cache:c']\n"
        "  sidecar:\n    image: x\n    network_mode: 'service:app'\n"
        "  db:\n    image: x\n    volumes_from: ['data:ro']\n"
        "  data:\n    image: x\n  cache:\n    image: x\n");
  EXPECT_EQ(load().start_order,
            (std::vector<std::string>{"cache", "data", "db", "app", "sidecar"}));
}

TEST_F(Loader, RelativeFileFromComposeFileVariable) {
  write("deploy/stack.yaml", "services:\n  web:\n    image: x\n    volumes: ['./v:/v']\n");
  const Project p = load({{"COMPOSE_FILE", "deploy/stack.yaml"}});
  // The project directory is the first file's directory.
  EXPECT_EQ(p.working_dir, m_dir.path() + "/deploy");
  EXPECT_EQ(p.model["services"]["web"]["volumes"][0]["source"].Scalar(),
            m_dir.path() + "/deploy/v");
}

TEST_F(Loader, ProjectDirectoryFlagRebasesPaths) {
  write("compose.yaml", "services:\n  web:\n    build: ./app\n");
  LoadOptions options;
  options.project_directory = "/srv/elsewhere";
  EXPECT_EQ(load({}, options).model["services"]["web"]["build"]["context"].Scalar(),
            "/srv/elsewhere/app");
}

TEST_F(Loader, DefaultsAreFilled) {
  write("compose.yaml",
        "name: demo\nservices:\n  web:\n    build: .\n  host:\n    image: x\n"
        "    network_mode: host\nnetworks:\n  ext:\n    external: true\nvolumes:\n  v:\n");
  const Project p = load();
  EXPECT_EQ(p.model["services"]["web"]["build"]["dockerfile"].Scalar(), "Dockerfile");
  EXPECT_TRUE(p.model["services"]["web"]["networks"]["default"].IsNull());
  EXPECT_FALSE(p.model["services"]["host"]["networks"]);
  EXPECT_EQ(p.model["networks"]["default"]["name"].Scalar(), "demo_default");
  EXPECT_EQ(p.model["networks"]["ext"]["name"].Scalar(), "ext");
  EXPECT_EQ(p.model["volumes"]["v"]["name"].Scalar(), "demo_v");
  EXPECT_EQ(p.image_of("web"), "demo-web");
}

}  // namespace
}  // namespace berth::compose
