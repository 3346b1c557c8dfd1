// `berth container pause|unpause|top|stats` end to end, as root, with real crun and runc
// (the fixture of container_test.cpp): what a user sees of a frozen container, of its
// processes and of its resource use.
#include <chrono>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/cli/container_fixture.h"
#include "tests/support/run_berth.h"

namespace berth::testing {
namespace {

using nlohmann::json;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

class ContainerObserveCli : public ContainerCli {
 protected:
  void TearDown() override {
    if (IsSkipped()) return;
    // A test that failed half-way may leave a container frozen: thaw it, so that the shared
    // clean-up (rm -f) can only fail for reasons of its own. Errors are for running ones.
    for (const auto& id : split_lines(berth({"container", "ls", "-q"}).out)) {
      berth({"container", "unpause", id});
    }
    ContainerCli::TearDown();
  }

  /// `container run -d --name NAME ARGS...`, asserting that it started.
  void run_detached(const std::string& name, std::vector<std::string> args) {
    args.insert(args.begin(), {"container", "run", "-d", "--name", name});
    const auto started = berth(args);
    ASSERT_EQ(started.exit_code, 0) << started.err;
  }
  std::size_t log_lines(const std::string& name) {
    return split_lines(berth({"container", "logs", name}).out).size();
  }
  std::string id_of(const std::string& name) { return inspect(name)["Id"].get<std::string>(); }
  /// The rows `top` prints under its header.
  std::vector<std::string> top_rows(const std::vector<std::string>& args) {
    std::vector<std::string> command{"container", "top"};
    command.insert(command.end(), args.begin(), args.end());
    auto lines = split_lines(berth(command).out);
    if (!lines.empty()) lines.erase(lines.begin());
    return lines;
  }
  /// The cells of a table line: columns are at least three spaces apart.
  static std::vector<std::string> cells(const std::string& line) {
    static const std::regex k_gap(" {3,}");
    return {std::sregex_token_iterator(line.begin(), line.end(), k_gap, -1),
            std::sregex_token_iterator()};
  }
  /// `stats --no-stream --format json NAMES...`, one object per container.
  std::vector<json> stats_json(std::vector<std::string> names) {
    names.insert(names.begin(), {"container", "stats", "--no-stream", "--format", "json"});
    const auto result = berth(names);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    std::vector<json> rows;
    for (const auto& line : split_lines(result.out)) rows.push_back(json::parse(line));
    return rows;
  }
};

constexpr auto k_counter = "i=0; while true; do i=$((i+1)); echo $i; sleep 0.05; done";

TEST_P(ContainerObserveCli, PauseFreezesTheContainerAndUnpauseResumesIt) {
  run_detached("counter", {"bb:1", "sh", "-c", k_counter});
  ASSERT_TRUE(eventually([&] { return log_lines("counter") >= 3; }));
  const std::string id = id_of("counter");

  const auto paused = berth({"container", "pause", "counter"});
  ASSERT_EQ(paused.exit_code, 0) << paused.err;
  EXPECT_EQ(paused.out, "counter\n");
  // A line written just before the freeze may still be on its way into the log.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const std::size_t frozen_at = log_lines("counter");
  std::this_thread::sleep_for(std::chrono::milliseconds(600));  // 12 lines' worth
  EXPECT_EQ(log_lines("counter"), frozen_at);
  EXPECT_THAT(berth({"container", "ls"}).out, MatchesRegex(".*   Up [^\n]* \\(Paused\\)   .*"));
  json state = inspect("counter")["State"];
  EXPECT_EQ(state["Status"], "paused");
  EXPECT_EQ(state["Paused"], true);
  EXPECT_EQ(berth({"container", "pause", "counter"}).err,
            "berth: error: Container " + id + " is already paused\n");

  const auto unpaused = berth({"container", "unpause", "counter"});
  ASSERT_EQ(unpaused.exit_code, 0) << unpaused.err;
  EXPECT_EQ(unpaused.out, "counter\n");
  EXPECT_TRUE(eventually([&] { return log_lines("counter") >= frozen_at + 3; }));
  state = inspect("counter")["State"];
  EXPECT_EQ(state["Status"], "running");
  EXPECT_EQ(state["Paused"], false);
  EXPECT_THAT(berth({"container", "ls"}).out, Not(HasSubstr("Paused")));
  const auto again = berth({"container", "unpause", "counter"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_EQ(again.err, "berth: error: Container " + id + " is not paused\n");
}

TEST_P(ContainerObserveCli, OnlyARunningContainerPausesAndEachNameIsAnswered) {
  ASSERT_EQ(berth({"container", "create", "--name", "idle", "bb:1", "sleep", "100"}).exit_code, 0);
  run_detached("awake", {"bb:1", "sleep", "100"});
  const std::string idle = id_of("idle");

  // The running one is paused although the one before it cannot be.
  const auto mixed = berth({"container", "pause", "idle", "awake", "nosuch"});
  EXPECT_EQ(mixed.exit_code, 1);
  EXPECT_EQ(mixed.out, "awake\n");
  EXPECT_EQ(mixed.err, "berth: error: Container " + idle +
                           " is not running\nberth: error: No such container: nosuch\n");
  EXPECT_EQ(inspect("awake")["State"]["Status"], "paused");
  EXPECT_EQ(berth({"container", "unpause", "idle"}).err,
            "berth: error: Container " + idle + " is not paused\n");
  EXPECT_EQ(berth({"container", "top", "idle"}).err,
            "berth: error: Container " + idle + " is not running\n");
}

TEST_P(ContainerObserveCli, StopKillAndForcedRemoveWorkOnAPausedContainer) {
  // The TERM handler can only run once the container is thawed: exit code 0 and "bye" show
  // that stop thawed it rather than waiting out the grace period and killing it.
  run_detached("polite", {"bb:1", "sh", "-c",
                          "trap 'echo bye; exit 0' TERM; echo ready; while true; do sleep 0.1; "
                          "done"});
  run_detached("killed", {"bb:1", "sleep", "100"});
  run_detached("removed", {"bb:1", "sleep", "100"});
  ASSERT_TRUE(eventually([&] { return berth({"container", "logs", "polite"}).out == "ready\n"; }));
  ASSERT_EQ(berth({"container", "pause", "polite", "killed", "removed"}).exit_code, 0);

  const auto before = std::chrono::steady_clock::now();
  const auto stopped = berth({"container", "stop", "-t", "10", "polite"});
  EXPECT_EQ(stopped.exit_code, 0) << stopped.err;
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(8));
  EXPECT_EQ(inspect("polite")["State"]["Status"], "exited");
  EXPECT_EQ(inspect("polite")["State"]["ExitCode"], 0);
  EXPECT_EQ(berth({"container", "logs", "polite"}).out, "ready\nbye\n");

  const auto killed = berth({"container", "kill", "killed"});
  EXPECT_EQ(killed.exit_code, 0) << killed.err;
  EXPECT_TRUE(eventually([&] { return inspect("killed")["State"]["Status"] == "exited"; }));
  EXPECT_EQ(inspect("killed")["State"]["ExitCode"], 137);

  const auto removed = berth({"container", "rm", "-f", "removed"});
  EXPECT_EQ(removed.exit_code, 0) << removed.err;
  EXPECT_EQ(berth({"container", "inspect", "removed"}).err,
            "berth: error: No such container: removed\n");
}

TEST_P(ContainerObserveCli, TopListsTheContainersProcessesOnly) {
  run_detached("sleepers", {"bb:1", "sh", "-c", "sleep 4242 & sleep 4343 & wait"});
  ASSERT_TRUE(eventually([&] { return top_rows({"sleepers"}).size() == 3; }));

  const auto top = berth({"container", "top", "sleepers"});
  ASSERT_EQ(top.exit_code, 0) << top.err;
  const auto lines = split_lines(top.out);
  ASSERT_EQ(lines.size(), 4u) << top.out;  // ps -ef's header, sh and the two sleeps
  EXPECT_THAT(cells(lines[0]),
              ::testing::ElementsAre("UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"));
  std::vector<std::string> commands;
  for (std::size_t i = 1; i < lines.size(); ++i) commands.push_back(cells(lines[i]).back());
  EXPECT_THAT(commands, ::testing::UnorderedElementsAre("sh -c sleep 4242 & sleep 4343 & wait",
                                                        "sleep 4242", "sleep 4343"));

  // ps options pass through; a paused container still has its processes.
  ASSERT_EQ(berth({"container", "pause", "sleepers"}).exit_code, 0);
  const auto custom = berth({"container", "top", "sleepers", "-o", "pid,args"});
  ASSERT_EQ(custom.exit_code, 0) << custom.err;
  EXPECT_THAT(custom.out, MatchesRegex("PID +COMMAND\n(.*\n)?[0-9]+ +sleep 4343\n.*"));
  EXPECT_EQ(split_lines(custom.out).size(), 4u) << custom.out;
  const auto no_pid = berth({"container", "top", "sleepers", "-o", "args"});
  EXPECT_EQ(no_pid.err, "berth: error: Couldn't find PID field in ps output\n");
}

TEST_P(ContainerObserveCli, StatsShowsNameMemoryLimitPidsAndCpu) {
  // Without a network the I/O counters have a known value: loopback does not count.
  run_detached("limited", {"-m", "64m", "--network", "none", "bb:1", "sh", "-c",
                           "sleep 1001 & sleep 1002 & wait"});
  run_detached("spinner", {"--network", "none", "bb:1", "sh", "-c", "while true; do :; done"});
  ASSERT_TRUE(eventually([&] { return top_rows({"limited"}).size() == 3; }));

  const auto table = berth({"container", "stats", "--no-stream", "limited"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  const auto lines = split_lines(table.out);
  ASSERT_EQ(lines.size(), 2u) << table.out;
  EXPECT_THAT(cells(lines[0]),
              ::testing::ElementsAre("CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %",
                                     "NET I/O", "BLOCK I/O", "PIDS"));
  const auto row = cells(lines[1]);
  ASSERT_EQ(row.size(), 8u) << lines[1];
  EXPECT_EQ(row[0], id_of("limited").substr(0, 12));
  EXPECT_EQ(row[1], "limited");
  EXPECT_THAT(row[2], MatchesRegex("[0-9]+\\.[0-9][0-9]%"));
  EXPECT_THAT(row[3], MatchesRegex("[0-9.]+(B|KiB|MiB) / 64MiB"));
  EXPECT_THAT(row[4], MatchesRegex("[0-9]+\\.[0-9][0-9]%"));
  EXPECT_EQ(row[5], "0B / 0B");  // no network: loopback does not count
  EXPECT_EQ(row[7], "3");        // sh and its two sleeps

  const auto both = stats_json({"limited", "spinner"});
  ASSERT_EQ(both.size(), 2u);
  EXPECT_EQ(both[0]["Name"], "limited");
  EXPECT_EQ(both[0]["Container"], "limited");
  EXPECT_EQ(both[0]["ID"], id_of("limited").substr(0, 12));
  EXPECT_THAT(both[0]["MemUsage"].get<std::string>(), EndsWith(" / 64MiB"));
  EXPECT_EQ(both[0]["PIDs"], "3");
  EXPECT_EQ(both[0]["NetIO"], "0B / 0B");
  EXPECT_THAT(both[0]["BlockIO"].get<std::string>(),
              MatchesRegex("[0-9.]+[kMG]?B / [0-9.]+[kMG]?B"));
  EXPECT_EQ(both[1]["Name"], "spinner");
  // A busy loop keeps about one CPU busy: far above idle, whatever else the host runs.
  const std::string spinning = both[1]["CPUPerc"];
  EXPECT_GT(std::stod(spinning), 25.0) << spinning;
  EXPECT_LT(std::stod(both[0]["CPUPerc"].get<std::string>()), 5.0);
  // No limit: the host's memory bounds it.
  EXPECT_THAT(both[1]["MemUsage"].get<std::string>(), MatchesRegex(".* / [0-9.]+(MiB|GiB|TiB)"));

  // Without names: every running container, and only those.
  ASSERT_EQ(berth({"container", "create", "--name", "idle", "bb:1", "true"}).exit_code, 0);
  const auto running = stats_json({});
  ASSERT_EQ(running.size(), 2u);
  EXPECT_THAT((std::vector<std::string>{running[0]["Name"], running[1]["Name"]}),
              ::testing::UnorderedElementsAre("limited", "spinner"));

  const auto streaming = berth({"container", "stats", "limited"});
  EXPECT_EQ(streaming.exit_code, 1);
  EXPECT_EQ(streaming.err,
            "berth: error: stats without --no-stream is not supported yet; use --no-stream\n");
}

INSTANTIATE_TEST_SUITE_P(Runtimes, ContainerObserveCli, ::testing::Values("crun", "runc"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace berth::testing
