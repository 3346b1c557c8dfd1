#include "image/layer_unpack.h"
#include "tests/image/compress_for_test.h"
#include "tests/support/error_of.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "image/archive_api.h"
#include "tests/support/run_berth.h"
#include "util/error.h"

namespace berth::image {
namespace {

using testing::error_of;

namespace stdfs = std::filesystem;

constexpr time_t k_mtime = 1'600'000'000;

/// One tar entry as the tests describe it.
struct Entry {
  std::string name;
  unsigned int type = AE_IFREG;
  mode_t perm = 0644;
  std::string data;
  std::string symlink;   // for AE_IFLNK
  std::string hardlink;  // makes the entry a hard link
  la_int64_t uid = 0;
  la_int64_t gid = 0;
  unsigned int major = 0;
  unsigned int minor = 0;
  time_t mtime = k_mtime;
  long mtime_nsec = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;
};

Entry file(std::string name, std::string data, mode_t perm = 0644) {
  Entry entry;
  entry.name = std::move(name);
  entry.data = std::move(data);
  entry.perm = perm;
  return entry;
}

Entry directory(std::string name, mode_t perm = 0755) {
  Entry entry;
  entry.name = std::move(name);
  entry.type = AE_IFDIR;
  entry.perm = perm;
  return entry;
}

Entry symlink(std::string name, std::string target) {
  Entry entry;
  entry.name = std::move(name);
  entry.type = AE_IFLNK;
  entry.perm = 0777;
  entry.symlink = std::move(target);
  return entry;
}

Entry hardlink(std::string name, std::string target) {
  Entry entry;
  entry.name = std::move(name);
  entry.hardlink = std::move(target);
  return entry;
}

enum class Format { pax, gnu, ustar };

/// The bytes of an uncompressed tar holding `entries`, written by libarchive.
std::string make_tar(const std::vector<Entry>& entries, Format format = Format::pax) {
  const ArchiveApi& api = archive_api();
  std::string bytes;
  const WriteArchive writer = new_write_archive();
  switch (format) {
    case Format::pax: api.archive_write_set_format_pax(writer.get()); break;
    case Format::gnu: api.archive_write_set_format_gnutar(writer.get()); break;
    case Format::ustar: api.archive_write_set_format_ustar(writer.get()); break;
  }
  api.archive_write_set_bytes_in_last_block(writer.get(), 1);
  EXPECT_EQ(api.archive_write_open(writer.get(), &bytes, nullptr, append_to_string, nullptr),
            ARCHIVE_OK);
  for (const auto& spec : entries) {
    const ArchiveEntry entry = new_archive_entry();
    api.archive_entry_set_pathname(entry.get(), spec.name.c_str());
    api.archive_entry_set_filetype(entry.get(), spec.type);
    api.archive_entry_set_perm(entry.get(), spec.perm);
    api.archive_entry_set_uid(entry.get(), spec.uid);
    api.archive_entry_set_gid(entry.get(), spec.gid);
    api.archive_entry_set_mtime(entry.get(), spec.mtime, spec.mtime_nsec);
    api.archive_entry_set_rdevmajor(entry.get(), spec.major);
    api.archive_entry_set_rdevminor(entry.get(), spec.minor);
    if (!spec.symlink.empty()) api.archive_entry_set_symlink(entry.get(), spec.symlink.c_str());
    if (!spec.hardlink.empty()) api.archive_entry_set_hardlink(entry.get(), spec.hardlink.c_str());
    for (const auto& [key, value] : spec.xattrs) {
      api.archive_entry_xattr_add_entry(entry.get(), key.c_str(), value.data(), value.size());
    }
    api.archive_entry_set_size(entry.get(), static_cast<la_int64_t>(spec.data.size()));
    EXPECT_GE(api.archive_write_header(writer.get(), entry.get()), ARCHIVE_WARN)
        << spec.name << ": " << archive_error(writer.get());
    if (!spec.data.empty()) {
      EXPECT_EQ(api.archive_write_data(writer.get(), spec.data.data(), spec.data.size()),
                static_cast<la_ssize_t>(spec.data.size()));
    }
  }
  EXPECT_EQ(api.archive_write_close(writer.get()), ARCHIVE_OK);
  return bytes;
}

struct stat lstat_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st;
}

std::optional<std::string> xattr_of(const std::string& path, const char* key) {
  char value[256];
  const ssize_t size = ::lgetxattr(path.c_str(), key, value, sizeof value);
  if (size < 0) return std::nullopt;
  return std::string(value, static_cast<std::size_t>(size));
}

/// A layer blob and the directory it is unpacked into, both in a fresh temporary directory.
class Layer {
 public:
  explicit Layer(const std::string& blob) {
    m_blob = m_dir.write("blob", blob);
    stdfs::create_directory(root());
  }
  const std::string& blob() const { return m_blob; }
  std::string root() const { return m_dir.path() + "/root"; }
  std::string at(const std::string& name) const { return root() + "/" + name; }
  Digest unpack() const { return unpack_layer(m_blob, root()); }
  std::string unpack_error() const {
    return error_of([&] { unpack(); });
  }

