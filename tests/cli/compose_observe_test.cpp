// The compose commands that look at projects (ps, ls, images, top, port, version) end to end,
// as root, on crun and on runc: what a user sees of a project that runs a long-lived service
// and a one-shot one that has exited.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/cli/compose_fixture.h"
#include "tests/support/registry_server.h"
#include "util/strings.h"

namespace berth::testing {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::StartsWith;

// web runs; job exits with 3 at once (its command long enough for ps to cut it).
constexpr const char* k_stack = R"(
services:
  web:
    image: bb:1
    command: ["sleep", "1000"]
    stop_grace_period: 1s
  job:
    image: bb:1
    command: ["sh", "-c", "exit 3 # and a comment"]
)";

class ComposeObserve : public ComposeCli {
 protected:
  void SetUp() override {
    ComposeCli::SetUp();
    if (!IsSkipped()) write_compose(k_stack);
  }

  /// `up -d`, then waits until the one-shot job has exited.
  void up_and_let_job_exit() {
    const auto up = project({"up", "-d"});
    ASSERT_EQ(up.exit_code, 0) << up.err;
    ASSERT_TRUE(eventually([&] { return inspect("shop-job-1")["State"]["Status"] == "exited"; }));
  }

  /// The lines of a command's standard output; the command must succeed.
  std::vector<std::string> lines_of(const std::vector<std::string>& args) {
    const auto result = project(args);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return split_lines(result.out);
  }
};

TEST_P(ComposeObserve, PsShowsRunningContainersAndAllWithA) {
  up_and_let_job_exit();
  auto lines = lines_of({"ps"});
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[0], MatchesRegex("NAME +IMAGE +COMMAND +SERVICE +CREATED +STATUS +PORTS"));
  EXPECT_THAT(lines[1],
              MatchesRegex("shop-web-1 +bb:1 +\"sleep 1000\" +web +[0-9A-Za-z ]+ ago +Up .*"));

  lines = lines_of({"ps", "-a"});
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(lines[1], MatchesRegex("shop-job-1 +bb:1 +\"sh -c exit 3 # and …\" +job +.* ago +"
                                     "Exited \\(3\\) .* ago *"));
  // Columns line up in characters: the cut command's "…" is one character of three bytes.
  const auto column = [](const std::string& line, const std::string& cell) {
    return utf8_length(std::string_view(line).substr(0, line.find(cell)));
  };
  EXPECT_EQ(column(lines[0], "SERVICE"), column(lines[1], " job ") + 1);
  EXPECT_EQ(column(lines[0], "SERVICE"), column(lines[2], " web ") + 1);
  EXPECT_THAT(lines[2], StartsWith("shop-web-1 "));

  EXPECT_THAT(lines_of({"ps", "--services"}), ElementsAre("web"));
  EXPECT_THAT(lines_of({"ps", "-a", "--services"}), ElementsAre("job", "web"));
  EXPECT_THAT(lines_of({"ps", "-q"}), ElementsAre(id_of("shop-web-1")));
  EXPECT_THAT(lines_of({"ps", "-q", "--status", "exited"}), ElementsAre(id_of("shop-job-1")));
  EXPECT_THAT(lines_of({"ps", "-q", "--filter", "status=running"}),
              ElementsAre(id_of("shop-web-1")));
  EXPECT_THAT(lines_of({"ps", "-a", "--services", "job"}), ElementsAre("job"));

  // Paused is a status of its own.
  ASSERT_EQ(berth({"container", "pause", "shop-web-1"}).exit_code, 0);
  lines = lines_of({"ps", "--status", "paused"});
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[1], HasSubstr("(Paused)"));
  ASSERT_EQ(berth({"container", "unpause", "shop-web-1"}).exit_code, 0);
  EXPECT_EQ(lines_of({"ps", "-q", "--status", "paused"}).size(), 0u);
}

