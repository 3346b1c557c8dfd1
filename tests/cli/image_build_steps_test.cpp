// `berth image build`: the instructions' finer points, end to end (crun and runc): ADD's
// archives and URLs, COPY's owners, modes and heredocs, RUN's mounts and SHELL, ONBUILD, and
// stages built side by side.
#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/cli/build_fixture.h"
#include "tests/support/background_berth.h"
#include "tests/support/registry_server.h"
#include "tests/support/terminal_session.h"

namespace berth::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* k_base = k_busybox_base;

class ImageBuildSteps : public BuildCli {};

TEST_P(ImageBuildSteps, AddExtractsLocalArchivesAndDownloadsUrls) {
  // A gzip-compressed tar of the context: ADD unpacks it where COPY would copy the file.
  write_context("pkg/bin/tool", "#!/bin/sh\necho tool\n");
  ASSERT_EQ(std::system(("tar -C " + m_context + "/pkg -czf " + m_context + "/pkg.tgz .").c_str()),
            0);
  TinyHttpServer server([](const SeenRequest& request) {
    if (request.target == "/files/notes.txt") return CannedResponse{200, {}, "downloaded\n"};
    return CannedResponse{404, {}, "no\n"};
  });
  const auto built = build(std::string(k_base) + "ADD pkg.tgz /opt/\n" + "COPY pkg.tgz /copied/\n" +
                               "ADD " + server.url() + "/files/notes.txt /notes/\n",
                           {"-t", "add:1"});
  ASSERT_EQ(built.exit_code, 0) << built.err;
  EXPECT_EQ(in_image("add:1",
                     "cat /opt/bin/tool; ls /copied; cat /notes/notes.txt; "
                     "stat -c %a /notes/notes.txt"),
            "#!/bin/sh\necho tool\npkg.tgz\ndownloaded\n600\n");
  // A URL that fails names itself and the line.
  const auto failed =
      build(std::string(k_base) + "ADD " + server.url() + "/missing /x\n", {"-t", "add:2"});
  EXPECT_NE(failed.exit_code, 0);
  EXPECT_THAT(failed.err,
              HasSubstr("Dockerfile:3: ADD " + server.url() + "/missing: the server answered 404"));
}

TEST_P(ImageBuildSteps, CopySetsOwnersModesAndWritesHeredocs) {
  write_context("conf/app.conf", "key=value\n");
  const auto built = build(std::string(k_base) +
                               "RUN echo 'app:x:1000:1000::/home/app:/bin/sh' >> /etc/passwd && "
                               "echo 'app:x:1000:' >> /etc/group\n"
                               "COPY --chown=app:app --chmod=640 conf/ /etc/app/\n"
                               "COPY --chown=1234 conf/app.conf /numeric.conf\n"
                               "COPY <<EOF /etc/motd\nwelcome\nEOF\n"
                               "USER app\n"
                               "WORKDIR /home/app/work\n",
                           {"-t", "copy:1"});
  ASSERT_EQ(built.exit_code, 0) << built.err;
  EXPECT_EQ(in_image("copy:1",
                     "stat -c '%U:%G %a' /etc/app/app.conf; stat -c '%u:%g' "
                     "/numeric.conf; cat /etc/motd; stat -c %U /home/app/work"),
            "app:app 640\n1234:1234\nwelcome\napp\n");
  const auto unknown =
      build(std::string(k_base) + "COPY --chown=nobody-here conf/ /x/\n", {"-t", "copy:2"});
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_THAT(unknown.err, HasSubstr("Dockerfile:3: --chown=nobody-here: unable to find user"));
}

TEST_P(ImageBuildSteps, RunMountsShellAndOnbuild) {
  write_context("input/data.txt", "bound from the context\n");
  const std::string dockerfile =
      std::string(k_base) +
      "RUN --mount=type=cache,target=/cache echo run >> /cache/log && cat /cache/log | wc -l "
      "> /runs\n"
      "RUN --mount=type=bind,source=input,target=/in cat /in/data.txt > /from-bind\n"
      "SHELL [\"/bin/sh\", \"-e\", \"-c\"]\n"
      "RUN echo \"$0 $1\" > /shell-args || true\n"
      "ONBUILD RUN echo triggered > /onbuild\n"
      "CMD echo shell form\n";
  ASSERT_EQ(build(dockerfile, {"-t", "steps:1"}).exit_code, 0);
  EXPECT_EQ(in_image("steps:1", "cat /runs /from-bind; test -e /onbuild || echo not yet"),
            "1\nbound from the context\nnot yet\n");
  // The cache mount outlives the build: a build without the layer cache sees the first's.
  const auto again = berth({"image", "build", "--no-cache", "-q", "-t", "steps:2", m_context});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(in_image("steps:2", "cat /runs"), "2\n");
  // The SHELL runs shell-form commands: CMD included.
  const auto config = nlohmann::json::parse(berth({"image", "inspect", "steps:1"}).out)[0];
  EXPECT_EQ(config["Config"]["Cmd"],
            nlohmann::json::parse(R"(["/bin/sh","-e","-c","echo shell form"])"));
  // ONBUILD runs in the image built FROM it, and is not passed on.
  const auto child = build("FROM steps:1\nRUN cat /onbuild\n", {"-t", "child:1"});
  ASSERT_EQ(child.exit_code, 0) << child.err;
  EXPECT_THAT(child.err, HasSubstr(" triggered\n"));
  EXPECT_FALSE(
      nlohmann::json::parse(berth({"image", "inspect", "child:1"}).out)[0]["Config"].contains(
          "OnBuild"));
}

