#include "runtime/cgroups.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "tests/support/error_of.h"
#include "tests/support/run_berth.h"
#include "util/fs.h"

namespace berth::runtime {
namespace {

using testing::error_of;
using testing::TempDir;

namespace stdfs = std::filesystem;

constexpr const char* k_blocker =
    "crun cannot run on this host's hybrid cgroup layout until hugetlb is mounted as a cgroup "
    "v1 hierarchy: run \"mkdir -p /sys/fs/cgroup/hugetlb && mount -t cgroup -o hugetlb cgroup "
    "/sys/fs/cgroup/hugetlb\" as root (or use --runtime runc)";

std::string random_name() {
  std::random_device random;
  return fmt::format("berth-test-{:08x}", random());
}

/// The mount points of the cgroup hierarchies, read here independently of the code under test.
std::vector<std::string> mounted_hierarchies() {
  std::ifstream mounts("/proc/self/mounts");
  std::vector<std::string> roots;
  std::string source;
  std::string target;
  std::string type;
  std::string rest;
  while (mounts >> source >> target >> type && std::getline(mounts, rest)) {
    if (type == "cgroup" || type == "cgroup2") {
      roots.push_back(target);
    }
  }
  return roots;
}

/// Removes what a test made, children first, even when the test fails half-way.
class CgroupCleanup {
 public:
  explicit CgroupCleanup(std::string top) : m_top(std::move(top)) {}
  ~CgroupCleanup() {
    for (const auto& dir : cgroup_dirs(m_top)) {
      remove_depth_first(dir);
    }
  }
  CgroupCleanup(const CgroupCleanup&) = delete;
  CgroupCleanup& operator=(const CgroupCleanup&) = delete;

 private:
  static void remove_depth_first(const stdfs::path& dir) {
    std::error_code ignored;
    for (const auto& entry : stdfs::directory_iterator(dir, ignored)) {
      if (entry.is_directory(ignored)) {
        remove_depth_first(entry.path());
      }
    }
    ::rmdir(dir.c_str());
  }

  std::string m_top;
};

class CgroupsHostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) {
      GTEST_SKIP() << "making cgroups needs root";
    }
    m_roots = mounted_hierarchies();
    if (m_roots.empty()) {
      GTEST_SKIP() << "no cgroup hierarchy is mounted";
    }
  }

  /// mkdir -p of `path` in each of `roots`.
  static void make_in(const std::vector<std::string>& roots, const std::string& path) {
    for (const auto& root : roots) {
      stdfs::create_directories(root + path);
    }
  }

  const std::string m_top = "/" + random_name();
  const CgroupCleanup m_cleanup{m_top};
  std::vector<std::string> m_roots;
};

TEST(CrunBlockerTest, AHybridLayoutWithAControllerOnCgroup2BlocksCrun) {
  const TempDir root;
  root.write("unified/cgroup.controllers", "hugetlb\n");
  EXPECT_EQ(crun_blocker(root.path()), std::optional<std::string>(k_blocker));
}

TEST(CrunBlockerTest, AnEmptyCgroup2InAHybridLayoutIsFine) {
  const TempDir root;
  root.write("unified/cgroup.controllers", "\n");
  EXPECT_EQ(crun_blocker(root.path()), std::nullopt);
}

TEST(CrunBlockerTest, APureCgroup2HostIsFine) {
  const TempDir root;
  root.write("cgroup.controllers", "cpuset cpu io memory hugetlb pids\n");
  EXPECT_EQ(crun_blocker(root.path()), std::nullopt);
}

TEST(CrunBlockerTest, ThisHostsAnswerFollowsItsCgroup2Controllers) {
  const auto controllers = fs::read_file_if_exists("/sys/fs/cgroup/unified/cgroup.controllers");
  const bool blocked = controllers && controllers->find_first_not_of(" \n") != std::string::npos;
  EXPECT_EQ(crun_blocker().has_value(), blocked);
}

TEST(CgroupV1HostTest, FollowsTheFileSystemAtSysFsCgroup) {
  // A v1 or hybrid host has memory as a v1 hierarchy; a cgroup2 host has cgroup.controllers
  // at the top.
  if (fs::is_directory("/sys/fs/cgroup/memory") &&
      fs::is_file("/sys/fs/cgroup/memory/memory.limit_in_bytes")) {
    EXPECT_TRUE(cgroup_v1_host());
  } else if (fs::is_file("/sys/fs/cgroup/cgroup.controllers")) {
    EXPECT_FALSE(cgroup_v1_host());
  } else {
    GTEST_SKIP() << "neither a v1 nor a cgroup2 layout at /sys/fs/cgroup";
  }
}

TEST(RemoveCgroupTest, ARootOrClimbingPathIsRefused) {
  EXPECT_EQ(error_of([] { remove_cgroup("/"); }), "invalid cgroup path \"/\"");
  EXPECT_EQ(error_of([] { remove_cgroup("/a/../../b"); }), "invalid cgroup path \"/a/../../b\"");
}

TEST_F(CgroupsHostTest, RemovesTheCgroupAndItsEmptyParentsInEveryHierarchy) {
  // A child cgroup below the container's, and in the first hierarchy a sibling of the
  // container's parent that must keep the top alive there.
  make_in(m_roots, m_top + "/project/service/child");
  make_in({m_roots.front()}, m_top + "/other");
  const std::string path = m_top + "/project/service";
  ASSERT_EQ(cgroup_dirs(path).size(), m_roots.size());

  remove_cgroup(path);

  EXPECT_EQ(cgroup_dirs(path), std::vector<std::string>{});
  EXPECT_EQ(cgroup_dirs(m_top + "/project"), std::vector<std::string>{});
  EXPECT_EQ(cgroup_dirs(m_top), std::vector<std::string>{m_roots.front() + m_top});
  EXPECT_EQ(cgroup_dirs(m_top + "/other"),
            std::vector<std::string>{m_roots.front() + m_top + "/other"});
}

TEST_F(CgroupsHostTest, ACgroupThatDoesNotExistIsFine) {
  EXPECT_EQ(error_of([&] { remove_cgroup(m_top + "/nothing"); }), "(no error)");
  EXPECT_EQ(cgroup_dirs(m_top), std::vector<std::string>{});
}

TEST_F(CgroupsHostTest, ACgroupWithAProcessInItIsAnErrorNamingIt) {
  const std::string dir = m_roots.front() + m_top + "/busy";
  stdfs::create_directories(dir);

  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  std::ofstream(dir + "/cgroup.procs") << child;

  const std::string message = error_of([&] { remove_cgroup(m_top + "/busy"); });

  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_EQ(message, "remove cgroup " + dir + ": Device or resource busy");

  // With the process gone, the same call removes it and the emptied parent.
  remove_cgroup(m_top + "/busy");
  EXPECT_EQ(cgroup_dirs(m_top), std::vector<std::string>{});
}

}  // namespace
}  // namespace berth::runtime
