#include "runtime/container_state.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "tests/support/error_of.h"
#include "tests/support/run_berth.h"

namespace berth::runtime {
namespace {

using testing::error_of;
using testing::TempDir;

ContainerState full_state() {
  ContainerState state;
  state.status = "running";
  state.pid = 4242;
  state.pid_start_time = 987654321012ULL;
  state.monitor_pid = 4241;
  state.monitor_start_time = 987654321000ULL;
  state.exit_code = 137;
  state.oom_killed = true;
  state.started_at = "2026-11-23T22:01:26.123456789Z";
  state.finished_at = "2026-11-23T22:01:27.000000001Z";
  state.restart_count = 3;
  state.error = "crun start: boom";
  state.health = "unhealthy";
  state.failing_streak = 2;
  state.health_log = {{"2026-11-23T22:01:26Z", "2026-11-23T22:01:27Z", 0, "ok\n"},
                      {"2026-11-23T22:01:28Z", "2026-11-23T22:01:29Z", 1, "bad \"quoted\"\n"}};
  return state;
}

void expect_same(const ContainerState& a, const ContainerState& b) {
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.pid, b.pid);
  EXPECT_EQ(a.pid_start_time, b.pid_start_time);
  EXPECT_EQ(a.monitor_pid, b.monitor_pid);
  EXPECT_EQ(a.monitor_start_time, b.monitor_start_time);
  EXPECT_EQ(a.exit_code, b.exit_code);
  EXPECT_EQ(a.oom_killed, b.oom_killed);
  EXPECT_EQ(a.started_at, b.started_at);
  EXPECT_EQ(a.finished_at, b.finished_at);
  EXPECT_EQ(a.restart_count, b.restart_count);
  EXPECT_EQ(a.error, b.error);
  EXPECT_EQ(a.health, b.health);
  EXPECT_EQ(a.failing_streak, b.failing_streak);
  ASSERT_EQ(a.health_log.size(), b.health_log.size());
  for (std::size_t i = 0; i < a.health_log.size(); ++i) {
    EXPECT_EQ(a.health_log[i].start, b.health_log[i].start);
    EXPECT_EQ(a.health_log[i].end, b.health_log[i].end);
    EXPECT_EQ(a.health_log[i].exit_code, b.health_log[i].exit_code);
    EXPECT_EQ(a.health_log[i].output, b.health_log[i].output);
  }
}

TEST(ContainerState, RoundTripsEveryField) {
  TempDir dir;
  const std::string path = dir.path() + "/state.json";
  write_state(path, full_state());
  const auto read = read_state(path);
  ASSERT_TRUE(read.has_value());
  expect_same(*read, full_state());
}

TEST(ContainerState, MissingFileIsNoState) {
  TempDir dir;
  EXPECT_FALSE(read_state(dir.path() + "/state.json").has_value());
}

TEST(ContainerState, MissingKeysKeepDefaults) {
  TempDir dir;
  const std::string path = dir.write("state.json", R"({"status":"exited","exit_code":3})");
  const auto read = read_state(path);
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->status, "exited");
  EXPECT_EQ(read->exit_code, 3);
  EXPECT_EQ(read->pid, 0);
  EXPECT_TRUE(read->health_log.empty());
}

TEST(ContainerState, MalformedFileIsAnErrorNamingIt) {
  TempDir dir;
  const std::string path = dir.write("state.json", "{\"status\":");
  EXPECT_EQ(error_of([&] { read_state(path); }),
            path +
                ": invalid container state: [json.exception.parse_error.101] parse error at "
                "line 1, column 11: syntax error while parsing value - unexpected end of "
                "input; expected '[', '{', or a literal");
  const std::string mistyped = dir.write("typed.json", R"({"pid":"twelve"})");
  EXPECT_EQ(error_of([&] { read_state(mistyped); }),
            mistyped +
                ": invalid container state: [json.exception.type_error.302] type must be "
                "number, but is string");
}