TEST_P(ImageBuildSteps, IndependentStagesBuildSideBySide) {
  // Each stage waits until the other has started: they can only both finish together.
  const auto built = build(std::string("FROM scratch AS base\nADD rootfs.tar /\n") +
                               "FROM base AS left\n"
                               "RUN --mount=type=cache,id=meet,target=/meet touch /meet/left && "
                               "for i in $(seq 100); do test -e /meet/right && break; sleep 0.1; "
                               "done; test -e /meet/right && echo left > /out\n"
                               "FROM base AS right\n"
                               "RUN --mount=type=cache,id=meet,target=/meet touch /meet/right && "
                               "for i in $(seq 100); do test -e /meet/left && break; sleep 0.1; "
                               "done; test -e /meet/left && echo right > /out\n"
                               "FROM base\n"
                               "COPY --from=left /out /left\n"
                               "COPY --from=right /out /right\n",
                           {"-t", "stages:1"});
  ASSERT_EQ(built.exit_code, 0) << built.err;
  EXPECT_EQ(in_image("stages:1", "cat /left /right"), "left\nright\n");
}

TEST_P(ImageBuildSteps, AMissingBaseIsPulledAndPullPullsAgain) {
  RegistryServer registry;
  const std::string base = registry.host_port() + "/base/bb:1";
  ASSERT_EQ(berth({"image", "tag", "bb:1", base}).exit_code, 0);
  ASSERT_EQ(berth({"image", "push", "-q", base}).exit_code, 0);
  ASSERT_EQ(berth({"image", "rm", base}).exit_code, 0);
  const std::string dockerfile = "FROM " + base + "\nRUN echo built > /built\n";
  auto built = build(dockerfile, {"-t", "pulled:1"});
  ASSERT_EQ(built.exit_code, 0) << built.err;
  EXPECT_THAT(built.err, HasSubstr("resolve " + base));
  EXPECT_EQ(in_image("pulled:1", "cat /built"), "built\n");
  // Present now: no pull, and the RUN is cached.
  built = build(dockerfile, {"-t", "pulled:1"});
  ASSERT_EQ(built.exit_code, 0) << built.err;
  EXPECT_THAT(built.err, Not(HasSubstr("resolve ")));
  EXPECT_THAT(built.err, HasSubstr("CACHED"));
  // --pull asks the registry again.
  write_context("Dockerfile", dockerfile);
  built = berth({"image", "build", "--pull", "--progress", "plain", "-t", "pulled:1", m_context});
  ASSERT_EQ(built.exit_code, 0) << built.err;
  EXPECT_THAT(built.err, HasSubstr("resolve " + base));
}

TEST_P(ImageBuildSteps, CtrlCStopsTheRunningStepAndLeavesNothing) {
  write_context("Dockerfile", std::string(k_base) + "RUN echo started; sleep 60; echo never\n");
  BackgroundBerth build({"image", "build", "--progress", "plain", "-t", "slow:1", m_context},
                        m_work.path(),
                        {{"BERTH_ROOT", m_work.path() + "/root"},
                         {"BERTH_RUNROOT", m_work.path() + "/run"},
                         {"BERTH_RUNTIME", GetParam()},
                         {"BERTH_DNS_UPSTREAM", m_dns_upstream}});
  ASSERT_TRUE(eventually([&] { return build.err().find(" started\n") != std::string::npos; }))
      << build.err();
  build.signal(SIGINT);
  EXPECT_EQ(build.wait(), 1);
  EXPECT_THAT(build.err(), HasSubstr("Dockerfile:3: RUN echo started; sleep 60; echo never: "
                                     "interrupted"));
  // The step's container is gone at once (TearDown checks mounts and networks too).
  EXPECT_EQ(berth({"container", "ls", "-a", "-q"}).out, "");
  EXPECT_NE(berth({"image", "inspect", "slow:1"}).exit_code, 0);
}

TEST_P(ImageBuildSteps, OnATerminalEachStepIsOneLineAndOutputOnlyOnFailure) {
  write_context("Dockerfile", std::string(k_base) + "RUN echo quiet-on-success\n");
  const std::map<std::string, std::string> env = {{"BERTH_ROOT", m_work.path() + "/root"},
                                                  {"BERTH_RUNROOT", m_work.path() + "/run"},
                                                  {"BERTH_RUNTIME", GetParam()},
                                                  {"BERTH_DNS_UPSTREAM", m_dns_upstream}};
  {
    TerminalSession session({"image", "build", "-t", "tty:1", m_context}, m_work.path(), env);
    const std::string screen = session.read_until("=> exporting to image");
    EXPECT_EQ(session.wait(), 0);
    EXPECT_THAT(screen, HasSubstr(" => [3/3] RUN echo quiet-on-success  "));
    EXPECT_THAT(screen, HasSubstr("[+] Building "));
    EXPECT_THAT(screen, Not(HasSubstr("#3 ")));  // not the plain format
    EXPECT_THAT(screen, Not(HasSubstr(" quiet-on-success\r\n")));
  }
  write_context("Dockerfile", std::string(k_base) + "RUN echo shown-on-failure; exit 2\n");
  TerminalSession failing({"image", "build", "-t", "tty:2", m_context}, m_work.path(), env);
  const std::string screen = failing.read_until("exit code: 2");
  EXPECT_EQ(failing.wait(), 1);
  EXPECT_THAT(screen, HasSubstr(" shown-on-failure"));
}

INSTANTIATE_TEST_SUITE_P(Runtimes, ImageBuildSteps, ::testing::Values("crun", "runc"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace berth::testing