 private:
  testing::TempDir m_dir;
  std::string m_blob;
};

// --- content and metadata -------------------------------------------------------------------

TEST(UnpackLayer, KeepsContentModesOwnersAndTimes) {
  Entry tool = file("usr/bin/tool", "#!/bin/sh\n", 04755);
  tool.uid = 1234;
  tool.gid = 5678;
  tool.mtime_nsec = 123'456'789;
  Entry shared = directory("tmp", 01777);
  Entry group_dir = directory("srv", 02750);
  group_dir.gid = 5678;
  const Layer layer(make_tar({tool, shared, group_dir, file("srv/data", "x", 0600)}));
  layer.unpack();

  EXPECT_EQ(testing::read_text(layer.at("usr/bin/tool")), "#!/bin/sh\n");
  const struct stat st = lstat_of(layer.at("usr/bin/tool"));
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 04755u);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
  EXPECT_EQ(st.st_mtim.tv_sec, k_mtime);
  EXPECT_EQ(st.st_mtim.tv_nsec, 123'456'789);
  EXPECT_EQ(lstat_of(layer.at("tmp")).st_mode & 07777, 01777u);
  EXPECT_EQ(lstat_of(layer.at("srv")).st_mode & 07777, 02750u);
  EXPECT_EQ(lstat_of(layer.at("srv")).st_gid, 5678u);
  EXPECT_EQ(lstat_of(layer.at("srv/data")).st_mode & 07777, 0600u);
  // Parents the tar does not list are made 0755 and owned by root.
  for (const char* parent : {"usr", "usr/bin"}) {
    const struct stat made = lstat_of(layer.at(parent));
    EXPECT_TRUE(S_ISDIR(made.st_mode)) << parent;
    EXPECT_EQ(made.st_mode & 07777, 0755u) << parent;
    EXPECT_EQ(made.st_uid, 0u) << parent;
  }
}

TEST(UnpackLayer, DirectoryTimesAndModesAreSetAfterTheirContent) {
  Entry read_only = directory("ro", 0555);
  read_only.mtime = k_mtime + 10;
  Entry inner = directory("ro/inner", 0500);
  inner.mtime = k_mtime + 20;
  const Layer layer(
      make_tar({read_only, inner, file("ro/inner/file", "kept"), file("ro/other", "also kept")}));
  layer.unpack();

  EXPECT_EQ(testing::read_text(layer.at("ro/inner/file")), "kept");
  EXPECT_EQ(testing::read_text(layer.at("ro/other")), "also kept");
  EXPECT_EQ(lstat_of(layer.at("ro")).st_mode & 07777, 0555u);
  EXPECT_EQ(lstat_of(layer.at("ro/inner")).st_mode & 07777, 0500u);
  EXPECT_EQ(lstat_of(layer.at("ro")).st_mtim.tv_sec, k_mtime + 10);
  EXPECT_EQ(lstat_of(layer.at("ro/inner")).st_mtim.tv_sec, k_mtime + 20);
}

TEST(UnpackLayer, RootEntrySetsTheTargetsMetadata) {
  Entry root = directory("./", 0750);
  root.uid = 1234;
  root.gid = 5678;
  root.mtime = k_mtime + 5;
  const Layer layer(make_tar({root, file("./etc//hostname", "box\n")}));
  layer.unpack();

  EXPECT_EQ(testing::read_text(layer.at("etc/hostname")), "box\n");
  const struct stat st = lstat_of(layer.root());
  EXPECT_EQ(st.st_mode & 07777, 0750u);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
  EXPECT_EQ(st.st_mtim.tv_sec, k_mtime + 5);
}

