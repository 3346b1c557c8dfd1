#include "volume/subpath.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/error_of.h"
#include "tests/support/run_berth.h"
#include "volume/local_mount.h"

namespace berth::volume {
namespace {

namespace stdfs = std::filesystem;
using testing::error_of;
using ::testing::HasSubstr;
using testing::read_text;
using testing::TempDir;

class Subpath : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (bind mounts)";
    stdfs::create_directories(m_data + "/dir/inner");
    std::ofstream(m_data + "/dir/inner/file") << "in\n";
    stdfs::create_directory_symlink("/etc", m_data + "/escape");
    stdfs::create_directory_symlink("dir", m_data + "/relative-link");
  }
  void TearDown() override {
    if (!IsSkipped()) remove_staging(m_staging);
    EXPECT_FALSE(has_mount_under(m_dir.path()));
  }

  TempDir m_dir;
  std::string m_data = m_dir.path() + "/data";
  std::string m_staging = m_dir.path() + "/run/volumes/0";
};

TEST_F(Subpath, StagesTheDirectoryOrFileItself) {
  stage_subpath("v", m_data, "dir/inner", m_staging);
  EXPECT_TRUE(is_mount_point(m_staging));
  EXPECT_EQ(read_text(m_staging + "/file"), "in\n");
  remove_staging(m_staging);
  EXPECT_FALSE(stdfs::exists(m_staging));
  stage_subpath("v", m_data, "dir/inner/file", m_staging);
  EXPECT_EQ(read_text(m_staging), "in\n");
}

TEST_F(Subpath, NeverFollowsASymlink) {
  for (const std::string path : {"escape", "escape/passwd", "relative-link/inner"}) {
    EXPECT_THAT(error_of([&] { stage_subpath("v", m_data, path, m_staging); }),
                HasSubstr("volume v: subpath \"" + path + "\""));
    EXPECT_FALSE(is_mount_point(m_staging)) << path;
  }
}

TEST_F(Subpath, RefusesPathsThatLeaveOrAreMissing) {
  EXPECT_THAT(error_of([&] { check_subpath("../x"); }), HasSubstr("must not leave the volume"));
  EXPECT_THAT(error_of([&] { check_subpath("/etc"); }), HasSubstr("must be a relative path"));
  EXPECT_THAT(error_of([&] { stage_subpath("v", m_data, "nope", m_staging); }),
              HasSubstr("volume v: subpath \"nope\": No such file or directory"));
}

}  // namespace
}  // namespace berth::volume
