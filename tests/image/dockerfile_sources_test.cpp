#include "image/dockerfile/sources.h"
#include "tests/support/error_of.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/run_berth.h"
#include "util/unique_fd.h"

namespace berth::image::dockerfile {
namespace {

using testing::error_of;
namespace stdfs = std::filesystem;

constexpr time_t k_mtime = 1'600'000'000;

struct stat lstat_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st;
}

void set_mtime(const std::string& path, time_t seconds, long nanoseconds = 0) {
  const std::array<timespec, 2> times{timespec{seconds, nanoseconds},
                                      timespec{seconds, nanoseconds}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times.data(), AT_SYMLINK_NOFOLLOW), 0) << path;
}

/// Everything below `root`, a line each, sorted: "dir/ 755 0:0", "file 644 0:0 = content",
/// "link -> target 0:0".
std::string tree(const std::string& root) {
  std::vector<std::string> lines;
  for (const auto& entry : stdfs::recursive_directory_iterator(root)) {
    const std::string path = entry.path().string();
    // Lexically: stdfs::relative would resolve the symlinks this lists.
    const std::string name = path.substr(root.size() + 1);
    const struct stat st = lstat_of(path);
    const std::string owner = fmt::format("{}:{}", st.st_uid, st.st_gid);
    if (S_ISDIR(st.st_mode)) {
      lines.push_back(fmt::format("{}/ {:o} {}", name, st.st_mode & 07777, owner));
    } else if (S_ISLNK(st.st_mode)) {
      lines.push_back(fmt::format("{} -> {} {}", name, stdfs::read_symlink(path).string(), owner));
    } else {
      lines.push_back(fmt::format("{} {:o} {} = {}", name, st.st_mode & 07777, owner,
                                  testing::read_text(path)));
    }
  }
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const std::string& line : lines) {
    out += line + "\n";
  }
  return out;
}

class DockerfileSources : public ::testing::Test {
 protected:
  DockerfileSources()
      : m_context_fd(::open(m_context.path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)),
        m_dest_fd(::open(m_dest.path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)) {}

  // --- the build context ---

  std::string ctx(const std::string& name) const { return m_context.path() + "/" + name; }

  /// A context directory, parents made 0755.
  void dir(const std::string& name, mode_t mode = 0755) const {
    make_dir(m_context.path(), name, mode);
  }

  /// A context file with a fixed mtime, its missing parents made 0755.
  void file(const std::string& name, const std::string& content, mode_t mode = 0644) const {
    make_dir(m_context.path(), stdfs::path(name).parent_path().string(), 0755, false);
    m_context.write(name, content);
    ASSERT_EQ(::chmod(ctx(name).c_str(), mode), 0);
    set_mtime(ctx(name), k_mtime);
  }

  void link(const std::string& target, const std::string& name) const {
    ASSERT_EQ(::symlink(target.c_str(), ctx(name).c_str()), 0) << name;
  }

  void ignore(const std::string& text) {
    m_ignore = IgnoreRules::parse(text);
    m_use_ignore = true;
  }

  SourceRoot context() const {
    return {m_context_fd.get(), "build context", m_use_ignore ? &m_ignore : nullptr};
  }

  std::vector<std::string> match(std::string_view source) const {
    return match_sources(context(), source);
  }

  std::vector<std::string> paths_of(const std::vector<std::string>& sources) const {
    std::vector<std::string> paths;
    for (const std::string& source : sources) {
      for (std::string& path : match(source)) {
        paths.push_back(std::move(path));
      }
    }
    return paths;
  }

  std::string hash(const std::vector<std::string>& sources) const {
    return hash_sources(context(), paths_of(sources));
  }

  // --- the root filesystem being built ---

  std::string dest(const std::string& name) const { return m_dest.path() + "/" + name; }

  void dest_dir(const std::string& name, mode_t mode = 0755) const {
    make_dir(m_dest.path(), name, mode);
  }

  int dest_root_fd() const { return m_dest_fd.get(); }

  void dest_link(const std::string& target, const std::string& name) const {
    ASSERT_EQ(::symlink(target.c_str(), dest(name).c_str()), 0) << name;
  }