TEST(UnpackLayer, KeepsXattrs) {
  Entry ping = file("bin/ping", "elf");
  ping.xattrs = {{"user.origin", "layer"}, {"trusted.note", std::string("a\0b", 3)}};
  Entry dir = directory("data");
  dir.xattrs = {{"user.kind", "dir"}, {"trusted.kind", "dir"}};
  Entry link = symlink("link", "bin/ping");
  link.xattrs = {{"trusted.kind", "link"}};
  Entry fifo = file("pipe", "");
  fifo.type = AE_IFIFO;
  fifo.xattrs = {{"trusted.kind", "fifo"}};
  const Layer layer(make_tar({ping, dir, link, fifo}));
  layer.unpack();

  EXPECT_EQ(xattr_of(layer.at("bin/ping"), "user.origin"), "layer");
  EXPECT_EQ(xattr_of(layer.at("bin/ping"), "trusted.note"), std::string("a\0b", 3));
  EXPECT_EQ(xattr_of(layer.at("data"), "user.kind"), "dir");
  EXPECT_EQ(xattr_of(layer.at("data"), "trusted.kind"), "dir");
  EXPECT_EQ(xattr_of(layer.at("link"), "trusted.kind"), "link");
  EXPECT_EQ(xattr_of(layer.at("pipe"), "trusted.kind"), "fifo");
}

TEST(UnpackLayer, HardLinksShareTheInode) {
  Entry original = file("bin/busybox", "multi-call", 0755);
  original.uid = 1234;
  const Layer layer(make_tar(
      {original, hardlink("bin/sh", "bin/busybox"), hardlink("./sbin/init", "./bin//busybox")}));
  layer.unpack();

  const struct stat target = lstat_of(layer.at("bin/busybox"));
  EXPECT_EQ(target.st_nlink, 3u);
  EXPECT_EQ(lstat_of(layer.at("bin/sh")).st_ino, target.st_ino);
  EXPECT_EQ(lstat_of(layer.at("sbin/init")).st_ino, target.st_ino);
  EXPECT_EQ(testing::read_text(layer.at("sbin/init")), "multi-call");
}

TEST(UnpackLayer, SymlinksKeepTheirTargetTextAndOwner) {
  Entry absolute = symlink("etc/mtab", "/proc/self/mounts");
  absolute.uid = 1234;
  absolute.gid = 5678;
  absolute.mtime = k_mtime + 7;
  const Layer layer(make_tar({absolute, symlink("up", "../../../outside"), symlink("dot", ".")}));
  layer.unpack();

  EXPECT_EQ(stdfs::read_symlink(layer.at("etc/mtab")), "/proc/self/mounts");
  EXPECT_EQ(stdfs::read_symlink(layer.at("up")), "../../../outside");
  EXPECT_EQ(stdfs::read_symlink(layer.at("dot")), ".");
  const struct stat st = lstat_of(layer.at("etc/mtab"));
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
  EXPECT_EQ(st.st_mtim.tv_sec, k_mtime + 7);
}

TEST(UnpackLayer, MakesDeviceNodesAndFifos) {
  Entry null = file("dev/null", "", 0666);
  null.type = AE_IFCHR;
  null.major = 1;
  null.minor = 3;
  Entry loop = file("dev/loop0", "", 0660);
  loop.type = AE_IFBLK;
  loop.major = 7;
  loop.minor = 0;
  loop.gid = 6;
  Entry fifo = file("run/initctl", "", 0600);
  fifo.type = AE_IFIFO;
  const Layer layer(make_tar({null, loop, fifo}));
  layer.unpack();

  const struct stat chr = lstat_of(layer.at("dev/null"));
  EXPECT_TRUE(S_ISCHR(chr.st_mode));
  EXPECT_EQ(chr.st_mode & 07777, 0666u);
  EXPECT_EQ(major(chr.st_rdev), 1u);
  EXPECT_EQ(minor(chr.st_rdev), 3u);
  const struct stat blk = lstat_of(layer.at("dev/loop0"));
  EXPECT_TRUE(S_ISBLK(blk.st_mode));
  EXPECT_EQ(blk.st_mode & 07777, 0660u);
  EXPECT_EQ(major(blk.st_rdev), 7u);
  EXPECT_EQ(minor(blk.st_rdev), 0u);
  EXPECT_EQ(blk.st_gid, 6u);
  const struct stat pipe = lstat_of(layer.at("run/initctl"));
  EXPECT_TRUE(S_ISFIFO(pipe.st_mode));
  EXPECT_EQ(pipe.st_mode & 07777, 0600u);
  EXPECT_EQ(pipe.st_mtim.tv_sec, k_mtime);
}

