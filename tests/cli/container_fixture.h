// The fixture of the `berth container ...` end-to-end suites: each test runs once per OCI
// runtime (the parameter, passed as BERTH_RUNTIME) in a fresh root with a busybox image "bb:1",
// and TearDown removes every container and checks that nothing of berth's is left.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "runtime/cgroups.h"
#include "tests/support/busybox_image.h"
#include "tests/support/run_berth.h"

namespace berth::testing {

class ContainerCli : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (containers)";
    if (!have_static_busybox()) GTEST_SKIP() << "needs /bin/busybox from busybox-static";
    if (::access(("/usr/bin/" + GetParam()).c_str(), X_OK) != 0) {
      GTEST_SKIP() << "needs " << GetParam() << " (installed by .ci/setup-host)";
    }
    if (GetParam() == "crun") {
      if (const auto blocker = runtime::crun_blocker()) GTEST_SKIP() << *blocker;
    }
    make_busybox_rootfs_tar(m_work.path() + "/rootfs.tar", "container-cli");
    auto imported = berth({"image", "import", m_work.path() + "/rootfs.tar", "bb:1"});
    ASSERT_EQ(imported.exit_code, 0) << imported.err;
  }

  void TearDown() override {
    if (IsSkipped()) return;
    // Whatever a failed test left running goes; then nothing of berth's may remain.
    const auto ids = berth({"container", "ls", "-a", "-q"});
    for (const auto& line : split_lines(ids.out)) berth({"container", "rm", "-f", line});
    EXPECT_EQ(berth({"container", "ls", "-a", "-q"}).out, "");
    // Networks: the test's own and the default one, made on first use.
    std::vector<std::string> bridges;
    for (const auto& line : split_lines(berth({"network", "ls", "-q"}).out)) {
      bridges.push_back("berth" + line.substr(0, 10));
      EXPECT_EQ(berth({"network", "rm", line}).exit_code, 0) << "network " << line;
    }
    const std::string links = command_output("ip -o link show");
    for (const auto& bridge : bridges) {
      EXPECT_EQ(links.find(bridge), std::string::npos) << bridge << " is left";
    }
    EXPECT_FALSE(has_mount_under(m_work.path())) << "a mount under the test's directory remains";
    std::error_code ignored;
    EXPECT_TRUE(!std::filesystem::exists(m_work.path() + "/run/containers", ignored) ||
                std::filesystem::is_empty(m_work.path() + "/run/containers"));
    // --rm monitors delete what they moved into the trash right after the command returns.
    const std::string trash = m_work.path() + "/root/trash";
    EXPECT_TRUE(eventually([&] {
      return !std::filesystem::exists(trash, ignored) || std::filesystem::is_empty(trash);
    })) << "the trash keeps a removed container's files";
  }

  RunResult berth(const std::vector<std::string>& args, const std::string& stdin_text = "") {
    // Names the containers do not know go to a port where nothing answers, never to the
    // host's resolver.
    std::map<std::string, std::string> env = m_extra_env;
    env.insert({{"BERTH_ROOT", m_work.path() + "/root"},
                {"BERTH_RUNROOT", m_work.path() + "/run"},
                {"BERTH_RUNTIME", GetParam()},
                {"BERTH_DNS_UPSTREAM", m_dns_upstream}});
    return run_berth(args, m_work.path(), env, stdin_text);
  }
  /// The standard output of a shell command (ip, iptables-save) on the host.
  static std::string command_output(const std::string& command) {
    std::string out;
    if (FILE* pipe = ::popen(command.c_str(), "r")) {
      char buffer[4096];
      for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
      ::pclose(pipe);
    }
    return out;
  }
  /// `container run --rm bb:1 ARGS...`
  RunResult run(std::vector<std::string> args) {
    args.insert(args.begin(), {"container", "run", "--rm"});
    return berth(args);
  }
  nlohmann::json inspect(const std::string& name) {
    const auto result = berth({"container", "inspect", name});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return result.exit_code == 0 ? nlohmann::json::parse(result.out).at(0)
                                 : nlohmann::json::object();
  }
  /// Polls `condition` for up to `limit` (containers run on their own clock).
  bool eventually(const std::function<bool()>& condition,
                  std::chrono::milliseconds limit = std::chrono::seconds(15)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (condition()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return condition();
  }
  static std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::string line;
    for (char c : text) {
      if (c == '\n') {
        if (!line.empty()) lines.push_back(line);
        line.clear();
      } else {
        line += c;
      }
    }
    if (!line.empty()) lines.push_back(line);
    return lines;
  }
  static bool has_mount_under(const std::string& dir) {
    std::ifstream mounts("/proc/self/mountinfo");
    for (std::string line; std::getline(mounts, line);) {
      if (line.find(" " + dir + "/") != std::string::npos) return true;
    }
    return false;
  }

  TempDir m_work;
  std::string m_dns_upstream = "127.0.0.1:9";
  std::map<std::string, std::string> m_extra_env;  // further variables for berth()
};

}  // namespace berth::testing
