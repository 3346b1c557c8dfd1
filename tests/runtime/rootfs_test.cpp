#include "runtime/rootfs.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/error_of.h"
#include "tests/support/run_berth.h"

namespace berth::runtime {
namespace {

using testing::error_of;
using testing::read_text;
using testing::TempDir;

namespace stdfs = std::filesystem;

bool is_mount_point(const std::string& path) {
  struct stat self {};
  struct stat parent {};
  return ::stat(path.c_str(), &self) == 0 && ::stat((path + "/..").c_str(), &parent) == 0 &&
         self.st_dev != parent.st_dev;
}

/// Unmounts on the way out, so a failing test leaves no mount behind (and TempDir's removal
/// never walks into a mounted tree).
class MountGuard {
 public:
  explicit MountGuard(std::string target) : m_target(std::move(target)) {}
  ~MountGuard() { ::umount2(m_target.c_str(), MNT_DETACH); }
  MountGuard(const MountGuard&) = delete;
  MountGuard& operator=(const MountGuard&) = delete;

 private:
  std::string m_target;
};

class RootfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) {
      GTEST_SKIP() << "mounting an overlay needs root";
    }
  }

  TempDir m_dir;
  std::string target() const { return m_dir.path() + "/rootfs"; }
  std::string upper() const { return m_dir.path() + "/diff"; }
  std::string work() const { return m_dir.path() + "/work"; }
  std::string links() const { return m_dir.path() + "/links"; }
};

TEST_F(RootfsTest, EightyLayersWithLongPathsMountAndTheTopLayerWins) {
  // Each layer path is over 100 characters: 80 of them are twice the one page of mount data
  // that overlay accepts, so only the short links make this mount possible.
  const std::string deep = m_dir.path() + "/layers/" + std::string(100, 'l');
  std::vector<std::string> layers;
  for (int i = 0; i < 80; ++i) {
    const std::string layer = deep + "/layer-" + std::to_string(i);
    stdfs::create_directories(layer);
    std::ofstream(layer + "/which") << i;
    std::ofstream(layer + "/only-" + std::to_string(i)) << "x";
    layers.push_back(layer);
  }
  std::size_t plain_length = 0;
  for (const auto& layer : layers) {
    ASSERT_GT(layer.size(), 100u);
    plain_length += layer.size() + 1;
  }
  ASSERT_GT(plain_length, 4096u);

  const MountGuard guard(target());
  mount_overlay(layers, upper(), work(), target(), links());

  EXPECT_TRUE(is_mount_point(target()));
  EXPECT_EQ(read_text(target() + "/which"), "0");
  for (int i = 0; i < 80; ++i) {
    EXPECT_TRUE(stdfs::exists(target() + "/only-" + std::to_string(i))) << i;
  }
  // Writes land in the upper dir; the layers stay as they were.
  std::ofstream(target() + "/which") << "written";
  EXPECT_EQ(read_text(upper() + "/which"), "written");
  EXPECT_EQ(read_text(layers[0] + "/which"), "0");

  unmount_rootfs(target());
  EXPECT_FALSE(is_mount_point(target()));
  EXPECT_FALSE(stdfs::exists(target() + "/which"));
}

TEST_F(RootfsTest, AnImageWithoutLayersGetsAnEmptyRoot) {
  const MountGuard guard(target());
  mount_overlay({}, upper(), work(), target(), links());
  EXPECT_TRUE(is_mount_point(target()));
  EXPECT_TRUE(stdfs::is_empty(target()));
  std::ofstream(target() + "/new") << "n";
  EXPECT_EQ(read_text(upper() + "/new"), "n");
  unmount_rootfs(target());
  EXPECT_FALSE(is_mount_point(target()));
}

TEST_F(RootfsTest, RemountingWithOtherLayersReplacesTheLinks) {
  const std::string a = m_dir.path() + "/a";
  const std::string b = m_dir.path() + "/b";
  stdfs::create_directories(a);
  stdfs::create_directories(b);
  std::ofstream(a + "/which") << "a";
  std::ofstream(b + "/which") << "b";
  {
    const MountGuard guard(target());
    mount_overlay({a}, upper(), work(), target(), links());
    EXPECT_EQ(read_text(target() + "/which"), "a");
    unmount_rootfs(target());
  }
  const MountGuard guard(target());
  mount_overlay({b, a}, upper(), work(), target(), links());
  EXPECT_EQ(read_text(target() + "/which"), "b");
  unmount_rootfs(target());
}

TEST_F(RootfsTest, AMissingLayerIsAnErrorNamingTheTargetAndTheLayer) {
  const std::string missing = m_dir.path() + "/no-such-layer";
  EXPECT_EQ(error_of([&] { mount_overlay({missing}, upper(), work(), target(), links()); }),
            "mount overlay on " + target() + ": layer " + missing + ": not a directory");
  EXPECT_FALSE(is_mount_point(target()));
}

TEST_F(RootfsTest, AFailedMountNamesTheTargetAndTheErrno) {
  // Overlay refuses a work dir inside the upper dir.
  EXPECT_EQ(error_of([&] { mount_overlay({}, upper(), upper() + "/work", target(), links()); }),
            "mount overlay on " + target() + ": Invalid argument");
  EXPECT_FALSE(is_mount_point(target()));
}

TEST_F(RootfsTest, UnmountingWhatIsNotMountedIsFine) {
  stdfs::create_directories(target());
  EXPECT_EQ(error_of([&] { unmount_rootfs(target()); }), "(no error)");
  EXPECT_EQ(error_of([&] { unmount_rootfs(m_dir.path() + "/never-made"); }), "(no error)");
}

TEST_F(RootfsTest, ABusyMountIsDetached) {
  stdfs::create_directories(m_dir.path() + "/layer");
  std::ofstream(m_dir.path() + "/layer/file") << "content";
  const MountGuard guard(target());
  mount_overlay({m_dir.path() + "/layer"}, upper(), work(), target(), links());
  {
    // An open file keeps the mount busy: a plain umount2 says EBUSY.
    std::ifstream open_file(target() + "/file");
    ASSERT_TRUE(open_file.is_open());
    unmount_rootfs(target());
    EXPECT_FALSE(is_mount_point(target()));
    std::string content;
    open_file >> content;
    EXPECT_EQ(content, "content");
  }
}

}  // namespace
}  // namespace berth::runtime
