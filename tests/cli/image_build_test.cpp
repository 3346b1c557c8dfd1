// `berth image build`, end to end: real RUN steps in containers (crun and runc), layers in
// the store, the cache, multi-stage builds; each base is `FROM scratch` + `ADD rootfs.tar /`,
// the way Debian's official images are made.
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/cli/build_fixture.h"

namespace berth::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* k_base = k_busybox_base;

class ImageBuild : public BuildCli {
 protected:
  static int count(const std::string& text, const std::string& what) {
    int n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  }
};

TEST_P(ImageBuild, RunStepsAndCopiesMakeLayersTheContainerSees) {
  write_context("app/hello.txt", "hello from the context\n");
  const auto built = build(std::string(k_base) +
                               "WORKDIR /srv\n"
                               "COPY app/ ./\n"
                               "RUN echo made by run > made.txt && cat hello.txt\n",
                           {"-t", "web:1"});
  ASSERT_EQ(built.exit_code, 0) << built.err;
  // The RUN's output, in BuildKit's plain format.
  EXPECT_THAT(built.err, HasSubstr("[5/5] RUN echo made by run"));
  EXPECT_THAT(built.err, HasSubstr(" hello from the context\n"));
  EXPECT_THAT(built.err, HasSubstr("naming to docker.io/library/web:1 done"));
  const auto run = berth({"container", "run", "--rm", "web:1", "cat", "hello.txt", "made.txt"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "hello from the context\nmade by run\n");
}

TEST_P(ImageBuild, AFailingRunNamesTheStepShowsItsOutputAndLeavesNothing) {
  const auto built = build(std::string(k_base) +
                               "RUN echo before the failure\n"
                               "RUN echo about to fail; exit 3\n"
                               "RUN echo never\n",
                           {"-t", "broken:1"});
  EXPECT_NE(built.exit_code, 0);
  EXPECT_THAT(built.err, HasSubstr(" about to fail\n"));
  EXPECT_THAT(built.err, HasSubstr("Dockerfile:4: RUN echo about to fail; exit 3: process "
                                   "\"/bin/sh -c echo about to fail; exit 3\" did not complete "
                                   "successfully: exit code: 3"));
  EXPECT_THAT(built.err, Not(HasSubstr("never")));
  EXPECT_NE(berth({"image", "inspect", "broken:1"}).exit_code, 0);
  // TearDown checks that no container, mount or network is left.
}

TEST_P(ImageBuild, ASecondBuildIsCachedAndAChangedFileRebuildsFromItsStep) {
  write_context("a.txt", "one\n");
  const std::string dockerfile = std::string(k_base) +
                                 "RUN echo first > /first\n"
                                 "COPY a.txt /a.txt\n"
                                 "RUN cat /a.txt > /copy\n";
  const auto first = build(dockerfile, {"-t", "cached:1", "-q"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const auto second = build(dockerfile, {"-t", "cached:1"});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(count(second.err, " CACHED\n"), 4) << second.err;
  // The same steps give the same image: the id is the one -q printed the first time.
  EXPECT_THAT(second.err, HasSubstr("writing image " + first.out.substr(0, first.out.size() - 1)));

  write_context("a.txt", "two\n");
  const auto third = build(dockerfile, {"-t", "cached:1"});
  ASSERT_EQ(third.exit_code, 0) << third.err;
  EXPECT_EQ(count(third.err, " CACHED\n"), 2) << third.err;  // ADD and the first RUN
  EXPECT_EQ(berth({"container", "run", "--rm", "cached:1", "cat", "/copy"}).out, "two\n");
  // --no-cache runs everything again.
  const auto fourth = build(dockerfile, {"-t", "cached:1", "--no-cache"});
  ASSERT_EQ(fourth.exit_code, 0) << fourth.err;
  EXPECT_EQ(count(fourth.err, " CACHED\n"), 0) << fourth.err;
}

TEST_P(ImageBuild, AFileDeletedInALaterLayerIsGoneInTheContainer) {
  const auto built =
      build(std::string(k_base) +
                "RUN mkdir -p /data/sub && echo x > /data/sub/f && echo y > /data/keep\n"
                "RUN rm -r /data/sub && rm /etc/berth-test-marker\n",
            {"-t", "deleted:1"});
  ASSERT_EQ(built.exit_code, 0) << built.err;
  const auto run = berth({"container", "run", "--rm", "deleted:1", "sh", "-c",
                          "ls /data; test -e /etc/berth-test-marker || echo marker gone"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "keep\nmarker gone\n");
}

TEST_P(ImageBuild, TheTargetStageIsBuiltWithWhatItNeedsOnly) {
  const std::string dockerfile = std::string("FROM scratch AS base\nADD rootfs.tar /\n") +
                                 "FROM base AS builder\n"
                                 "RUN echo compiled > /artifact\n"
                                 "FROM base AS broken\n"
                                 "RUN exit 1\n"
                                 "FROM base AS final\n"
                                 "COPY --from=builder /artifact /app/artifact\n"
                                 "CMD [\"cat\", \"/app/artifact\"]\n";
  const auto built = build(dockerfile, {"-t", "multi:1", "--target", "final"});
  ASSERT_EQ(built.exit_code, 0) << built.err;
  EXPECT_THAT(built.err, HasSubstr("[builder 2/2] RUN echo compiled"));
  EXPECT_THAT(built.err, Not(HasSubstr("exit 1")));
  EXPECT_EQ(berth({"container", "run", "--rm", "multi:1"}).out, "compiled\n");
  // Without --target the last stage is built: still not the broken one.
  EXPECT_EQ(build(dockerfile, {"-t", "multi:2"}).exit_code, 0);
  // The broken stage as the target fails.
  EXPECT_NE(build(dockerfile, {"-t", "multi:3", "--target", "broken"}).exit_code, 0);
  const auto missing = build(dockerfile, {"--target", "nope"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_THAT(missing.err, HasSubstr("target stage \"nope\" could not be found"));
}

TEST_P(ImageBuild, BuildArgsReachFromRunAndCopyButNotTheImage) {
  write_context("v2.txt", "version two\n");
  const auto built = build(std::string("ARG BASE=scratch\nFROM ${BASE}\nADD rootfs.tar /\n") +
                               "ARG VERSION=1\n"
                               "ARG UNSET\n"
                               "ENV FROM_ARG=v${VERSION}\n"
                               "RUN echo \"run sees $VERSION\" > /version\n"
                               "COPY v${VERSION}.txt /copied\n",
                           {"-t", "args:1", "--build-arg", "VERSION=2", "--build-arg", "EXTRA=x",
                            "--build-arg", "no_proxy=proxy.example"});
  ASSERT_EQ(built.exit_code, 0) << built.err;
  EXPECT_THAT(built.err, HasSubstr("[Warning] One or more build-args [EXTRA] were not consumed"));
  const auto run = berth({"container", "run", "--rm", "args:1", "sh", "-c",
                          "cat /version /copied; echo $FROM_ARG; echo \"[$VERSION]\""});
  EXPECT_EQ(run.out, "run sees 2\nversion two\nv2\n[]\n");
  // A predefined ARG reaches RUN undeclared, and stays out of the history.
  const auto proxy = build(std::string(k_base) + "RUN echo \"[$no_proxy]\" > /proxy\n",
                           {"-t", "args:2", "--build-arg", "no_proxy=proxy.example"});
  ASSERT_EQ(proxy.exit_code, 0) << proxy.err;
  EXPECT_THAT(proxy.err, Not(HasSubstr("were not consumed")));
  EXPECT_EQ(berth({"container", "run", "--rm", "args:2", "cat", "/proxy"}).out,
            "[proxy.example]\n");
  EXPECT_THAT(berth({"image", "history", "--no-trunc", "args:2"}).out,
              Not(HasSubstr("proxy.example")));
}

TEST_P(ImageBuild, TheImageConfigIsWhatTheDockerfileSays) {
  const auto built = build(std::string(k_base) +
                               "ENV A=1 B=\"two words\"\n"
                               "WORKDIR /srv\nWORKDIR app\n"
                               "USER nobody\n"
                               "EXPOSE 8080 53/udp\n"
                               "LABEL org.example.name=web\n"
                               "VOLUME /data\n"
                               "STOPSIGNAL SIGINT\n"
                               "HEALTHCHECK --interval=5s --retries=2 CMD wget -q -O- localhost\n"
                               "ENTRYPOINT [\"/bin/sh\", \"-c\"]\n"
                               "CMD [\"echo hi\"]\n",
                           {"-t", "config:1", "--label", "from.cli=yes"});
  ASSERT_EQ(built.exit_code, 0) << built.err;
  const auto config = image_config("config:1");
  EXPECT_EQ(config.at("Env"), nlohmann::json::parse(R"([
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "A=1", "B=two words"])"));
  EXPECT_EQ(config.at("WorkingDir"), "/srv/app");
  EXPECT_EQ(config.at("User"), "nobody");
  EXPECT_EQ(config.at("ExposedPorts"), nlohmann::json::parse(R"({"53/udp":{},"8080/tcp":{}})"));
  EXPECT_EQ(config.at("Labels"),
            nlohmann::json::parse(R"({"from.cli":"yes","org.example.name":"web"})"));
  EXPECT_EQ(config.at("Volumes"), nlohmann::json::parse(R"({"/data":{}})"));
  EXPECT_EQ(config.at("StopSignal"), "SIGINT");
  EXPECT_EQ(config.at("Healthcheck"), nlohmann::json::parse(R"({
    "Test": ["CMD-SHELL", "wget -q -O- localhost"], "Interval": 5000000000, "Retries": 2})"));
  EXPECT_EQ(config.at("Entrypoint"), nlohmann::json::parse(R"(["/bin/sh", "-c"])"));
  EXPECT_EQ(config.at("Cmd"), nlohmann::json::parse(R"(["echo hi"])"));
  const auto run = berth({"container", "run", "--rm", "config:1"});
  EXPECT_EQ(run.out, "hi\n");
  EXPECT_EQ(berth({"container", "run", "--rm", "config:1", "id -un; pwd"}).out,
            "nobody\n/srv/app\n");
}

TEST_P(ImageBuild, DockerignoreKeepsFilesOutOfCopies) {
  write_context("src/main.txt", "main\n");
  write_context("src/secret.key", "secret\n");
  write_context("src/keep.key", "kept by an exception\n");
  write_context("logs/today.log", "noise\n");
  write_context(".dockerignore", "# comments are fine\n**/*.key\n!src/keep.key\nlogs\n");
  const auto built = build(std::string(k_base) + "COPY . /ctx/\n", {"-t", "ignore:1"});
  ASSERT_EQ(built.exit_code, 0) << built.err;
  const auto run = berth({"container", "run", "--rm", "ignore:1", "sh", "-c",
                          "cd /ctx && find src logs 2>/dev/null | sort"});
  EXPECT_EQ(run.out, "src\nsrc/keep.key\nsrc/main.txt\n");
}

TEST_P(ImageBuild, ADockerfileFromStandardInputAndAnIidFile) {
  const std::string iidfile = m_work.path() + "/iid";
  const auto built =
      berth({"image", "build", "-f", "-", "-q", "--iidfile", iidfile, m_context},
            std::string(k_base) +
                "RUN <<EOF\necho line one > /heredoc\necho line two >> /heredoc\nEOF\n");
  ASSERT_EQ(built.exit_code, 0) << built.err;
  std::ifstream in(iidfile);
  const std::string iid((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(built.out, iid + "\n");
  EXPECT_EQ(built.err, "");  // -q: nothing but the id
  EXPECT_EQ(berth({"container", "run", "--rm", iid, "cat", "/heredoc"}).out,
            "line one\nline two\n");
}

TEST_P(ImageBuild, MistakesAreReportedWithTheirLineBeforeAnythingRuns) {
  const auto unknown = build(std::string(k_base) + "RUN echo ok\nCOPPY a b\n");
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_THAT(unknown.err, HasSubstr("Dockerfile:4: unknown instruction: COPPY"));
  EXPECT_THAT(unknown.err, Not(HasSubstr("RUN echo ok")));
  const auto missing = build(std::string(k_base) + "COPY nothing-here /x\n");
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_THAT(missing.err, HasSubstr("Dockerfile:3:"));
  EXPECT_THAT(missing.err, HasSubstr("nothing-here"));
  const auto bad_tag = build(std::string(k_base), {"-t", "Bad:Tag"});
  EXPECT_NE(bad_tag.exit_code, 0);
  EXPECT_THAT(bad_tag.err, HasSubstr("invalid tag \"Bad:Tag\""));
}

INSTANTIATE_TEST_SUITE_P(Runtimes, ImageBuild, ::testing::Values("crun", "runc"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace berth::testing
