// `berth events` end to end, as root, on crun and on runc: what a user following a project's
// events sees while the project is brought up, stopped, started, killed and taken down, in
// Compose's two formats; another project's events and the services not asked for left out.
#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/cli/compose_fixture.h"
#include "tests/support/background_berth.h"
#include "util/clock.h"

namespace berth::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// Services that end at once on SIGTERM, so that a stop takes no grace period.
constexpr const char* k_stack = R"(
services:
  db:
    image: bb:1
    command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done"]
  web:
    image: bb:1
    command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done"]
    depends_on: [db]
)";

constexpr const char* k_other_stack = R"(
services:
  app:
    image: bb:1
    command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done"]
)";

class ComposeEvents : public ComposeCli {
 protected:
  void SetUp() override {
    ComposeCli::SetUp();
    if (IsSkipped()) return;
    write_compose(k_stack);
    m_work.write("other/compose.yaml", k_other_stack);
  }

  void TearDown() override {
    if (!IsSkipped()) other({"down", "-t", "0"});
    ComposeCli::TearDown();
  }

  /// berth on the second project, "other".
  RunResult other(std::vector<std::string> args) {
    args.insert(args.begin(), {"--project-directory", m_work.path() + "/other", "-f",
                               m_work.path() + "/other/compose.yaml"});
    return berth(args);
  }

  /// `berth events ARGS` on the project, in the background.
  std::unique_ptr<BackgroundBerth> follow(std::vector<std::string> args) {
    args.insert(args.begin(), {"--project-directory", m_work.path() + "/shop", "-f",
                               m_work.path() + "/shop/compose.yaml", "events"});
    std::map<std::string, std::string> env = m_extra_env;
    env.insert({{"BERTH_ROOT", m_work.path() + "/root"},
                {"BERTH_RUNROOT", m_work.path() + "/run"},
                {"BERTH_RUNTIME", GetParam()},
                {"BERTH_DNS_UPSTREAM", m_dns_upstream}});
    return std::make_unique<BackgroundBerth>(args, m_work.path(), env);
  }

  /// Whether `process` has begun watching the journal (its inotify descriptor is open).
  static bool watching(const BackgroundBerth& process) {
    const std::string fds = "/proc/" + std::to_string(process.pid()) + "/fd";
    DIR* dir = ::opendir(fds.c_str());
    if (dir == nullptr) return false;
    bool found = false;
    while (const dirent* entry = ::readdir(dir)) {
      char target[256] = {};
      const std::string link = fds + "/" + entry->d_name;
      if (::readlink(link.c_str(), target, sizeof target - 1) > 0 &&
          std::string(target) == "anon_inode:inotify") {
        found = true;
      }
    }
    ::closedir(dir);
    return found;
  }

  /// The --json lines of `text`, parsed.
  static std::vector<nlohmann::json> json_events(const std::string& text) {
    std::vector<nlohmann::json> events;
    for (const auto& line : split_lines(text)) events.push_back(nlohmann::json::parse(line));
    return events;
  }

  /// The actions of `service`'s events, in order.
  static std::vector<std::string> actions_of(const std::vector<nlohmann::json>& events,
                                             const std::string& service) {
    std::vector<std::string> actions;
    for (const auto& event : events) {
      if (event["service"] == service) actions.push_back(event["action"]);
    }
    return actions;
  }

  /// `attribute` of `service`'s events with `action`, in order.
  static std::vector<std::string> attribute_of(const std::vector<nlohmann::json>& events,
                                               const std::string& service,
                                               const std::string& action,
                                               const std::string& attribute) {
    std::vector<std::string> values;
    for (const auto& event : events) {
      if (event["service"] == service && event["action"] == action) {
        values.push_back(event["attributes"].value(attribute, "<none>"));
      }
    }
    return values;
  }

  /// How many times `text` has `part`.
  static std::size_t count(const std::string& text, const std::string& part) {
    std::size_t n = 0;
    for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
    return n;
  }
};

