// `berth push`, `berth pull` and `up`'s pull policy against a real registry on loopback:
// the project's images go up and come back, and an image that cannot come stops `up`
// before anything is made.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/cli/compose_fixture.h"
#include "tests/support/registry_server.h"

namespace berth::testing {
namespace {

using ::testing::HasSubstr;

class ComposeTransfer : public ComposeCli {
 protected:
  void SetUp() override {
    ComposeCli::SetUp();
    if (IsSkipped()) return;
    m_registry = std::make_unique<RegistryServer>();
    m_image = m_registry->host_port() + "/shop/web:1";
    write_compose(R"(
services:
  web:
    image: )" + m_image +
                  R"(
    build: .
    command: ["sleep", "1000"]
    stop_grace_period: 1s
  cache:
    image: )" + m_image +
                  R"(
    pull_policy: never
    command: ["sleep", "1000"]
    stop_grace_period: 1s
    profiles: [extra]
)");
  }

  std::unique_ptr<RegistryServer> m_registry;
  std::string m_image;
};

TEST_P(ComposeTransfer, PushThenPullBringsTheServiceImageBack) {
  ASSERT_EQ(berth({"image", "tag", "bb:1", m_image}).exit_code, 0);
  const auto push = project({"push"});
  ASSERT_EQ(push.exit_code, 0) << push.err;
  EXPECT_THAT(push.err, HasSubstr("Image " + m_image + "  Pushed"));
  ASSERT_EQ(berth({"image", "rm", m_image}).exit_code, 0);

  // web builds from source: told not to build, up refuses it while its image is missing...
  auto up = project({"up", "-d", "--no-build"});
  EXPECT_EQ(up.exit_code, 1);
  EXPECT_THAT(up.err, HasSubstr("service \"web\": No such image: " + m_image +
                                " (and --no-build was given)"));
  EXPECT_EQ(berth({"network", "ls", "-q"}).out, "");  // nothing was made
  // ...and pull brings it back from the registry.
  const auto pull = project({"pull"});
  ASSERT_EQ(pull.exit_code, 0) << pull.err;
  EXPECT_THAT(pull.err, HasSubstr("Image " + m_image + "  Pulled"));
  up = project({"up", "-d"});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  EXPECT_EQ(running().size(), 1u);
}

TEST_P(ComposeTransfer, PullPolicyNeverRefusesAMissingImageBeforeAnythingIsMade) {
  auto up = project({"--profile", "extra", "up", "-d", "cache"});
  EXPECT_EQ(up.exit_code, 1);
  EXPECT_THAT(up.err, HasSubstr("service \"cache\": No such image: " + m_image));
  EXPECT_EQ(berth({"network", "ls", "-q"}).out, "");
  // --pull missing overrides the service's policy: the image comes from the registry.
  ASSERT_EQ(berth({"image", "tag", "bb:1", m_image}).exit_code, 0);
  ASSERT_EQ(berth({"image", "push", "-q", m_image}).exit_code, 0);
  ASSERT_EQ(berth({"image", "rm", m_image}).exit_code, 0);
  up = project({"--profile", "extra", "up", "-d", "--pull", "missing", "cache"});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  EXPECT_THAT(up.err, HasSubstr("Image " + m_image + "  Pulled"));
  // A reference no registry answers for fails the pull, naming the service.
  write_compose("services:\n  gone: {image: \"127.0.0.1:9/nothing/here:1\"}\n");
  up = project({"up", "-d", "--remove-orphans"});
  EXPECT_EQ(up.exit_code, 1);
  EXPECT_THAT(up.err, HasSubstr("service \"gone\": pull 127.0.0.1:9/nothing/here:1"));
  EXPECT_EQ(berth({"container", "inspect", "shop-gone-1"}).exit_code, 1);
}

INSTANTIATE_TEST_SUITE_P(Runtimes, ComposeTransfer, ::testing::Values("crun", "runc"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace berth::testing