TEST(ContainerState, WriteReplacesTheFileAtomically) {
  TempDir dir;
  const std::string path = dir.path() + "/state.json";
  ContainerState first;
  first.status = "running";
  write_state(path, first);
  struct stat before {};
  ASSERT_EQ(::stat(path.c_str(), &before), 0);
  EXPECT_EQ(before.st_mode & 0777, 0644u);

  // A reader that opened the old file keeps reading the whole old state: the new one is a
  // new inode renamed over it, never the old file rewritten in place.
  const int reader = ::open(path.c_str(), O_RDONLY);
  ASSERT_GE(reader, 0);
  ContainerState second = full_state();
  write_state(path, second);
  struct stat after {};
  ASSERT_EQ(::stat(path.c_str(), &after), 0);
  EXPECT_NE(before.st_ino, after.st_ino);
  std::string old_text(4096, '\0');
  const ssize_t n = ::read(reader, old_text.data(), old_text.size());
  ::close(reader);
  ASSERT_GT(n, 0);
  old_text.resize(static_cast<std::size_t>(n));
  EXPECT_NE(old_text.find("\"status\":\"running\""), std::string::npos);
  EXPECT_EQ(old_text.find("unhealthy"), std::string::npos);

  expect_same(*read_state(path), second);
  // No temporary file is left next to it.
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    names.push_back(entry.path().filename().string());
  }
  EXPECT_EQ(names, std::vector<std::string>{"state.json"});
}

TEST(ContainerState, WriteIntoAMissingDirectoryNamesIt) {
  TempDir dir;
  const std::string path = dir.path() + "/gone/state.json";
  EXPECT_EQ(error_of([&] { write_state(path, ContainerState{}); }),
            path + ": cannot create a file in " + dir.path() + "/gone: No such file or directory");
}

TEST(ProcessStartTime, OfThisProcessIsStable) {
  const auto start = process_start_time(::getpid());
  ASSERT_TRUE(start.has_value());
  EXPECT_GT(*start, 0u);
  EXPECT_EQ(process_start_time(::getpid()), start);
  EXPECT_TRUE(same_process_alive(::getpid(), *start));
  EXPECT_FALSE(same_process_alive(::getpid(), *start + 1));
}

TEST(ProcessStartTime, NoProcessNoTime) {
  EXPECT_FALSE(process_start_time(0).has_value());
  EXPECT_FALSE(process_start_time(-5).has_value());
  const pid_t child = ::fork();
  if (child == 0) {
    ::_exit(0);
  }
  ASSERT_GT(child, 0);
  // A zombie still has its stat, but it is not alive any more.
  ::usleep(50'000);
  const auto start = process_start_time(child);
  ASSERT_TRUE(start.has_value());
  EXPECT_FALSE(same_process_alive(child, *start));
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);
  EXPECT_FALSE(process_start_time(child).has_value());
  EXPECT_FALSE(same_process_alive(child, *start));
}

TEST(ProcessStartTime, CommWithSpacesAndParentheses) {
  int ready[2];
  int finish[2];
  ASSERT_EQ(::pipe(ready), 0);
  ASSERT_EQ(::pipe(finish), 0);
  const pid_t child = ::fork();
  if (child == 0) {
    char byte = 0;
    // Before the rename, the parent reads the start time with a plain comm.
    [[maybe_unused]] auto n = ::write(ready[1], "a", 1);
    n = ::read(finish[0], &byte, 1);
    ::prctl(PR_SET_NAME, "x) 1 2 (y z", 0, 0, 0);
    n = ::write(ready[1], "b", 1);
    n = ::read(finish[0], &byte, 1);
    ::_exit(0);
  }
  ASSERT_GT(child, 0);
  char byte = 0;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1);
  const auto plain = process_start_time(child);
  ASSERT_EQ(::write(finish[1], "c", 1), 1);
  ASSERT_EQ(::read(ready[0], &byte, 1), 1);
  const auto odd = process_start_time(child);
  const std::string comm = testing::read_text("/proc/" + std::to_string(child) + "/comm");
  ASSERT_EQ(::write(finish[1], "d", 1), 1);
  ::waitpid(child, nullptr, 0);
  for (int fd : {ready[0], ready[1], finish[0], finish[1]}) {
    ::close(fd);
  }
  EXPECT_EQ(comm, "x) 1 2 (y z\n");
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(odd, plain);
}

}  // namespace
}  // namespace berth::runtime
