// `down --rmi local|all` and the rule under it, as in Docker: an image a container uses
// keeps its last name unless forced, and its layers for as long as the container exists.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/cli/compose_fixture.h"

namespace berth::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class ComposeRmi : public ComposeCli {
 protected:
  /// An image of its own (its own id, not bb:1's) from the fixture's root filesystem.
  void import_distinct(const std::string& name) {
    const auto imported =
        berth({"image", "import", "-c", "ENV IMAGE=" + name, m_work.path() + "/rootfs.tar", name});
    ASSERT_EQ(imported.exit_code, 0) << imported.err;
  }
  /// "repository:tag" of every image, one per line.
  std::string image_names() {
    std::string names;
    for (const auto& line : split_lines(berth({"image", "ls", "--format", "json"}).out)) {
      const auto image = nlohmann::json::parse(line);
      names +=
          image["Repository"].get<std::string>() + ":" + image["Tag"].get<std::string>() + "\n";
    }
    return names;
  }
};

TEST_P(ComposeRmi, LocalRemovesOnlyTheImagesWithoutAnImageName) {
  // What `build:` would have made for a service without `image:`.
  ASSERT_EQ(berth({"image", "tag", "bb:1", "shop-built"}).exit_code, 0);
  write_compose(R"(
services:
  app: {image: bb:1, command: ["sleep", "1000"], stop_grace_period: 100ms}
  built: {build: ., command: ["sleep", "1000"], stop_grace_period: 100ms}
)");
  ASSERT_EQ(project({"up", "-d"}).exit_code, 0);
  const auto down = project({"down", "--rmi", "local"});
  ASSERT_EQ(down.exit_code, 0) << down.err;
  EXPECT_THAT(down.err, HasSubstr("Image shop-built  Removed"));
  EXPECT_THAT(down.err, Not(HasSubstr("Image bb:1")));
  EXPECT_THAT(image_names(), Not(HasSubstr("shop-built")));
  EXPECT_THAT(image_names(), HasSubstr("bb:1\n"));
  const auto bad = project({"down", "--rmi", "some"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("--rmi"));
}

TEST_P(ComposeRmi, AllKeepsAnImageAnotherContainerUses) {
  import_distinct("held:1");
  ASSERT_EQ(
      berth({"container", "run", "-d", "--name", "keeper", "held:1", "sleep", "1000"}).exit_code,
      0);
  write_compose(R"(
services:
  app: {image: held:1, command: ["sleep", "1000"], stop_grace_period: 100ms}
  other: {image: bb:1, command: ["sleep", "1000"], stop_grace_period: 100ms}
)");
  ASSERT_EQ(project({"up", "-d"}).exit_code, 0);
  const auto down = project({"down", "--rmi", "all"});
  ASSERT_EQ(down.exit_code, 0) << down.err;
  EXPECT_THAT(down.err, HasSubstr("Image bb:1  Removed"));
  EXPECT_THAT(down.err, HasSubstr("warning: image held:1 stays: conflict: unable to remove "
                                  "repository reference \"held:1\" (must force) - container"));
  EXPECT_THAT(image_names(), HasSubstr("held:1\n"));
  EXPECT_THAT(image_names(), Not(HasSubstr("bb:1\n")));
  EXPECT_EQ(berth({"container", "exec", "keeper", "true"}).exit_code, 0);
  // Without a compose file, from the containers' labels: nothing of the project is left.
  const auto again = berth({"-p", "shop", "down", "--rmi", "all"});
  EXPECT_EQ(again.exit_code, 0) << again.err;
}

TEST_P(ComposeRmi, RemovingAnImageNeverTakesTheLayersOfAContainer) {
  import_distinct("held:1");
  ASSERT_EQ(
      berth({"container", "create", "--name", "keeper", "held:1", "cat", "/etc/passwd"}).exit_code,
      0);
  const auto refused = berth({"image", "rm", "held:1"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err, HasSubstr("conflict: unable to remove repository reference "
                                     "\"held:1\" (must force) - container"));
  const std::string id = nlohmann::json::parse(berth({"image", "inspect", "held:1"}).out)[0]["Id"];
  const auto by_id = berth({"image", "rm", id.substr(7, 12)});
  EXPECT_EQ(by_id.exit_code, 1);
  EXPECT_THAT(by_id.err, HasSubstr("(must be forced) - image is being used by stopped container"));
  // Forced, the name goes; the container still starts from its layers, and prune leaves them.
  ASSERT_EQ(berth({"image", "rm", "-f", "held:1"}).exit_code, 0);
  ASSERT_EQ(berth({"image", "prune", "-f"}).exit_code, 0);
  const auto started = berth({"container", "start", "-a", "keeper"});
  EXPECT_EQ(started.exit_code, 0) << started.err;
  EXPECT_THAT(started.out, HasSubstr("root:x:0:0"));
}

INSTANTIATE_TEST_SUITE_P(Runtimes, ComposeRmi, ::testing::Values("crun", "runc"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace berth::testing
