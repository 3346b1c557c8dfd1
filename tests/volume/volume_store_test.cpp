#include "volume/volume_store.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/error_of.h"
#include "tests/support/run_berth.h"
#include "util/error.h"

namespace berth::volume {
namespace {

namespace stdfs = std::filesystem;
using testing::error_of;
using ::testing::HasSubstr;
using testing::TempDir;

VolumeSpec named(std::string name, std::string driver = "local",
                 std::map<std::string, std::string> options = {}) {
  VolumeSpec spec;
  spec.name = std::move(name);
  spec.driver = std::move(driver);
  spec.options = std::move(options);
  return spec;
}

TEST(VolumeName, FollowsDockersRule) {
  EXPECT_TRUE(valid_volume_name("db"));
  EXPECT_TRUE(valid_volume_name("shop_db-data.v2"));
  EXPECT_FALSE(valid_volume_name("d"));  // at least two characters
  EXPECT_FALSE(valid_volume_name("_db"));
  EXPECT_FALSE(valid_volume_name(".lock"));
  EXPECT_FALSE(valid_volume_name("a/b"));
  EXPECT_FALSE(valid_volume_name("../x"));
  EXPECT_FALSE(valid_volume_name(""));
}

TEST(VolumeStore, CreatesFindsListsAndIsIdempotent) {
  const TempDir dir;
  const VolumeStore store(dir.path());
  VolumeSpec spec;
  spec.name = "db";
  spec.labels = {{"tier", "data"}};
  const VolumeRecord made = store.create(spec);
  EXPECT_EQ(made.name, "db");
  EXPECT_EQ(made.driver, "local");
  EXPECT_FALSE(made.created.empty());
  EXPECT_TRUE(stdfs::is_directory(store.data_path("db")));
  EXPECT_EQ(store.data_path("db"), dir.path() + "/volumes/db/_data");
  // Again, even with other labels: the existing volume, unchanged (Docker's behaviour).
  spec.labels = {{"tier", "other"}};
  EXPECT_EQ(store.create(spec).labels.at("tier"), "data");
  const VolumeRecord anonymous = store.create({});
  EXPECT_EQ(anonymous.name.size(), 64u);
  EXPECT_TRUE(anonymous.anonymous());
  const auto all = store.list();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_FALSE(store.find("missing").has_value());
  EXPECT_THAT(error_of([&] { store.get("missing"); }), HasSubstr("No such volume: missing"));
}

TEST(VolumeStore, RemovalGoesThroughTheTrash) {
  const TempDir dir;
  const VolumeStore store(dir.path());
  store.create(named("db"));
  std::ofstream(store.data_path("db") + "/file") << "x";
  store.remove("db");
  EXPECT_FALSE(store.find("db").has_value());
  EXPECT_FALSE(stdfs::exists(dir.path() + "/volumes/db"));
  EXPECT_TRUE(stdfs::is_empty(dir.path() + "/trash"));
  EXPECT_THAT(error_of([&] { store.remove("db"); }), HasSubstr("No such volume: db"));
}

TEST(VolumeStore, RemovalNeverDeletesThroughAMount) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (mount)";
  const TempDir dir;
  const VolumeStore store(dir.path());
  store.create(named("db"));
  const std::string outside = dir.path() + "/outside";
  stdfs::create_directories(outside + "/sub");
  std::ofstream(outside + "/sub/precious") << "keep";
  // A mount inside the volume, as a crashed run could leave one.
  const std::string inside = store.data_path("db") + "/mnt";
  stdfs::create_directories(inside);
  ASSERT_EQ(std::system(("mount --bind " + outside + " " + inside).c_str()), 0);
  struct Unmount {
    std::string path;
    ~Unmount() { std::system(("umount " + path + " 2>/dev/null").c_str()); }
  } unmount{inside};
  EXPECT_THAT(error_of([&] { store.remove("db"); }), HasSubstr("something is still mounted"));
  EXPECT_TRUE(store.find("db").has_value());
  EXPECT_TRUE(stdfs::exists(outside + "/sub/precious"));
  ASSERT_EQ(std::system(("umount " + inside).c_str()), 0);
  store.remove("db");
  EXPECT_TRUE(stdfs::exists(outside + "/sub/precious"));
}

TEST(VolumeStore, ErrorsNameTheVolume) {
  const TempDir dir;
  const VolumeStore store(dir.path());
  EXPECT_THAT(error_of([&] { store.create(named("a b")); }),
              HasSubstr("create a b: \"a b\" includes invalid characters"));
  EXPECT_THAT(error_of([&] { store.create(named("db", "nfs")); }),
              HasSubstr("create db: volume driver \"nfs\" is not available"));
  EXPECT_THAT(error_of([&] {
                store.create(named("db", "local", {{"o", "size=1m"}}));
              }),
              HasSubstr("create db: missing required option: \"type\""));
  EXPECT_TRUE(store.list().empty());
}

TEST(VolumeStore, DiskUsageCountsFilesNotWhatLinksPointAt) {
  const TempDir dir;
  const VolumeStore store(dir.path());
  store.create(named("db"));
  std::ofstream(store.data_path("db") + "/a") << "12345";
  stdfs::create_directories(store.data_path("db") + "/d");
  std::ofstream(store.data_path("db") + "/d/b") << "123";
  stdfs::create_directory_symlink("/usr", store.data_path("db") + "/usr");
  EXPECT_EQ(store.disk_usage("db"), 8u);
}

}  // namespace
}  // namespace berth::volume