  void copy(const std::vector<std::string>& sources, std::string_view to,
            std::string_view workdir = "/", const CopyOptions& options = {}) const {
    copy_sources(context(), paths_of(sources), m_dest_fd.get(), to, workdir, options);
  }

  std::string dest_tree() const { return tree(m_dest.path()); }

 private:
  /// `name` below `root` and its parents; only `name` itself gets `mode` when it exists.
  static void make_dir(const std::string& root, const std::string& name, mode_t mode,
                       bool set_existing = true) {
    std::string path = root;
    for (const auto& element : stdfs::path(name)) {
      path += "/" + element.string();
      if (::mkdir(path.c_str(), 0755) == 0 || !set_existing) {
        ASSERT_EQ(::chmod(path.c_str(), 0755), 0) << path;
      }
    }
    if (!name.empty() && set_existing) {
      ASSERT_EQ(::chmod(path.c_str(), mode), 0) << path;
    }
  }

  testing::TempDir m_context;

 protected:
  testing::TempDir m_dest;

 private:
  Fd m_context_fd;
  Fd m_dest_fd;
  IgnoreRules m_ignore;
  bool m_use_ignore = false;
};

using Paths = std::vector<std::string>;

// --- matching ------------------------------------------------------------------------------

TEST_F(DockerfileSources, MatchesPlainPathsClampedAtTheRoot) {
  file("a.txt", "a");
  file("sub/b.txt", "b");
  EXPECT_EQ(match("a.txt"), Paths{"a.txt"});
  EXPECT_EQ(match("/a.txt"), Paths{"a.txt"});
  EXPECT_EQ(match("../../a.txt"), Paths{"a.txt"});
  EXPECT_EQ(match("./sub/../a.txt"), Paths{"a.txt"});
  EXPECT_EQ(match("sub/"), Paths{"sub"});
  EXPECT_EQ(match("."), Paths{"."});
  EXPECT_EQ(match("/"), Paths{"."});
}

TEST_F(DockerfileSources, MatchesWildcardsInAnyElement) {
  for (const char* name :
       {"a.py", "b.py", "c.txt", ".hidden.py", "src/x/conf", "src/y/conf", "src/z"}) {
    file(name, name);
  }
  EXPECT_EQ(match("*.py"), (Paths{".hidden.py", "a.py", "b.py"}));
  EXPECT_EQ(match("[ab].py"), (Paths{"a.py", "b.py"}));
  EXPECT_EQ(match("src/*/conf"), (Paths{"src/x/conf", "src/y/conf"}));
  EXPECT_EQ(match("src/?"), (Paths{"src/x", "src/y", "src/z"}));
  EXPECT_EQ(match("*"), (Paths{".hidden.py", "a.py", "b.py", "c.txt", "src"}));
  EXPECT_EQ(match("/s*/../*.txt"), Paths{"c.txt"});  // cleaned before matching
}

TEST_F(DockerfileSources, WildcardsWalkOnlyRealDirectories) {
  file("src/x/conf", "c");
  file("src/y/conf", "c");
  link("src", "lnk");
  // The element with a wildcard is not walked through the symlink, as Docker's walk does
  // not; a plain prefix is followed.
  EXPECT_EQ(match("*/x/conf"), Paths{"src/x/conf"});
  EXPECT_EQ(match("lnk/*/conf"), (Paths{"lnk/x/conf", "lnk/y/conf"}));
}

TEST_F(DockerfileSources, MissingSourcesAreErrors) {
  file("a.txt", "a");
  EXPECT_EQ(error_of([&] { match("nope"); }), "build context: \"nope\": no such file or directory");
  EXPECT_EQ(error_of([&] { match("a.txt/x"); }),
            "build context: \"a.txt/x\": no such file or directory");
  EXPECT_EQ(error_of([&] { match("*.rs"); }),
            "build context: \"*.rs\": no source files were specified");
  EXPECT_EQ(error_of([&] { match("nodir/*.txt"); }),
            "build context: \"nodir/*.txt\": no source files were specified");
  EXPECT_EQ(error_of([&] { match("[a-"); }),
            "build context: \"[a-\": no source files were specified");
}