TEST(UnpackLayer, TurnsWhiteoutsIntoOverlayWhiteouts) {
  Entry opaque = file("var/cache/.wh..wh..opq", "");
  const Layer layer(make_tar({file("etc/.wh.motd", ""), directory("var/cache"), opaque,
                              file("var/cache/new", "n"), file(".wh.opt", "")}));
  layer.unpack();

  for (const char* hidden : {"etc/motd", "opt"}) {
    const struct stat st = lstat_of(layer.at(hidden));
    EXPECT_TRUE(S_ISCHR(st.st_mode)) << hidden;
    EXPECT_EQ(st.st_rdev, makedev(0, 0)) << hidden;
    EXPECT_EQ(st.st_mode & 07777, 0u) << hidden;
  }
  EXPECT_FALSE(stdfs::exists(stdfs::symlink_status(layer.at("etc/.wh.motd"))));
  EXPECT_FALSE(stdfs::exists(stdfs::symlink_status(layer.at("var/cache/.wh..wh..opq"))));
  EXPECT_EQ(xattr_of(layer.at("var/cache"), "trusted.overlay.opaque"), "y");
  EXPECT_EQ(xattr_of(layer.at("etc"), "trusted.overlay.opaque"), std::nullopt);
  EXPECT_EQ(testing::read_text(layer.at("var/cache/new")), "n");
}

TEST(UnpackLayer, LaterEntriesReplaceEarlierOnes) {
  testing::TempDir outside;
  Entry again = directory("d", 0700);
  again.uid = 1234;
  const Layer layer(make_tar({
      file("f", "first"), file("f", "second"),                      // file over file
      directory("d"), file("d/kept", "k"), again,                   // directory kept, updated
      file("x", "was a file"), directory("x"),                      // directory over file
      symlink("s", outside.path() + "/victim"), file("s", "mine"),  // file over symlink
      directory("e"), symlink("e", "/"),                            // symlink over empty directory
  }));
  layer.unpack();

  EXPECT_EQ(testing::read_text(layer.at("f")), "second");
  EXPECT_EQ(testing::read_text(layer.at("d/kept")), "k");
  EXPECT_EQ(lstat_of(layer.at("d")).st_mode & 07777, 0700u);
  EXPECT_EQ(lstat_of(layer.at("d")).st_uid, 1234u);
  EXPECT_TRUE(S_ISDIR(lstat_of(layer.at("x")).st_mode));
  EXPECT_TRUE(S_ISREG(lstat_of(layer.at("s")).st_mode));
  EXPECT_EQ(testing::read_text(layer.at("s")), "mine");
  EXPECT_FALSE(stdfs::exists(outside.path() + "/victim"));
  EXPECT_EQ(stdfs::read_symlink(layer.at("e")), "/");
}

TEST(UnpackLayer, ReadsUstarGnuAndPaxTars) {
  const std::string long_name = "deep/" + std::string(120, 'n') + "/file";
  const std::vector<Entry> entries{file(long_name, "long"), symlink("l", "deep"),
                                   file("caf\xc3\xa9", "utf-8 name")};
  for (const Format format : {Format::pax, Format::gnu, Format::ustar}) {
    const std::vector<Entry> used =
        format == Format::ustar ? std::vector<Entry>(entries.begin() + 1, entries.end()) : entries;
    const Layer layer(make_tar(used, format));
    layer.unpack();
    if (format != Format::ustar) {
      EXPECT_EQ(testing::read_text(layer.at(long_name)), "long");
    }
    EXPECT_EQ(stdfs::read_symlink(layer.at("l")), "deep");
    EXPECT_EQ(testing::read_text(layer.at("caf\xc3\xa9")), "utf-8 name");
  }
}

// --- diff id --------------------------------------------------------------------------------

TEST(UnpackLayer, DiffIdIsTheSha256OfTheUncompressedTar) {
  // Padding after the end-of-archive blocks, as tar(1) writes, is part of the diff id.
  const std::string tar = make_tar({file("a", "alpha"), directory("b"), file("b/c", "gamma")}) +
                          std::string(8192, '\0');
  const Digest expected = Digest::of(tar);
  const Layer plain(tar);
  const Layer gzip(compress(tar, Filter::gzip));
  const Layer zstd(compress(tar, Filter::zstd));
  const Layer xz(compress(tar, Filter::xz));
  const Layer bzip2(compress(tar, Filter::bzip2));
  for (const Layer* layer : {&plain, &gzip, &zstd, &xz, &bzip2}) {
    EXPECT_EQ(layer->unpack(), expected) << layer->blob();
    EXPECT_EQ(layer_diff_id(layer->blob()), expected) << layer->blob();
    EXPECT_EQ(testing::read_text(layer->at("b/c")), "gamma");
  }
  EXPECT_NE(expected, Digest::of(tar.substr(0, tar.size() - 8192)));
}

