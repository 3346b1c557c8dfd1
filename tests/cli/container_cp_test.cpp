// `berth container cp` end to end, as root, on crun and runc: files and directories into and
// out of running and stopped containers with Docker's rules ("/.", directories onto
// directories, tar streams), owners, volumes and binds, and symlinks in the container that
// must never lead a copy to the host's files.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "image/tar_reader.h"
#include "image/tar_writer.h"
#include "tests/cli/container_fixture.h"

namespace berth::testing {
namespace {

namespace stdfs = std::filesystem;
using ::testing::HasSubstr;

class ContainerCp : public ContainerCli {
 protected:
  void SetUp() override {
    ContainerCli::SetUp();
    if (IsSkipped()) return;
    m_work.write("in/hello.txt", "hello\n");
    m_work.write("in/tree/a/b.txt", "bee\n");
    m_work.write("in/tree/top.txt", "top\n");
  }

  /// A container that runs until removed, with `options` before the image.
  void start(const std::string& name, std::vector<std::string> options = {}) {
    std::vector<std::string> args{"container", "run", "-d", "--name", name};
    args.insert(args.end(), options.begin(), options.end());
    args.insert(args.end(), {"bb:1", "sleep", "1000"});
    const auto result = berth(args);
    ASSERT_EQ(result.exit_code, 0) << result.err;
  }

  RunResult cp(const std::vector<std::string>& args, const std::string& stdin_text = "") {
    std::vector<std::string> full{"container", "cp"};
    full.insert(full.end(), args.begin(), args.end());
    return berth(full, stdin_text);
  }

  void expect_copied(const RunResult& result) { EXPECT_EQ(result.exit_code, 0) << result.err; }

  /// `sh -c script` in the container; its standard output.
  std::string sh(const std::string& container, const std::string& script) {
    const auto result = berth({"container", "exec", container, "sh", "-c", script});
    EXPECT_EQ(result.exit_code, 0) << script << ": " << result.err;
    return result.out;
  }

  std::string in(const std::string& relative) { return m_work.path() + "/in/" + relative; }
  std::string out(const std::string& relative) { return m_work.path() + "/out/" + relative; }

