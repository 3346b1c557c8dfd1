// `berth run`: a one-off command in a new container of a service, its dependencies up first,
// its exit code berth's, and the container a one-off of the project that `down` removes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/cli/compose_fixture.h"

namespace berth::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr const char* k_stack = R"(
services:
  db:
    image: bb:1
    command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done"]
  app:
    image: bb:1
    depends_on: [db]
    command: ["echo", "from the file"]
    environment: {MODE: file}
    ports: ["8080"]
    restart: always
volumes:
  data: {}
)";

class ComposeRun : public ComposeCli {
 protected:
  void SetUp() override {
    ComposeCli::SetUp();
    if (!IsSkipped()) write_compose(k_stack);
  }
};

TEST_P(ComposeRun, RunsTheCommandAfterItsDependenciesAndExitsWithItsCode) {
  const auto run = project({"run", "--rm", "-e", "EXTRA=1", "app", "sh", "-c",
                            "echo $MODE $EXTRA; ping -c1 -W2 db >/dev/null && echo db; exit 4"});
  EXPECT_EQ(run.exit_code, 4) << run.err;
  EXPECT_EQ(run.out, "file 1\ndb\n");
  EXPECT_THAT(run.err, HasSubstr("Container shop-db-1  Started"));
  // --rm: the one-off is gone; its dependency stays up.
  EXPECT_EQ(split_lines(berth({"container", "ls", "-a", "-q"}).out).size(), 1u);
  // The file's command when none is given.
  EXPECT_EQ(project({"run", "--rm", "--no-deps", "app"}).out, "from the file\n");
}

TEST_P(ComposeRun, AOneOffIsLabelledAsSuchAndDownRemovesIt) {
  const auto run = project({"run", "-d", "app", "sleep", "1000"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string name = split_lines(run.out).at(0);
  EXPECT_THAT(name, StartsWith("shop-app-run-"));
  const auto labels = inspect(name)["Config"]["Labels"];
  EXPECT_EQ(labels["com.docker.compose.oneoff"], "True");
  EXPECT_FALSE(labels.contains("com.docker.compose.container-number"));
  // Ports only with --service-ports.
  EXPECT_EQ(project({"port", "app", "8080"}).exit_code, 1);
  // No restart policy for a one-off: `restart: always` does not bring it back.
  const std::string failed =
      split_lines(project({"run", "-d", "app", "sh", "-c", "exit 3"}).out).at(0);
  ASSERT_TRUE(eventually([&] { return inspect(failed)["State"]["Status"] == "exited"; }));
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_EQ(inspect(failed)["State"]["Status"], "exited");
  EXPECT_EQ(inspect(failed)["State"]["ExitCode"], 3);
  // A named volume of the project, by its name in the file.
  ASSERT_EQ(
      project({"run", "--rm", "-v", "data:/d", "app", "sh", "-c", "echo kept > /d/f"}).exit_code,
      0);
  EXPECT_EQ(project({"run", "--rm", "-v", "data:/d", "app", "cat", "/d/f"}).out, "kept\n");
  EXPECT_EQ(project({"down", "-t", "1"}).exit_code, 0);
  EXPECT_EQ(berth({"container", "ls", "-a", "-q"}).out, "");
  EXPECT_THAT(project({"run", "nosuch"}).err, HasSubstr("no such service: nosuch"));
}

INSTANTIATE_TEST_SUITE_P(Runtimes, ComposeRun, ::testing::Values("crun", "runc"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace berth::testing
