// The path rules of `cp` (Docker's), without a container: argument splitting, "/." and "/",
// destinations through symlinks, where an archive lands and under which name, and which
// mount holds a path.
#include "orchestrator/containers/copy_paths.h"

#include <map>

#include <gtest/gtest.h>

#include "util/error.h"

namespace berth::containers {
namespace {

TEST(CopyPaths, SplitsContainerArgumentsAsDocker) {
  EXPECT_EQ(split_copy_arg("web:/etc/hosts").container, "web");
  EXPECT_EQ(split_copy_arg("web:/etc/hosts").path, "/etc/hosts");
  EXPECT_EQ(split_copy_arg("web:etc").path, "etc");
  // Local: absolute, no colon, or an explicit relative path that has one.
  EXPECT_EQ(split_copy_arg("/tmp/a:b").container, "");
  EXPECT_EQ(split_copy_arg("/tmp/a:b").path, "/tmp/a:b");
  EXPECT_EQ(split_copy_arg("file.txt").container, "");
  EXPECT_EQ(split_copy_arg("./file:name.txt").container, "");
  EXPECT_EQ(split_copy_arg("-").path, "-");
}

TEST(CopyPaths, CleansLikeGo) {
  EXPECT_EQ(clean_path(""), ".");
  EXPECT_EQ(clean_path("/"), "/");
  EXPECT_EQ(clean_path("//a//b/./c/"), "/a/b/c");
  EXPECT_EQ(clean_path("/../../etc"), "/etc");
  EXPECT_EQ(clean_path("a/../../b"), "../b");
}

TEST(CopyPaths, KeepsTrailingSlashAndDotWhenMadeAbsolute) {
  EXPECT_EQ(absolute_copy_path("etc/hosts", "/"), "/etc/hosts");
  EXPECT_EQ(absolute_copy_path("dir/", "/work"), "/work/dir/");
  EXPECT_EQ(absolute_copy_path("dir/.", "/work"), "/work/dir/.");
  EXPECT_EQ(absolute_copy_path(".", "/work"), "/work/.");
  EXPECT_EQ(absolute_copy_path("/", "/work"), "/");
  EXPECT_EQ(absolute_copy_path("/a/../b/", "/"), "/b/");
  EXPECT_EQ(absolute_copy_path("/a/../b/./", "/"), "/b/./");  // as Docker keeps it
}

TEST(CopyPaths, SplitsDirectoryAndEntry) {
  EXPECT_EQ(split_dir_entry("/a/b"), (std::pair<std::string, std::string>{"/a", "b"}));
  EXPECT_EQ(split_dir_entry("/a/b/"), (std::pair<std::string, std::string>{"/a", "b"}));
  EXPECT_EQ(split_dir_entry("/a/b/."), (std::pair<std::string, std::string>{"/a/b", "."}));
  EXPECT_EQ(split_dir_entry("/b"), (std::pair<std::string, std::string>{"/", "b"}));
  EXPECT_EQ(split_dir_entry("/"), (std::pair<std::string, std::string>{"/", "."}));
  EXPECT_TRUE(asserts_directory("/a/"));
  EXPECT_TRUE(asserts_directory("/a/."));
  EXPECT_FALSE(asserts_directory("/a"));
}

TEST(CopyPaths, JoinsLinkTargets) {
  EXPECT_EQ(join_link_target("/a/link", "target"), "/a/target");
  EXPECT_EQ(join_link_target("/a/link", "../../../../etc"), "/etc");
  EXPECT_EQ(join_link_target("/a/link", "/srv/x/"), "/srv/x");
}

/// A little file system for resolve_destination: path -> what lstat says.
PathStatFn fake_lstat(const std::map<std::string, PathStat>& tree) {
  return [tree](const std::string& path) -> std::optional<PathStat> {
    std::string key = clean_path(path);
    const auto found = tree.find(key);
    if (found == tree.end()) return std::nullopt;
    return found->second;
  };
}

TEST(CopyPaths, ResolvesDestinationSymlinks) {
  const auto lstat = fake_lstat({{"/dir", {false, true, ""}},
                                 {"/file", {false, false, ""}},
                                 {"/link", {true, false, "dir"}},
                                 {"/dangling", {true, false, "/nowhere"}},
                                 {"/loop", {true, false, "loop"}}});
  const PathInfo dir = resolve_destination("/link", lstat);
  EXPECT_EQ(dir.path, "/dir");
  EXPECT_TRUE(dir.exists && dir.is_dir);
  const PathInfo missing = resolve_destination("/dangling", lstat);
  EXPECT_EQ(missing.path, "/nowhere");
  EXPECT_FALSE(missing.exists);
  EXPECT_FALSE(resolve_destination("/new", lstat).exists);
  EXPECT_TRUE(resolve_destination("/file", lstat).exists);
  try {
    resolve_destination("/loop", lstat);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "too many symlinks in /loop");
  }
  try {
    resolve_destination("/file/", lstat);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "/file/: not a directory");
  }
}

TEST(CopyPaths, PlansLikeDockersPrepareArchiveCopy) {
  // Onto an existing directory: inside it, under the source's own name (or its contents).
  auto plan = plan_copy("src", true, {"/dest", true, true});
  EXPECT_EQ(plan.extract_dir, "/dest");
  EXPECT_EQ(plan.top_name, "src");
  plan = plan_copy(".", true, {"/dest", true, true});
  EXPECT_EQ(plan.top_name, ".");
  // A file onto a file: replaces it, under the destination's name.
  plan = plan_copy("a.txt", false, {"/etc/b.txt", true, false});
  EXPECT_EQ(plan.extract_dir, "/etc");
  EXPECT_EQ(plan.top_name, "b.txt");
  // Onto a missing path: made there, file or directory.
  plan = plan_copy("src", true, {"/new", false, false});
  EXPECT_EQ(plan.extract_dir, "/");
  EXPECT_EQ(plan.top_name, "new");
  plan = plan_copy("a.txt", false, {"/tmp/new", false, false});
  EXPECT_EQ(plan.extract_dir, "/tmp");
  EXPECT_EQ(plan.top_name, "new");
  plan = plan_copy(".", true, {"/tmp/new", false, false});
  EXPECT_EQ(plan.top_name, "new");
  // The two errors of the rules.
  try {
    plan_copy("src", true, {"/etc/hosts", true, false});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "cannot copy directory: /etc/hosts is not a directory");
  }
  try {
    plan_copy("a.txt", false, {"/nodir/", false, false});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "no such directory: /nodir/");
  }
}

TEST(CopyPaths, FindsTheDeepestMountHoldingAPath) {
  std::vector<runtime::MountSpec> mounts(3);
  mounts[0].target = "/data";
  mounts[1].target = "/data/logs/";
  mounts[2].target = "/srv";
  EXPECT_EQ(covering_mount(mounts, "/data"), &mounts[0]);
  EXPECT_EQ(covering_mount(mounts, "/data/x"), &mounts[0]);
  EXPECT_EQ(covering_mount(mounts, "/data/logs/today"), &mounts[1]);
  EXPECT_EQ(covering_mount(mounts, "/database"), nullptr);
  EXPECT_EQ(covering_mount(mounts, "/"), nullptr);
  EXPECT_EQ(covering_mount(mounts, "/srv/../etc"), nullptr);
}

}  // namespace
}  // namespace berth::containers