  static std::set<std::string> tar_names(const std::string& path) {
    std::set<std::string> names;
    image::for_each_tar_entry(path, [&](image::TarEntry& entry) { names.insert(entry.name()); });
    return names;
  }
};

TEST_P(ContainerCp, CopiesFilesAndDirectoriesIntoARunningContainer) {
  start("box");
  expect_copied(cp({in("hello.txt"), "box:/tmp/"}));
  EXPECT_EQ(sh("box", "cat /tmp/hello.txt"), "hello\n");
  // A file onto a new name, and onto an existing file.
  expect_copied(cp({in("hello.txt"), "box:tmp/renamed.txt"}));
  EXPECT_EQ(sh("box", "cat /tmp/renamed.txt"), "hello\n");
  expect_copied(cp({in("tree/top.txt"), "box:/tmp/renamed.txt"}));
  EXPECT_EQ(sh("box", "cat /tmp/renamed.txt"), "top\n");

  // A directory onto a missing path becomes it; onto an existing directory, goes inside.
  expect_copied(cp({in("tree"), "box:/tmp/tree"}));
  EXPECT_EQ(sh("box", "cat /tmp/tree/a/b.txt /tmp/tree/top.txt"), "bee\ntop\n");
  expect_copied(cp({in("tree"), "box:/tmp/tree"}));
  EXPECT_EQ(sh("box", "cat /tmp/tree/tree/a/b.txt"), "bee\n");
  // "/." copies the contents.
  sh("box", "mkdir /tmp/contents");
  expect_copied(cp({in("tree/."), "box:/tmp/contents"}));
  EXPECT_EQ(sh("box", "ls /tmp/contents"), "a\ntop.txt\n");

  // Docker's errors.
  EXPECT_THAT(cp({in("tree"), "box:/tmp/hello.txt"}).err,
              HasSubstr("cannot copy directory: /tmp/hello.txt is not a directory"));
  EXPECT_THAT(cp({in("hello.txt"), "box:/tmp/nodir/"}).err,
              HasSubstr("no such directory: /tmp/nodir/"));
  EXPECT_THAT(cp({in("missing.txt"), "box:/tmp/"}).err,
              HasSubstr("lstat " + in("missing.txt") + ": No such file or directory"));
  EXPECT_THAT(cp({in("hello.txt"), "box:/no/such/dir/file"}).err,
              HasSubstr("Could not find the file /no/such/dir in container box"));
}

TEST_P(ContainerCp, GivesRootOwnershipUnlessArchiveMode) {
  start("box");
  ASSERT_EQ(::chown(in("hello.txt").c_str(), 1234, 5678), 0);
  ASSERT_EQ(::chmod(in("hello.txt").c_str(), 0640), 0);
  expect_copied(cp({in("hello.txt"), "box:/tmp/root.txt"}));
  EXPECT_EQ(sh("box", "stat -c %u:%g:%a /tmp/root.txt"), "0:0:640\n");
  expect_copied(cp({"-a", in("hello.txt"), "box:/tmp/kept.txt"}));
  EXPECT_EQ(sh("box", "stat -c %u:%g:%a /tmp/kept.txt"), "1234:5678:640\n");

  // Out of the container: the caller's owner, or the container's with -a.
  sh("box", "echo x > /tmp/owned && chown 42:43 /tmp/owned");
  stdfs::create_directories(out(""));
  expect_copied(cp({"box:/tmp/owned", out("caller")}));
  expect_copied(cp({"-a", "box:/tmp/owned", out("kept")}));
  struct stat st {};
  ASSERT_EQ(::stat(out("caller").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, ::geteuid());
  ASSERT_EQ(::stat(out("kept").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 42u);
  EXPECT_EQ(st.st_gid, 43u);
}

TEST_P(ContainerCp, CopiesOutOfAContainer) {
  start("box");
  sh("box",
     "mkdir -p /srv/site/css && echo body > /srv/site/index.html && "
     "echo red > /srv/site/css/main.css && ln -s index.html /srv/site/home");
  stdfs::create_directories(out(""));
  expect_copied(cp({"box:/srv/site/index.html", out("")}));
  EXPECT_EQ(read_text(out("index.html")), "body\n");
  expect_copied(cp({"box:/srv/site", out("site")}));
  EXPECT_EQ(read_text(out("site/css/main.css")), "red\n");
  EXPECT_EQ(stdfs::read_symlink(out("site/home")), "index.html");
  expect_copied(cp({"box:/srv/site", out("site")}));  // onto the existing copy: inside it
  EXPECT_EQ(read_text(out("site/site/index.html")), "body\n");
  stdfs::create_directories(out("contents"));
  expect_copied(cp({"box:/srv/site/.", out("contents")}));
  EXPECT_EQ(read_text(out("contents/css/main.css")), "red\n");
  EXPECT_FALSE(stdfs::exists(out("contents/site")));
  // The container's own /etc/hostname (berth's generated file), not the image's.
  expect_copied(cp({"box:/etc/hostname", out("hostname")}));
  EXPECT_EQ(read_text(out("hostname")), sh("box", "cat /etc/hostname"));
  // -L copies what the link leads to, under the link's name.
  expect_copied(cp({"-L", "box:/srv/site/home", out("followed")}));
  EXPECT_EQ(read_text(out("followed")), "body\n");

  const auto missing = cp({"box:/nope", out("")});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("Could not find the file /nope in container box"));
  EXPECT_THAT(cp({"ghost:/etc/hosts", out("")}).err, HasSubstr("No such container: ghost"));
  EXPECT_THAT(
      cp({"box:/etc/hosts", m_work.path() + "/no/dir/x"}).err,
      HasSubstr("invalid output path: directory \"" + m_work.path() + "/no/dir\" does not exist"));
  EXPECT_THAT(cp({in("hello.txt"), out("x")}).err,
              HasSubstr("must specify at least one container source"));
}

TEST_P(ContainerCp, StreamsTarArchives) {
  start("box");
  sh("box", "mkdir -p /srv/site && echo body > /srv/site/index.html");
  const auto streamed = cp({"box:/srv/site", "-"});
  ASSERT_EQ(streamed.exit_code, 0) << streamed.err;
  const std::string archive = m_work.write("site.tar", streamed.out);
  EXPECT_EQ(tar_names(archive), (std::set<std::string>{"site", "site/index.html"}));
  const auto contents = cp({"box:/srv/site/.", "-"});
  EXPECT_EQ(tar_names(m_work.write("contents.tar", contents.out)),
            (std::set<std::string>{"index.html"}));

  // From standard input, into a directory.
  {
    image::TarWriter writer(m_work.path() + "/upload.tar");
    writer.add_directory("up");
    writer.add_file("up/note.txt", "from a tar\n");
    writer.close();
  }
  expect_copied(cp({"-", "box:/tmp"}, read_text(m_work.path() + "/upload.tar")));
  EXPECT_EQ(sh("box", "cat /tmp/up/note.txt"), "from a tar\n");
  EXPECT_THAT(cp({"-", "box:/tmp/up/note.txt"}, read_text(m_work.path() + "/upload.tar")).err,
              HasSubstr("destination \"box:/tmp/up/note.txt\" must be a directory"));
}

TEST_P(ContainerCp, WorksOnStoppedContainersAndLeavesNothingMounted) {
  const auto created = berth({"container", "create", "--name", "later", "-v", "keep:/data", "bb:1",
                              "cat", "/etc/motd", "/data/in-volume.txt"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  m_work.write("in/motd", "welcome\n");
  expect_copied(cp({in("motd"), "later:/etc/motd"}));
  expect_copied(cp({in("hello.txt"), "later:/data/in-volume.txt"}));
  EXPECT_FALSE(has_mount_under(m_work.path())) << "cp left a mount behind";
  EXPECT_EQ(read_text(m_work.path() + "/root/volumes/keep/_data/in-volume.txt"), "hello\n");
  const auto started = berth({"container", "start", "-a", "later"});
  EXPECT_EQ(started.out, "welcome\nhello\n") << started.err;
  // Exited now: out of it again.
  stdfs::create_directories(out(""));
  expect_copied(cp({"later:/etc/motd", out("motd")}));
  EXPECT_EQ(read_text(out("motd")), "welcome\n");
  EXPECT_FALSE(has_mount_under(m_work.path())) << "cp left a mount behind";
}

TEST_P(ContainerCp, PathsUnderVolumesAndBindsGoToTheirSources) {
  stdfs::create_directories(m_work.path() + "/bound");
  start("box", {"-v", "named:/data", "-v", m_work.path() + "/bound:/mnt/bound", "-v",
                m_work.path() + "/in:/mnt/ro:ro"});
  expect_copied(cp({in("hello.txt"), "box:/data/"}));
  EXPECT_EQ(read_text(m_work.path() + "/root/volumes/named/_data/hello.txt"), "hello\n");
  expect_copied(cp({in("tree"), "box:/mnt/bound/tree"}));
  EXPECT_EQ(read_text(m_work.path() + "/bound/tree/a/b.txt"), "bee\n");
  EXPECT_EQ(sh("box", "cat /mnt/bound/tree/a/b.txt"), "bee\n");
  EXPECT_THAT(cp({in("hello.txt"), "box:/mnt/ro/x.txt"}).err,
              HasSubstr("mounted volume is marked read-only"));
  EXPECT_FALSE(stdfs::exists(in("x.txt")));
  // Out of a volume as well.
  sh("box", "echo inside > /data/made-inside.txt");
  stdfs::create_directories(out(""));
  expect_copied(cp({"box:/data/made-inside.txt", out("")}));
  EXPECT_EQ(read_text(out("made-inside.txt")), "inside\n");
}

TEST_P(ContainerCp, RefusesAReadOnlyRoot) {
  start("box", {"--read-only"});
  EXPECT_THAT(cp({in("hello.txt"), "box:/tmp/"}).err,
              HasSubstr("container rootfs is marked read-only"));
}

// Symlinks the container controls resolve inside its root, never on the host: neither a
// read nor a write through them may reach the host's files.
TEST_P(ContainerCp, SymlinksInTheContainerNeverReachTheHost) {
  start("box");
  const std::string secret = m_work.write("host/secret.txt", "host secret\n");
  const std::string victim = m_work.write("host/victim.txt", "untouched\n");
  sh("box",
     "ln -s / /tmp/root && ln -s ../../../../../../.. /tmp/up && "
     "ln -s " +
         victim +
         " /tmp/victim && mkdir -p /tmp/dir && "
         "ln -s " +
         m_work.path() + "/host /tmp/dir/host");
  stdfs::create_directories(out(""));
  // Reads: the host's secret is not in the container, whatever the path.
  for (const std::string via : {"/tmp/root", "/tmp/up"}) {
    const auto read = cp({"box:" + via + secret, out("stolen")});
    EXPECT_THAT(read.err, HasSubstr("Could not find the file")) << via;
    EXPECT_FALSE(stdfs::exists(out("stolen"))) << via;
  }
  EXPECT_NE(cp({"-L", "box:/tmp/victim", out("stolen")}).exit_code, 0);
  EXPECT_FALSE(stdfs::exists(out("stolen")));
  // Writes land in the container's root, never on the host.
  m_work.write("in/victim.txt", "overwritten\n");
  for (const std::string via : {"/tmp/root", "/tmp/up"}) {
    const auto write = cp({in("victim.txt"), "box:" + via + victim});
    EXPECT_THAT(write.err, HasSubstr("Could not find the file")) << via;
  }
  // Once the container has the directory, the dangling link's target is made in it.
  sh("box", "mkdir -p " + m_work.path() + "/host");
  expect_copied(cp({in("victim.txt"), "box:/tmp/victim"}));
  expect_copied(cp({in("tree"), "box:/tmp/dir/host"}));
  EXPECT_EQ(read_text(victim), "untouched\n");
  EXPECT_FALSE(stdfs::exists(m_work.path() + "/host/tree"));
  EXPECT_EQ(sh("box", "cat " + victim), "overwritten\n");
  // An archive whose directory is the container's symlink to "/" stays in the container too.
  {
    image::TarWriter writer(m_work.path() + "/evil.tar");
    writer.add_file("root" + m_work.path() + "/host/planted.txt", "planted\n");
    writer.close();
  }
  berth({"container", "cp", "-", "box:/tmp"}, read_text(m_work.path() + "/evil.tar"));
  EXPECT_FALSE(stdfs::exists(m_work.path() + "/host/planted.txt"));
  EXPECT_EQ(read_text(secret), "host secret\n");
}

INSTANTIATE_TEST_SUITE_P(Runtimes, ContainerCp, ::testing::Values("crun", "runc"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace berth::testing