TEST(UnpackLayer, AnEmptyBlobIsAnEmptyLayer) {
  const Layer layer("");
  EXPECT_EQ(layer.unpack(), Digest::of(""));
  EXPECT_TRUE(stdfs::is_empty(layer.root()));
}

// --- refusals -------------------------------------------------------------------------------

TEST(UnpackLayer, RefusesNamesThatEscapeTheRoot) {
  for (const std::string name : {"../x", "/abs", "a/../../x", "a/..", ".wh..."}) {
    const Layer layer(make_tar({file("ok", "fine"), file(name, "evil")}));
    EXPECT_EQ(layer.unpack_error(),
              "layer " + layer.blob() + ": entry \"" + name + "\" escapes the layer root");
  }
  const Layer link(make_tar({hardlink("passwd", "../etc/passwd")}));
  EXPECT_EQ(link.unpack_error(),
            "layer " + link.blob() + ": entry \"passwd\" escapes the layer root");
  const Layer absolute(make_tar({hardlink("shadow", "/etc/shadow")}));
  EXPECT_EQ(absolute.unpack_error(),
            "layer " + absolute.blob() + ": entry \"shadow\" escapes the layer root");
}

TEST(UnpackLayer, NeverWritesThroughASymlink) {
  testing::TempDir outside;
  const Layer layer(make_tar({symlink("a", outside.path()), file("a/planted", "evil")}));
  EXPECT_EQ(layer.unpack_error(),
            "layer " + layer.blob() + ": entry \"a/planted\" goes through a symlink");
  EXPECT_TRUE(stdfs::is_empty(outside.path()));

  const Layer nested(
      make_tar({directory("d"), symlink("d/up", outside.path()), file("d/up/x/y", "evil")}));
  EXPECT_EQ(nested.unpack_error(),
            "layer " + nested.blob() + ": entry \"d/up/x/y\" goes through a symlink");
  EXPECT_TRUE(stdfs::is_empty(outside.path()));

  const std::string secret = outside.write("secret", "s");
  const Layer link(make_tar({symlink("o", outside.path()), hardlink("stolen", "o/secret")}));
  EXPECT_EQ(link.unpack_error(),
            "layer " + link.blob() + ": entry \"stolen\" goes through a symlink");
  EXPECT_EQ(lstat_of(secret).st_nlink, 1u);
}

TEST(UnpackLayer, NeverWritesEtcPasswdThroughASymlink) {
  const std::string before = testing::read_text("/etc/passwd");
  const Layer layer(make_tar({symlink("a", "/etc"), file("a/passwd", "root::0:0::/:/bin/sh\n")}));
  EXPECT_EQ(layer.unpack_error(),
            "layer " + layer.blob() + ": entry \"a/passwd\" goes through a symlink");
  EXPECT_EQ(testing::read_text("/etc/passwd"), before);
  EXPECT_EQ(stdfs::read_symlink(layer.at("a")), "/etc");
}

TEST(UnpackLayer, ReportsCorruptArchives) {
  const std::string tar = make_tar({file("a", std::string(100'000, 'a'))});
  const std::string gzip = compress(tar, Filter::gzip);
  const Layer truncated_gzip(gzip.substr(0, gzip.size() / 2));
  EXPECT_EQ(truncated_gzip.unpack_error(),
            "layer " + truncated_gzip.blob() + ": truncated gzip input");
  const std::string zstd = compress(tar, Filter::zstd);
  const Layer truncated_zstd(zstd.substr(0, zstd.size() / 2));
  EXPECT_EQ(truncated_zstd.unpack_error(),
            "layer " + truncated_zstd.blob() + ": Truncated zstd input");
  const Layer truncated_tar(tar.substr(0, 50'000));
  EXPECT_EQ(truncated_tar.unpack_error(),
            "layer " + truncated_tar.blob() + ": Truncated tar archive");
  const Layer garbage(std::string(4096, 'g'));
  EXPECT_EQ(garbage.unpack_error(), "layer " + garbage.blob() + ": not a tar archive");
  EXPECT_EQ(error_of([&] { layer_diff_id(garbage.blob()); }),
            "layer " + garbage.blob() + ": not a tar archive");
  const std::string missing = garbage.blob() + ".missing";
  EXPECT_EQ(error_of([&] { layer_diff_id(missing); }),
            "layer " + missing + ": No such file or directory");
}

}  // namespace
}  // namespace berth::image