TEST_F(DockerfileSources, SymlinksResolveInsideTheContext) {
  file("a.txt", "in context");
  link("/etc", "etc-link");
  link("../../../../..", "up");
  // "/etc" is the context's /etc, which has no passwd: the host's is never reached.
  EXPECT_EQ(error_of([&] { match("etc-link/passwd"); }),
            "build context: \"etc-link/passwd\": no such file or directory");
  file("etc/passwd", "the context's");
  EXPECT_EQ(match("etc-link/passwd"), Paths{"etc-link/passwd"});
  EXPECT_EQ(match("up/a.txt"), Paths{"up/a.txt"});

  copy({"etc-link/passwd", "up/a.txt"}, "/out/");
  EXPECT_EQ(testing::read_text(dest("out/passwd")), "the context's");
  EXPECT_EQ(testing::read_text(dest("out/a.txt")), "in context");
}

TEST_F(DockerfileSources, IgnoredPathsAreNoSources) {
  for (const char* name :
       {"a.txt", "c.log", "secret/key", "docs/README.md", "docs/guide.md", "logs/x.log"}) {
    file(name, name);
  }
  ignore("*.log\nsecret\ndocs\n!docs/README.md\nlogs/*.log");
  EXPECT_EQ(error_of([&] { match("c.log"); }),
            "build context: \"c.log\": no such file or directory");
  EXPECT_EQ(error_of([&] { match("secret/key"); }),
            "build context: \"secret/key\": no such file or directory");
  EXPECT_EQ(error_of([&] { match("secret"); }),
            "build context: \"secret\": no such file or directory");
  EXPECT_EQ(error_of([&] { match("*.log"); }),
            "build context: \"*.log\": no source files were specified");
  EXPECT_EQ(match("*"), (Paths{"a.txt", "docs", "logs"}));
  EXPECT_EQ(match("docs"), Paths{"docs"});  // excluded, but something in it is not
  EXPECT_EQ(match("docs/*"), Paths{"docs/README.md"});
  EXPECT_EQ(match("logs"), Paths{"logs"});  // not excluded itself, even when emptied
}

// --- hashing -------------------------------------------------------------------------------

TEST_F(DockerfileSources, HashFollowsContentModeAndEntriesNotTimes) {
  file("app/main.py", "print(1)");
  file("app/util.py", "x");
  const std::string original = hash({"app"});
  EXPECT_EQ(original.size(), 71u);
  EXPECT_TRUE(original.starts_with("sha256:")) << original;
  EXPECT_EQ(hash({"app"}), original);

  set_mtime(ctx("app/main.py"), k_mtime + 100);
  set_mtime(ctx("app"), k_mtime + 100);
  EXPECT_EQ(hash({"app"}), original) << "a touch misses no cache";

  file("app/main.py", "print(2)");
  EXPECT_NE(hash({"app"}), original);
  file("app/main.py", "print(1)");
  EXPECT_EQ(hash({"app"}), original);

  ASSERT_EQ(::chmod(ctx("app/main.py").c_str(), 0755), 0);
  EXPECT_NE(hash({"app"}), original);
  ASSERT_EQ(::chmod(ctx("app/main.py").c_str(), 0644), 0);
  EXPECT_EQ(hash({"app"}), original);

  file("app/new.py", "");
  EXPECT_NE(hash({"app"}), original);
  ASSERT_EQ(::unlink(ctx("app/new.py").c_str()), 0);
  EXPECT_EQ(hash({"app"}), original);

  link("main.py", "app/alias");
  const std::string with_link = hash({"app"});
  EXPECT_NE(with_link, original);
  ASSERT_EQ(::unlink(ctx("app/alias").c_str()), 0);
  link("util.py", "app/alias");
  EXPECT_NE(hash({"app"}), with_link) << "a symlink's target counts";

  EXPECT_NE(hash({"app/main.py"}), hash({"app/util.py"}));
  EXPECT_NE(hash({"app/main.py", "app/util.py"}), hash({"app/util.py", "app/main.py"}));
}

