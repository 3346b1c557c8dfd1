#include "util/trash.h"

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "tests/support/run_berth.h"
#include "util/fs.h"

namespace berth {
namespace {

namespace stdfs = std::filesystem;
using testing::TempDir;

void make_tree(const std::string& dir) {
  stdfs::create_directories(dir + "/a/b");
  std::ofstream(dir + "/a/b/file") << "data";
}

TEST(Trash, AMovedPathIsOutOfSightAndNamesItsDeleter) {
  const TempDir dir;
  make_tree(dir.path() + "/container");
  const auto moved = move_to_trash(dir.path() + "/container", dir.path() + "/trash");
  ASSERT_TRUE(moved.has_value());
  EXPECT_FALSE(stdfs::exists(dir.path() + "/container"));
  EXPECT_TRUE(fs::is_file(*moved + "/a/b/file"));
  EXPECT_EQ(stdfs::path(*moved).filename().string().rfind(std::to_string(::getpid()) + ".", 0), 0u);
  // Ours, and we are alive: a sweep leaves it to us.
  sweep_trash(dir.path() + "/trash");
  EXPECT_TRUE(fs::is_file(*moved + "/a/b/file"));
}

TEST(Trash, WhatCannotBeMovedIsSaidSo) {
  const TempDir dir;
  EXPECT_EQ(move_to_trash(dir.path() + "/missing", dir.path() + "/trash"), std::nullopt);
}

TEST(Trash, ASweepDeletesWhatADeadProcessLeft) {
  const TempDir dir;
  const std::string trash = dir.path() + "/trash";
  make_tree(dir.path() + "/container");
  make_tree(trash + "/not-berths");
  // A child moves a tree into the trash and dies before deleting it, as a killed monitor.
  const pid_t child = ::fork();
  if (child == 0) {
    ::_exit(move_to_trash(dir.path() + "/container", trash) ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_EQ(std::distance(stdfs::directory_iterator(trash), stdfs::directory_iterator()), 2);

  sweep_trash(trash);
  std::vector<std::string> left;
  for (const auto& entry : stdfs::directory_iterator(trash)) {
    left.push_back(entry.path().filename());
  }
  EXPECT_EQ(left, std::vector<std::string>{"not-berths"});
  sweep_trash(dir.path() + "/no-trash-yet");  // nothing to do, nothing thrown
}

}  // namespace
}  // namespace berth
