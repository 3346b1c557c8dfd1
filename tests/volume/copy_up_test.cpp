#include "volume/copy_up.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "tests/support/run_berth.h"

namespace berth::volume {
namespace {

namespace stdfs = std::filesystem;
using testing::read_text;
using testing::TempDir;

struct stat stat_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st;
}

class CopyUp : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (owners, devices)";
    stdfs::create_directories(m_root + "/srv/app/sub");
    std::ofstream(m_root + "/srv/app/config") << "v1\n";
    std::ofstream(m_root + "/srv/app/sub/deep") << "deep\n";
    ::chown((m_root + "/srv/app").c_str(), 1000, 1001);
    ::chmod((m_root + "/srv/app").c_str(), 0750);
    ::chown((m_root + "/srv/app/config").c_str(), 1000, 1001);
    ::chmod((m_root + "/srv/app/config").c_str(), 04640);
    ::link((m_root + "/srv/app/config").c_str(), (m_root + "/srv/app/sub/linked").c_str());
    ::symlink("/etc/passwd", (m_root + "/srv/app/abs-link").c_str());
    ::mkfifo((m_root + "/srv/app/fifo").c_str(), 0600);
    ::mknod((m_root + "/srv/app/null").c_str(), S_IFCHR | 0666, makedev(1, 3));
    stdfs::create_directories(m_volume);
  }

  TempDir m_dir;
  std::string m_root = m_dir.path() + "/rootfs";
  std::string m_volume = m_dir.path() + "/volume";
};

TEST_F(CopyUp, CopiesContentOwnersModesAndLinks) {
  ASSERT_TRUE(copy_up(m_root, "/srv/app", m_volume));
  EXPECT_EQ(read_text(m_volume + "/config"), "v1\n");
  EXPECT_EQ(read_text(m_volume + "/sub/deep"), "deep\n");
  const auto config = stat_of(m_volume + "/config");
  EXPECT_EQ(config.st_uid, 1000u);
  EXPECT_EQ(config.st_gid, 1001u);
  EXPECT_EQ(config.st_mode & 07777, 04640u);  // set-id bits survive the chown
  EXPECT_EQ(config.st_nlink, 2u);
  EXPECT_EQ(stat_of(m_volume + "/sub/linked").st_ino, config.st_ino);
  EXPECT_EQ(stdfs::read_symlink(m_volume + "/abs-link"), "/etc/passwd");
  EXPECT_TRUE(S_ISFIFO(stat_of(m_volume + "/fifo").st_mode));
  EXPECT_EQ(stat_of(m_volume + "/null").st_rdev, makedev(1, 3));
  // The volume's root takes the owner and mode of the image's directory.
  const auto top = stat_of(m_volume);
  EXPECT_EQ(top.st_uid, 1000u);
  EXPECT_EQ(top.st_mode & 07777, 0750u);
}

TEST_F(CopyUp, PathsResolveInsideTheContainerRoot) {
  // /link -> /srv/app inside the image: the container sees /link as /srv/app, and so does
  // copy-up; an absolute link never reaches the host's directories.
  ::symlink("/srv/app", (m_root + "/link").c_str());
  ASSERT_TRUE(copy_up(m_root, "/link", m_volume));
  EXPECT_TRUE(stdfs::exists(m_volume + "/config"));
  const std::string other = m_dir.path() + "/other";
  stdfs::create_directories(other);
  ::symlink("/etc", (m_root + "/etc-link").c_str());
  EXPECT_FALSE(copy_up(m_root, "/etc-link", other));  // the image has no /etc
  EXPECT_TRUE(stdfs::is_empty(other));
}

TEST_F(CopyUp, NothingAtThePathCopiesNothing) {
  EXPECT_FALSE(copy_up(m_root, "/missing", m_volume));
  EXPECT_FALSE(copy_up(m_root, "/srv/app/config", m_volume));  // a file, not a directory
  EXPECT_TRUE(directory_is_empty(m_volume));
}

}  // namespace
}  // namespace berth::volume