TEST_F(DockerfileSources, HashSkipsExcludedFilesAndFollowsTopLevelSymlinks) {
  file("app/main.py", "x");
  file("app/debug.log", "1");
  ignore("*.log\n**/*.log");
  const std::string original = hash({"app"});
  file("app/debug.log", "2");
  file("app/more.log", "3");
  EXPECT_EQ(hash({"app"}), original);

  file("real.txt", "1");
  link("real.txt", "lnk");
  const std::string through_link = hash({"lnk"});
  file("real.txt", "2");
  EXPECT_NE(hash({"lnk"}), through_link);
}

// --- copying -------------------------------------------------------------------------------

TEST_F(DockerfileSources, CopiesAFileIntoADirectory) {
  file("a.txt", "hello");
  copy({"a.txt"}, "/app/");
  EXPECT_EQ(dest_tree(),
            "app/ 755 0:0\n"
            "app/a.txt 644 0:0 = hello\n");
}

TEST_F(DockerfileSources, CopiesAFileToANewName) {
  file("a.txt", "hello");
  copy({"a.txt"}, "/app/b.txt");
  copy({"a.txt"}, "/data");
  EXPECT_EQ(dest_tree(),
            "app/ 755 0:0\n"
            "app/b.txt 644 0:0 = hello\n"
            "data 644 0:0 = hello\n");
}

TEST_F(DockerfileSources, AFileOntoAnExistingDirectoryGoesInside) {
  file("a.txt", "hello");
  dest_dir("app", 0700);
  copy({"a.txt"}, "/app");
  EXPECT_EQ(dest_tree(),
            "app/ 700 0:0\n"
            "app/a.txt 644 0:0 = hello\n");
}

TEST_F(DockerfileSources, ADirectoryCopiesItsContents) {
  file("src/top", "t");
  file("src/x/conf", "c");
  dir("src/x", 0750);
  copy({"src"}, "/app");
  copy({"src/"}, "/other/");
  EXPECT_EQ(dest_tree(),
            "app/ 755 0:0\n"
            "app/top 644 0:0 = t\n"
            "app/x/ 750 0:0\n"
            "app/x/conf 644 0:0 = c\n"
            "other/ 755 0:0\n"
            "other/top 644 0:0 = t\n"
            "other/x/ 750 0:0\n"
            "other/x/conf 644 0:0 = c\n");
}

TEST_F(DockerfileSources, SeveralSourcesNeedADirectoryEndingInSlash) {
  file("a.txt", "a");
  file("b.txt", "b");
  copy({"a.txt", "b.txt"}, "/app/");
  copy({"a.*"}, "/one");  // a pattern with a single match may name a file
  EXPECT_EQ(dest_tree(),
            "app/ 755 0:0\n"
            "app/a.txt 644 0:0 = a\n"
            "app/b.txt 644 0:0 = b\n"
            "one 644 0:0 = a\n");
  const std::string why =
      "When using COPY with more than one source file, the destination must be a directory "
      "and end with a /";
  EXPECT_EQ(error_of([&] { copy({"a.txt", "b.txt"}, "/app"); }), "destination \"/app\": " + why);
  EXPECT_EQ(error_of([&] { copy({"*.txt"}, "out"); }), "destination \"out\": " + why);
}

TEST_F(DockerfileSources, ARelativeDestinationIsTakenFromTheWorkdir) {
  file("a.txt", "a");
  copy({"a.txt"}, "data/", "/srv");
  copy({"a.txt"}, ".", "/work");
  copy({"a.txt"}, "b.txt", "/work");
  copy({"a.txt"}, "../up.txt", "/work");
  EXPECT_EQ(dest_tree(),
            "srv/ 755 0:0\n"
            "srv/data/ 755 0:0\n"
            "srv/data/a.txt 644 0:0 = a\n"
            "up.txt 644 0:0 = a\n"
            "work/ 755 0:0\n"
            "work/a.txt 644 0:0 = a\n"
            "work/b.txt 644 0:0 = a\n");
}