TEST_P(ComposeObserve, PsRefusesUnknownServicesAndStatuses) {
  up_and_let_job_exit();
  auto result = project({"ps", "nosuch"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.err, "berth: error: no such service: nosuch\n");
  result = project({"ps", "--status", "sleeping"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("invalid --status \"sleeping\""));
  result = project({"ps", "--format", "yaml"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("invalid --format \"yaml\": expected table or json"));
  // Without a compose file, -p NAME finds the project by its labels.
  std::filesystem::remove(m_work.path() + "/shop/compose.yaml");
  result = berth({"-p", "shop", "ps", "--services"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "web\n");
  EXPECT_EQ(berth({"-p", "shop", "down", "-t", "0"}).exit_code, 0);
}

TEST_P(ComposeObserve, PsJsonAndPortShowThePublishedPort) {
  const int host_port = free_port();
  write_compose(replace_all(
      k_stack, "    stop_grace_period: 1s\n",
      "    stop_grace_period: 1s\n    ports: [\"" + std::to_string(host_port) + ":80\"]\n"));
  up_and_let_job_exit();
  const auto lines = lines_of({"ps", "-a", "--format", "json"});
  ASSERT_EQ(lines.size(), 2u);
  const json job = json::parse(lines[0]);
  const json web = json::parse(lines[1]);
  EXPECT_EQ(job["Name"], "shop-job-1");
  EXPECT_EQ(job["State"], "exited");
  EXPECT_EQ(job["ExitCode"], 3);
  EXPECT_THAT(job["Status"].get<std::string>(), StartsWith("Exited (3) "));
  EXPECT_EQ(job["Publishers"], json::array());
  EXPECT_EQ(web["Name"], "shop-web-1");
  EXPECT_EQ(web["Names"], "shop-web-1");
  EXPECT_EQ(web["ID"], id_of("shop-web-1").substr(0, 12));
  EXPECT_EQ(web["Project"], "shop");
  EXPECT_EQ(web["Service"], "web");
  EXPECT_EQ(web["Image"], "bb:1");
  EXPECT_EQ(web["Command"], "\"sleep 1000\"");
  EXPECT_EQ(web["State"], "running");
  EXPECT_EQ(web["Health"], "");
  EXPECT_EQ(web["ExitCode"], 0);
  EXPECT_EQ(web["Networks"], "shop_default");
  EXPECT_EQ(web["LocalVolumes"], "0");
  EXPECT_THAT(web["RunningFor"].get<std::string>(), HasSubstr(" ago"));
  EXPECT_THAT(web["Labels"].get<std::string>(), HasSubstr("com.docker.compose.service=web"));
  EXPECT_EQ(web["Ports"], "0.0.0.0:" + std::to_string(host_port) + "->80/tcp");
  EXPECT_EQ(web["Publishers"], json::parse(R"([{"URL": "0.0.0.0", "TargetPort": 80,
      "PublishedPort": )" + std::to_string(host_port) +
                                           R"(, "Protocol": "tcp"}])"));
  for (const char* key : {"Created", "CreatedAt", "Mounts", "Size", "Status"}) {
    EXPECT_TRUE(web.contains(key)) << key;
  }
  EXPECT_EQ(json::parse(lines_of({"ps", "--no-trunc", "--format", "json"}).at(0))["ID"],
            id_of("shop-web-1"));
  EXPECT_THAT(lines_of({"ps"}).at(1),
              HasSubstr("0.0.0.0:" + std::to_string(host_port) + "->80/tcp"));

  auto port = project({"port", "web", "80"});
  EXPECT_EQ(port.exit_code, 0) << port.err;
  EXPECT_EQ(port.out, "0.0.0.0:" + std::to_string(host_port) + "\n");
  port = project({"port", "web", "81"});
  EXPECT_EQ(port.exit_code, 1);
  EXPECT_EQ(port.err, "berth: error: no port 81/tcp for container shop-web-1: 80/tcp\n");
  port = project({"port", "--protocol", "udp", "web", "80"});
  EXPECT_THAT(port.err, HasSubstr("no port 80/udp for container shop-web-1"));
  port = project({"port", "--index", "2", "web", "80"});
  EXPECT_EQ(port.err, "berth: error: no container found for web-2\n");
  port = project({"port", "nosuch", "80"});
  EXPECT_EQ(port.err, "berth: error: no such service: nosuch\n");
}

TEST_P(ComposeObserve, LsListsProjectsWithTheirStates) {
  up_and_let_job_exit();
  // A second project from the same file, under another name.
  const auto other = project({"-p", "other", "up", "-d", "web"});
  ASSERT_EQ(other.exit_code, 0) << other.err;
  const std::string file = m_work.path() + "/shop/compose.yaml";

  auto lines = lines_of({"ls"});
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(lines[0], MatchesRegex("NAME +STATUS +CONFIG FILES"));
  EXPECT_THAT(lines[1], MatchesRegex("other +running\\(1\\) +" + file));
  EXPECT_THAT(lines[2], MatchesRegex("shop +running\\(1\\) +" + file));
  lines = lines_of({"ls", "-a", "--filter", "name=^sh"});
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[1], MatchesRegex("shop +exited\\(1\\), running\\(1\\) +" + file));
  EXPECT_THAT(lines_of({"ls", "-q"}), ElementsAre("other", "shop"));
  const json other_row = {{"Name", "other"}, {"Status", "running(1)"}, {"ConfigFiles", file}};
  EXPECT_EQ(json::parse(lines_of({"ls", "--format", "json", "--filter", "name=other"}).at(0)),
            json::array({other_row}));
  EXPECT_THAT(project({"ls", "--filter", "label=x"}).err, HasSubstr("invalid filter 'label'"));

  ASSERT_EQ(project({"-p", "other", "down", "-t", "0"}).exit_code, 0);
  EXPECT_THAT(lines_of({"ls", "-q"}), ElementsAre("shop"));
  // Only the exited job left: the project is listed with -a alone.
  ASSERT_EQ(berth({"container", "stop", "-t", "0", "shop-web-1"}).exit_code, 0);
  EXPECT_EQ(lines_of({"ls", "-q"}).size(), 0u);
  EXPECT_THAT(lines_of({"ls", "-a", "-q"}), ElementsAre("shop"));
}

TEST_P(ComposeObserve, ImagesListsEachContainersImage) {
  up_and_let_job_exit();
  const std::string image_id = inspect("shop-web-1")["Image"];  // sha256:...
  const std::string hex = image_id.substr(7);
  auto lines = lines_of({"images"});
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(lines[0], MatchesRegex("CONTAINER +REPOSITORY +TAG +IMAGE ID +SIZE"));
  EXPECT_THAT(lines[1],
              MatchesRegex("shop-job-1 +bb +1 +" + hex.substr(0, 12) + " +[0-9.]+[kM]?B"));
  EXPECT_THAT(lines[2], StartsWith("shop-web-1 "));
  EXPECT_THAT(lines_of({"images", "-q"}), ElementsAre(hex));
  EXPECT_THAT(lines_of({"images", "web"}).size(), 2u);
  const json listed = json::parse(lines_of({"images", "--format", "json", "web"}).at(0));
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["ID"], image_id);
  EXPECT_EQ(listed[0]["ContainerName"], "shop-web-1");
  EXPECT_EQ(listed[0]["Repository"], "bb");
  EXPECT_EQ(listed[0]["Tag"], "1");
  EXPECT_GT(listed[0]["Size"].get<long long>(), 0);
}

TEST_P(ComposeObserve, TopShowsEachRunningContainersProcesses) {
  up_and_let_job_exit();
  const auto lines = lines_of({"top"});
  ASSERT_GE(lines.size(), 3u);
  EXPECT_EQ(lines[0], "shop-web-1");  // the exited job has no processes to show
  EXPECT_THAT(lines[1], MatchesRegex("UID +PID +PPID +C +STIME +TTY +TIME +CMD"));
  EXPECT_THAT(lines[2], HasSubstr("sleep 1000"));
  EXPECT_EQ(lines_of({"top", "job"}).size(), 0u);
}

TEST_P(ComposeObserve, VersionPrintsBerthsVersion) {
  const std::string version = berth({"--version"}).out;  // "berth version X\n"
  ASSERT_THAT(version, StartsWith("berth version "));
  EXPECT_EQ(berth({"version"}).out, version);
  const std::string number = version.substr(14, version.size() - 15);
  EXPECT_EQ(berth({"version", "--short"}).out, number + "\n");
  const json expected = {{"version", number}};
  EXPECT_EQ(json::parse(berth({"version", "--format", "json"}).out), expected);
  EXPECT_EQ(berth({"version", "--format", "xml"}).exit_code, 1);
}

INSTANTIATE_TEST_SUITE_P(Runtimes, ComposeObserve, ::testing::Values("crun", "runc"));

}  // namespace
}  // namespace berth::testing
