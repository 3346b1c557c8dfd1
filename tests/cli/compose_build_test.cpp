// Compose's `build:`: `berth build`, `up --build`, images built when missing, pull_policy:
// build, and a failing build that stops `up` before anything is made.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/cli/compose_fixture.h"

namespace berth::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class ComposeBuild : public ComposeCli {
 protected:
  void SetUp() override {
    ComposeCli::SetUp();
    if (IsSkipped()) return;
    m_work.write("shop/web/Dockerfile",
                 "FROM bb:1\n"
                 "ARG GREETING=hello\n"
                 "COPY page.txt /srv/page.txt\n"
                 "RUN echo \"$GREETING\" > /srv/greeting\n"
                 "CMD [\"sleep\", \"1000\"]\n");
    m_work.write("shop/web/page.txt", "version 1\n");
    write_compose(R"(
services:
  web:
    build:
      context: ./web
      args: {GREETING: bonjour}
      labels: {org.example.built-by: compose}
    stop_grace_period: 1s
    depends_on: [db]
  db:
    image: bb:1
    command: ["sleep", "1000"]
    stop_grace_period: 1s
)");
  }

  std::string exec_web(const std::string& command) {
    return project({"exec", "-T", "web", "sh", "-c", command}).out;
  }
};

TEST_P(ComposeBuild, UpBuildsAMissingImageAndUpBuildRebuildsAndRecreates) {
  auto up = project({"up", "-d"});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  EXPECT_THAT(up.err, HasSubstr("RUN echo \"$GREETING\" > /srv/greeting"));
  EXPECT_EQ(exec_web("cat /srv/page.txt /srv/greeting"), "version 1\nbonjour\n");
  // Named <project>-<service>, with the file's labels.
  const auto image = berth({"image", "inspect", "shop-web"});
  ASSERT_EQ(image.exit_code, 0) << image.err;
  EXPECT_EQ(nlohmann::json::parse(image.out)[0]["Config"]["Labels"]["org.example.built-by"],
            "compose");
  const std::string first = id_of("shop-web-1");

  // A changed context: plain `up` keeps the image it has and the container...
  m_work.write("shop/web/page.txt", "version 2\n");
  up = project({"up", "-d"});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  EXPECT_THAT(up.err, Not(HasSubstr("COPY page.txt")));
  EXPECT_EQ(id_of("shop-web-1"), first);
  // ...`up --build` builds again (the RUN before the change is cached, the COPY is not) and
  // recreates the container on the new image.
  up = project({"up", "-d", "--build"});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  EXPECT_NE(id_of("shop-web-1"), first);
  EXPECT_EQ(exec_web("cat /srv/page.txt"), "version 2\n");
  EXPECT_EQ(project({"down"}).exit_code, 0);
}

TEST_P(ComposeBuild, BuildCommandBuildsServicesAndAFailureNamesServiceAndLine) {
  const auto built = project({"build", "--build-arg", "GREETING=hej"});
  ASSERT_EQ(built.exit_code, 0) << built.err;
  EXPECT_THAT(built.err, HasSubstr("naming to docker.io/library/shop-web:latest done"));
  const auto run = berth({"container", "run", "--rm", "shop-web", "cat", "/srv/greeting"});
  EXPECT_EQ(run.out, "hej\n");

  m_work.write("shop/web/Dockerfile", "FROM bb:1\nRUN echo broken; exit 7\n");
  auto up = project({"up", "-d", "--build"});
  EXPECT_EQ(up.exit_code, 1);
  EXPECT_THAT(up.err, HasSubstr("service \"web\": "));
  EXPECT_THAT(up.err, HasSubstr("Dockerfile:2: RUN echo broken; exit 7"));
  // Nothing was made: the build comes before any network or container. (Its RUN steps used
  // berth's default network, which stays, as Docker's bridge does.)
  EXPECT_NE(berth({"network", "inspect", "shop_default"}).exit_code, 0);
  EXPECT_EQ(berth({"container", "ls", "-a", "-q"}).out, "") << berth({"container", "ls", "-a"}).out;
}

TEST_P(ComposeBuild, PullPolicyBuildAndAnInlineDockerfileBuildOnEveryUp) {
  write_compose(R"(
services:
  tool:
    image: shop/tool:dev
    pull_policy: build
    build:
      dockerfile_inline: |
        FROM bb:1
        RUN cat /proc/sys/kernel/random/uuid > /stamp
        CMD ["sleep", "1000"]
      no_cache: true
    stop_grace_period: 1s
)");
  auto up = project({"up", "-d"});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  const auto stamp = project({"exec", "-T", "tool", "cat", "/stamp"}).out;
  up = project({"up", "-d"});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  EXPECT_THAT(up.err, HasSubstr("RUN cat /proc/sys/kernel/random/uuid"));
  EXPECT_NE(project({"exec", "-T", "tool", "cat", "/stamp"}).out, stamp);
  EXPECT_EQ(berth({"image", "inspect", "shop/tool:dev"}).exit_code, 0);
}

INSTANTIATE_TEST_SUITE_P(Runtimes, ComposeBuild, ::testing::Values("crun", "runc"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace berth::testing