TEST_F(DockerfileSources, ChownAndChmodApplyToEverythingCopied) {
  file("src/bin/tool", "#!/bin/sh", 0755);
  file("src/readme", "r");
  link("readme", "src/doc");
  CopyOptions options;
  options.uid = 1000;
  options.gid = 1001;
  options.mode = 0640;
  copy({"src"}, "/opt/app/", "/", options);
  // Directories made on the way are 0755; those copied take --chmod; symlinks no mode.
  EXPECT_EQ(dest_tree(),
            "opt/ 755 1000:1001\n"
            "opt/app/ 755 1000:1001\n"
            "opt/app/bin/ 640 1000:1001\n"
            "opt/app/bin/tool 640 1000:1001 = #!/bin/sh\n"
            "opt/app/doc -> readme 1000:1001\n"
            "opt/app/readme 640 1000:1001 = r\n");

  options.mode = 04750;
  copy({"src/readme"}, "/setuid", "/", options);
  EXPECT_EQ(lstat_of(dest("setuid")).st_mode & 07777, 04750u);
}

TEST_F(DockerfileSources, ModesTimesAndOptionallyOwnersAreKept) {
  file("tool", "x", 04751);
  set_mtime(ctx("tool"), k_mtime, 123'456'789);
  ASSERT_EQ(::chown(ctx("tool").c_str(), 123, 456), 0);
  ASSERT_EQ(::chmod(ctx("tool").c_str(), 04751), 0);  // chown cleared the set-uid bit
  copy({"tool"}, "/bin/");
  const struct stat copied = lstat_of(dest("bin/tool"));
  EXPECT_EQ(copied.st_mode & 07777, 04751u);
  EXPECT_EQ(copied.st_uid, 0u);
  EXPECT_EQ(copied.st_gid, 0u);
  EXPECT_EQ(copied.st_mtim.tv_sec, k_mtime);
  EXPECT_EQ(copied.st_mtim.tv_nsec, 123'456'789);

  CopyOptions from_stage;
  from_stage.keep_source_owner = true;
  copy({"tool"}, "/kept", "/", from_stage);
  EXPECT_EQ(lstat_of(dest("kept")).st_uid, 123u);
  EXPECT_EQ(lstat_of(dest("kept")).st_gid, 456u);
  EXPECT_EQ(lstat_of(dest("kept")).st_mode & 07777, 04751u);

  from_stage.gid = 9;  // --chown=:9 keeps the source's user
  copy({"tool"}, "/regrouped", "/", from_stage);
  EXPECT_EQ(lstat_of(dest("regrouped")).st_uid, 123u);
  EXPECT_EQ(lstat_of(dest("regrouped")).st_gid, 9u);
}

TEST_F(DockerfileSources, SymlinksInsideDirectoriesAreKept) {
  file("src/target.txt", "t");
  link("target.txt", "src/rel");
  link("/etc/passwd", "src/abs");
  link("missing", "src/dangling");
  copy({"src"}, "/app");
  EXPECT_EQ(dest_tree(),
            "app/ 755 0:0\n"
            "app/abs -> /etc/passwd 0:0\n"
            "app/dangling -> missing 0:0\n"
            "app/rel -> target.txt 0:0\n"
            "app/target.txt 644 0:0 = t\n");
}

TEST_F(DockerfileSources, ATopLevelSymlinkIsFollowed) {
  file("real.txt", "content");
  link("real.txt", "lnk");
  file("src/inner", "i");
  link("src", "dirlnk");
  copy({"lnk"}, "/app/");
  copy({"dirlnk"}, "/d");
  EXPECT_EQ(dest_tree(),
            "app/ 755 0:0\n"
            "app/lnk 644 0:0 = content\n"
            "d/ 755 0:0\n"
            "d/inner 644 0:0 = i\n");
}