TEST_P(ComposeEvents, ShowsTheProjectsContainerEventsAsComposeDoes) {
  // From a time before anything happens, so that no event falls between the start of the
  // followers and their first look at the journal.
  const std::string since = now_rfc3339();
  auto all = follow({"--json", "--since", since});
  auto web_only = follow({"--json", "--since", since, "web"});
  auto plain = follow({"--since", since});

  const auto up = project({"up", "-d"});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  const std::string db = id_of("shop-db-1");
  const auto run = [&](bool on_other, std::vector<std::string> args) {
    const auto result = on_other ? other(args) : project(args);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return result.exit_code == 0;
  };
  ASSERT_TRUE(run(true, {"up", "-d"}));
  ASSERT_TRUE(run(false, {"stop"}));
  ASSERT_TRUE(run(false, {"start"}));
  ASSERT_TRUE(run(false, {"kill"}));
  // kill returns once the signal is sent; were a container still running when down came,
  // down would stop it (another kill and a stop, as Docker's would).
  ASSERT_TRUE(eventually([&] {
    return inspect("shop-db-1")["State"]["Status"] == "exited" &&
           inspect("shop-web-1")["State"]["Status"] == "exited";
  }));
  ASSERT_TRUE(run(true, {"down", "-t", "0"}));
  ASSERT_TRUE(run(false, {"down"}));

  // Each container's end is its destroy.
  const auto both_destroyed = [](const std::string& text) {
    return count(text, "\"action\":\"destroy\"") == 2;
  };
  ASSERT_TRUE(all->wait_for_output(both_destroyed)) << all->out() << all->err();
  ASSERT_TRUE(web_only->wait_for_output([](const std::string& text) {
    return count(text, "\"action\":\"destroy\"") == 1;
  })) << web_only->out();
  ASSERT_TRUE(plain->wait_for_output([](const std::string& text) {
    return count(text, " container destroy ") == 2;
  })) << plain->out();

  const auto events = json_events(all->out());
  const std::vector<std::string> expected{"create", "start", "kill", "die",    "stop",
                                          "start",  "kill",  "die",  "destroy"};
  EXPECT_EQ(actions_of(events, "db"), expected) << all->out();
  EXPECT_EQ(actions_of(events, "web"), expected) << all->out();
  for (const auto* service : {"db", "web"}) {
    EXPECT_THAT(attribute_of(events, service, "die", "exitCode"), ElementsAre("0", "137"));
    EXPECT_THAT(attribute_of(events, service, "kill", "signal"), ElementsAre("15", "9"));
  }
  // A dependency is up before its dependents are made.
  EXPECT_EQ(events.front()["service"], "db");
  for (const auto& event : events) {
    EXPECT_EQ(event["type"], "container");
    EXPECT_THAT(event["id"].get<std::string>(), ::testing::MatchesRegex("[0-9a-f]{64}"));
    EXPECT_EQ(event["attributes"]["image"], "bb:1");
    EXPECT_EQ(event["attributes"]["name"], "shop-" + event["service"].get<std::string>() + "-1");
    // Compose's labels are how it finds the events; it does not show them.
    for (const auto& [key, value] : event["attributes"].items()) {
      EXPECT_THAT(key, Not(HasSubstr("com.docker.compose"))) << event.dump();
    }
  }
  EXPECT_THAT(all->out(), Not(HasSubstr("other-app-1")));
  EXPECT_THAT(web_only->out(), Not(HasSubstr("\"service\":\"db\"")));
  EXPECT_EQ(actions_of(json_events(web_only->out()), "web"), expected);

  // The plain format: Go's time, then Compose's line, then the blank line its Println adds.
  const std::regex line(
      R"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} container [a-z_:]+ [0-9a-f]{64} \(.*\)\n\n)");
  std::string rest = plain->out();
  std::size_t lines = 0;
  for (std::smatch match;
       std::regex_search(rest, match, line, std::regex_constants::match_continuous);
       rest = match.suffix()) {
    ++lines;
  }
  EXPECT_EQ(rest, "") << "not in Compose's format:\n" << plain->out();
  EXPECT_EQ(lines, events.size());
  EXPECT_THAT(plain->out(),
              HasSubstr(" container create " + db + " (image=bb:1, name=shop-db-1)\n\n"));
  EXPECT_THAT(plain->out(),
              ::testing::ContainsRegex(" container die " + db +
                                       " \\(execDuration=[0-9]+, exitCode=137, image=bb:1, "
                                       "name=shop-db-1\\)"));

  // Ctrl-C or SIGTERM ends the stream, successfully.
  all->signal(SIGINT);
  web_only->signal(SIGTERM);
  plain->signal(SIGINT);
  EXPECT_EQ(all->wait(), 0) << all->err();
  EXPECT_EQ(web_only->wait(), 0) << web_only->err();
  EXPECT_EQ(plain->wait(), 0) << plain->err();

  // --until in the past: the history between the two bounds, then the end.
  const auto history = project({"events", "--json", "--since", since, "--until", now_rfc3339()});
  ASSERT_EQ(history.exit_code, 0) << history.err;
  EXPECT_EQ(history.out, all->out());
}

TEST_P(ComposeEvents, FollowsFromNowOn) {
  const auto up = project({"up", "-d"});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  auto events = follow({"--json"});
  ASSERT_TRUE(eventually([&] { return watching(*events); })) << events->err();

  for (const auto& args : std::vector<std::vector<std::string>>{
           {"pause", "web"}, {"unpause", "web"}, {"restart", "web"}}) {
    const auto result = project(args);
    ASSERT_EQ(result.exit_code, 0) << result.err;
  }
  ASSERT_TRUE(events->wait_for_output([](const std::string& text) {
    return text.find("\"action\":\"restart\"") != std::string::npos;
  })) << events->out()
      << events->err();
  // The ups before it started are not replayed.
  EXPECT_THAT(actions_of(json_events(events->out()), "web"),
              ElementsAre("pause", "unpause", "kill", "die", "stop", "start", "restart"));
  EXPECT_EQ(actions_of(json_events(events->out()), "db"), std::vector<std::string>{});
}

INSTANTIATE_TEST_SUITE_P(Runtimes, ComposeEvents, ::testing::Values("crun", "runc"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace berth::testing