TEST_F(DockerfileSources, DestinationSymlinksResolveInsideTheRoot) {
  const std::string outside = fmt::format("berth-copy-escape-{}", ::getpid());
  ASSERT_FALSE(stdfs::exists("/" + outside));
  file("a.txt", "a");
  dest_link("/" + outside, "app");
  dest_link("../../../../..", "up");
  dest_link("/etc/app.conf", "cfg");
  copy({"a.txt"}, "/app/");
  copy({"a.txt"}, "/up/x.txt");
  copy({"a.txt"}, "/cfg");
  copy({"a.txt"}, "/up/app/deeper/");
  EXPECT_FALSE(stdfs::exists("/" + outside)) << "the copy left the root";
  EXPECT_EQ(dest_tree(), fmt::format("app -> /{0} 0:0\n"
                                     "{0}/ 755 0:0\n"
                                     "{0}/a.txt 644 0:0 = a\n"
                                     "{0}/deeper/ 755 0:0\n"
                                     "{0}/deeper/a.txt 644 0:0 = a\n"
                                     "cfg -> /etc/app.conf 0:0\n"
                                     "etc/ 755 0:0\n"
                                     "etc/app.conf 644 0:0 = a\n"
                                     "up -> ../../../../.. 0:0\n"
                                     "x.txt 644 0:0 = a\n",
                                     outside));
}

TEST_F(DockerfileSources, ExistingFilesAndSymlinksAreReplacedNotFollowed) {
  file("src/a.txt", "new");
  dest_dir("app");
  dest_link("/etc/shadow-target", "app/a.txt");
  copy({"src"}, "/app");
  copy({"src/a.txt"}, "/app/");
  EXPECT_EQ(dest_tree(),
            "app/ 755 0:0\n"
            "app/a.txt 644 0:0 = new\n");
}

TEST_F(DockerfileSources, HardLinksBetweenCopiedFilesAreKept) {
  file("src/one", "same");
  ASSERT_EQ(::link(ctx("src/one").c_str(), ctx("src/two").c_str()), 0);
  file("src/three", "same");
  copy({"src"}, "/app");
  const struct stat one = lstat_of(dest("app/one"));
  const struct stat two = lstat_of(dest("app/two"));
  EXPECT_EQ(one.st_ino, two.st_ino);
  EXPECT_EQ(one.st_nlink, 2u);
  EXPECT_NE(lstat_of(dest("app/three")).st_ino, one.st_ino);
  EXPECT_EQ(testing::read_text(dest("app/two")), "same");

  // The hash sees the link too: a copy and a link are not the same tree.
  const std::string linked = hash({"src"});
  ASSERT_EQ(::unlink(ctx("src/two").c_str()), 0);
  file("src/two", "same");
  EXPECT_NE(hash({"src"}), linked);
}

TEST_F(DockerfileSources, ExcludedFilesAreNotCopied) {
  for (const char* name : {"a.txt", "b.log", "secret/key", "docs/README.md", "docs/guide.md",
                           "sub/c.log", "sub/d.txt"}) {
    file(name, "x");
  }
  ignore("**/*.log\nsecret\ndocs\n!docs/README.md");
  copy({"."}, "/app");
  EXPECT_EQ(dest_tree(),
            "app/ 755 0:0\n"
            "app/a.txt 644 0:0 = x\n"
            "app/docs/ 755 0:0\n"
            "app/docs/README.md 644 0:0 = x\n"
            "app/sub/ 755 0:0\n"
            "app/sub/d.txt 644 0:0 = x\n");
}

TEST_F(DockerfileSources, CopyErrorsNameWhatIsWrong) {
  file("a.txt", "a");
  file("src/x/conf", "c");
  EXPECT_EQ(error_of([&] { copy_sources(context(), {"gone"}, dest_root_fd(), "/app", "/", {}); }),
            "build context: \"gone\": no such file or directory");

  m_dest.write("file", "f");
  EXPECT_EQ(error_of([&] { copy({"src"}, "/file"); }),
            "destination \"/file\": cannot copy directory \"src\" to non-directory /file");
  EXPECT_EQ(error_of([&] { copy({"a.txt"}, "/file/x/"); }),
            "destination \"/file/x/\": /file/x: Not a directory");

  dest_dir("app/x/conf");
  EXPECT_EQ(error_of([&] { copy({"src"}, "/app"); }),
            "destination \"/app\": cannot replace directory /app/x/conf with a file");

  dest_dir("lib");
  dest_link("/etc", "lib/x");
  EXPECT_EQ(error_of([&] { copy({"src"}, "/lib"); }),
            "destination \"/lib\": cannot copy to non-directory: /lib/x");
}

}  // namespace
}  // namespace berth::image::dockerfile
