#include "image/layer_commit.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "image/archive_api.h"
#include "image/layer_unpack.h"
#include "image/tar_reader.h"
#include "tests/support/error_of.h"
#include "tests/support/run_berth.h"
#include "util/sha256.h"

namespace berth::image {
namespace {

using testing::error_of;
using testing::read_text;
using testing::TempDir;

constexpr time_t k_mtime = 1'600'000'000;

// --- building trees ------------------------------------------------------------------------

void write_file(const std::string& path, const std::string& content, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0) << path << ": " << std::strerror(errno);
  ASSERT_EQ(::write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
  ASSERT_EQ(::fchmod(fd, mode), 0) << path;
  ::close(fd);
}

void make_dir(const std::string& path, mode_t mode) {
  ASSERT_EQ(::mkdir(path.c_str(), mode), 0) << path << ": " << std::strerror(errno);
  ASSERT_EQ(::chmod(path.c_str(), mode), 0) << path;
}

void set_xattr(const std::string& path, const std::string& key, const std::string& value) {
  ASSERT_EQ(::lsetxattr(path.c_str(), key.c_str(), value.data(), value.size(), 0), 0)
      << path << " " << key << ": " << std::strerror(errno);
}

void set_mtime(const std::string& path, time_t seconds, long nanoseconds = 0) {
  const timespec times[2] = {{seconds, nanoseconds}, {seconds, nanoseconds}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW), 0) << path;
}

struct stat lstat_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path << ": " << std::strerror(errno);
  return st;
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

std::optional<std::string> xattr_of(const std::string& path, const char* key) {
  char value[256];
  const ssize_t size = ::lgetxattr(path.c_str(), key, value, sizeof value);
  if (size < 0) return std::nullopt;
  return std::string(value, static_cast<std::size_t>(size));
}

std::set<std::string> names_in(const std::string& dir) {
  std::set<std::string> names;
  DIR* stream = ::opendir(dir.c_str());
  EXPECT_NE(stream, nullptr) << dir;
  if (stream == nullptr) return names;
  while (const dirent* entry = ::readdir(stream)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.insert(name);
  }
  ::closedir(stream);
  return names;
}

/// security.capability granting cap_net_raw (ping's): vfs_cap_data revision 2, little-endian.
std::string net_raw_capability() {
  const std::uint32_t words[5] = {0x02000001, 1u << 13, 0, 0, 0};
  std::string value(sizeof words, '\0');
  std::memcpy(value.data(), words, sizeof words);
  return value;
}

/// A mount, unmounted when the guard dies (a failed assertion included).
class MountGuard {
 public:
  MountGuard(const char* type, const std::string& target, const std::string& options,
             unsigned long flags = 0)
      : m_target(target) {
    m_mounted = ::mount(type, target.c_str(), type, flags, options.c_str()) == 0;
    m_error = m_mounted ? "" : std::strerror(errno);
  }
  ~MountGuard() { unmount(); }
  MountGuard(const MountGuard&) = delete;
  MountGuard& operator=(const MountGuard&) = delete;

  bool mounted() const { return m_mounted; }
  const std::string& error() const { return m_error; }
  void unmount() {
    if (m_mounted && ::umount2(m_target.c_str(), 0) != 0) {
      ::umount2(m_target.c_str(), MNT_DETACH);
    }
    m_mounted = false;
  }

 private:
  std::string m_target;
  bool m_mounted = false;
  std::string m_error;
};

// --- reading layers ------------------------------------------------------------------------

std::string printable(const std::string& value) {
  std::string text;
  for (const unsigned char c : value) {
    text += c >= 0x20 && c < 0x7f ? std::string(1, static_cast<char>(c))
                                  : fmt::format("\\x{:02x}", static_cast<unsigned>(c));
  }
  return text;
}

/// One line per tar entry: "<name> <type> <mode> <uid>:<gid> <size> [@mtime] [details]".
std::string describe(archive_entry* entry, bool with_mtime) {
  const ArchiveApi& api = archive_api();
  const std::string name = api.archive_entry_pathname(entry);
  if (const char* target = api.archive_entry_hardlink(entry)) {
    return fmt::format("{} h => {}", name, target);
  }
  const unsigned int type = api.archive_entry_filetype(entry);
  const char* kind = type == AE_IFDIR   ? "d"
                     : type == AE_IFREG ? "f"
                     : type == AE_IFLNK ? "l"
                     : type == AE_IFCHR ? "c"
                     : type == AE_IFBLK ? "b"
                     : type == AE_IFIFO ? "p"
                                        : "?";
  std::string line = fmt::format("{} {} {:04o} {}:{} {}", name, kind, api.archive_entry_perm(entry),
                                 api.archive_entry_uid(entry), api.archive_entry_gid(entry),
                                 api.archive_entry_size(entry));
  if (with_mtime) line += fmt::format(" @{}", api.archive_entry_mtime(entry));
  if (type == AE_IFLNK) line += fmt::format(" -> {}", api.archive_entry_symlink(entry));
  if (type == AE_IFCHR || type == AE_IFBLK) {
    line += fmt::format(" {},{}", api.archive_entry_rdevmajor(entry),
                        api.archive_entry_rdevminor(entry));
  }
  api.archive_entry_xattr_reset(entry);
  const char* key = nullptr;
  const void* value = nullptr;
  std::size_t length = 0;
  while (api.archive_entry_xattr_next(entry, &key, &value, &length) == ARCHIVE_OK) {
    line +=
        fmt::format(" {}={}", key, printable(std::string(static_cast<const char*>(value), length)));
  }
  return line;
}

struct Listing {
  std::vector<std::string> entries;
  std::string diff_id;  // sha256 of the uncompressed stream
  std::string file_contents;
};

/// The entries of the layer blob at `path` (decompressed by the codebase's tar reader).
Listing list_layer(const std::string& path, bool with_mtime = false) {
  Listing listing;
  Sha256Stream sha256;
  TarStream tar(path, "blob",
                [&](const void* data, std::size_t size) { sha256.update(data, size); });
  while (archive_entry* entry = tar.next()) {
    listing.entries.push_back(describe(entry, with_mtime));
  }
  tar.finish();
  listing.diff_id = "sha256:" + sha256.finish_hex();
  return listing;
}

// --- the overlay case ----------------------------------------------------------------------

/// A lower layer, an overlay over it, and a store, all in one temporary directory.
class OverlayStep {
 public:
  OverlayStep() : m_store(m_dir.path() + "/root") {
    for (const char* sub : {"/lower", "/upper", "/work", "/merged", "/view"}) {
      make_dir(m_dir.path() + sub, 0755);
    }
    const std::string lower = m_dir.path() + "/lower";
    make_dir(lower + "/etc", 0755);
    write_file(lower + "/etc/passwd", "root:x:0:0::/root:/bin/sh\n", 0644);
    write_file(lower + "/etc/hostname", "old\n", 0644);
    write_file(lower + "/etc/motd", "welcome\n", 0644);
    make_dir(lower + "/app", 0755);
    write_file(lower + "/app/old.txt", "old app\n", 0644);
    make_dir(lower + "/app/sub", 0755);
    write_file(lower + "/app/sub/deep.txt", "deep\n", 0644);
    make_dir(lower + "/bin", 0755);
    write_file(lower + "/bin/tool", "#!/bin/sh\n", 0755);
    write_file(lower + "/ping", "elf\n", 0755);
  }

  std::string path(const std::string& sub) const { return m_dir.path() + "/" + sub; }
  const ImageStore& store() const { return m_store; }

  std::string overlay_options() const {
    return fmt::format("lowerdir={},upperdir={},workdir={}", path("lower"), path("upper"),
                       path("work"));
  }

 private:
  TempDir m_dir;
  ImageStore m_store;
};

/// What a build step does through the mount: every kind of change.
void change_through(const std::string& merged) {
  // A new file, then a second name for it ('-' sorts before '.': the link comes first).
  write_file(merged + "/etc/new.conf", "new\n", 0644);
  ASSERT_EQ(::link((merged + "/etc/new.conf").c_str(), (merged + "/etc/new-link.conf").c_str()), 0);
  // A modified file, with an xattr and a chosen mtime.
  write_file(merged + "/etc/hostname", "new\n", 0644);
  set_xattr(merged + "/etc/hostname", "user.note", "renamed");
  set_mtime(merged + "/etc/hostname", k_mtime, 999'999'999);
  // A deleted file: a whiteout.
  ASSERT_EQ(::unlink((merged + "/etc/motd").c_str()), 0);
  // A symlink.
  ASSERT_EQ(::symlink("hostname", (merged + "/etc/link").c_str()), 0);
  // A directory deleted and made again: opaque.
  ASSERT_EQ(::unlink((merged + "/app/sub/deep.txt").c_str()), 0);
  ASSERT_EQ(::rmdir((merged + "/app/sub").c_str()), 0);
  ASSERT_EQ(::unlink((merged + "/app/old.txt").c_str()), 0);
  ASSERT_EQ(::rmdir((merged + "/app").c_str()), 0);
  make_dir(merged + "/app", 0755);
  write_file(merged + "/app/fresh.txt", "fresh\n", 0640);
  ASSERT_EQ(::chown((merged + "/app/fresh.txt").c_str(), 1000, 1001), 0);
  // A mode change only.
  ASSERT_EQ(::chmod((merged + "/bin/tool").c_str(), 0700), 0);
  // A file capability, as ping has.
  set_xattr(merged + "/ping", "security.capability", net_raw_capability());
  // A device node and a fifo.
  make_dir(merged + "/dev", 0755);
  ASSERT_EQ(::mknod((merged + "/dev/null2").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
  ASSERT_EQ(::chmod((merged + "/dev/null2").c_str(), 0666), 0);
  make_dir(merged + "/run", 0755);
  ASSERT_EQ(::mkfifo((merged + "/run/fifo").c_str(), 0644), 0);
  ASSERT_EQ(::chmod((merged + "/run/fifo").c_str(), 0644), 0);
}

/// The filesystem seen through `layer` over the lower layer.
void expect_view(const std::string& view) {
  EXPECT_FALSE(exists(view + "/etc/motd"));
  EXPECT_EQ(read_text(view + "/etc/passwd"), "root:x:0:0::/root:/bin/sh\n");
  EXPECT_EQ(read_text(view + "/etc/hostname"), "new\n");
  EXPECT_EQ(xattr_of(view + "/etc/hostname", "user.note"), "renamed");
  EXPECT_EQ(lstat_of(view + "/etc/hostname").st_mtim.tv_sec, k_mtime);
  EXPECT_EQ(read_text(view + "/etc/new-link.conf"), "new\n");
  EXPECT_EQ(lstat_of(view + "/etc/new.conf").st_ino, lstat_of(view + "/etc/new-link.conf").st_ino);
  char target[64] = {};
  EXPECT_EQ(::readlink((view + "/etc/link").c_str(), target, sizeof target - 1), 8);
  EXPECT_STREQ(target, "hostname");
  // The opaque directory holds only what the step put there.
  EXPECT_EQ(names_in(view + "/app"), std::set<std::string>{"fresh.txt"});
  EXPECT_EQ(read_text(view + "/app/fresh.txt"), "fresh\n");
  EXPECT_EQ(lstat_of(view + "/app/fresh.txt").st_uid, 1000u);
  EXPECT_EQ(lstat_of(view + "/app/fresh.txt").st_gid, 1001u);
  EXPECT_EQ(lstat_of(view + "/bin/tool").st_mode & 07777, 0700u);
  EXPECT_EQ(read_text(view + "/bin/tool"), "#!/bin/sh\n");
  EXPECT_EQ(xattr_of(view + "/ping", "security.capability"), net_raw_capability());
  EXPECT_TRUE(S_ISCHR(lstat_of(view + "/dev/null2").st_mode));
  EXPECT_EQ(lstat_of(view + "/dev/null2").st_rdev, makedev(1, 3));
  EXPECT_TRUE(S_ISFIFO(lstat_of(view + "/run/fifo").st_mode));
  EXPECT_EQ(names_in(view), (std::set<std::string>{"app", "bin", "dev", "etc", "ping", "run"}));
}

TEST(LayerCommit, OverlayChangesBecomeAnOciLayerAndTheStoresUnpackedLayer) {
  OverlayStep step;
  {
    MountGuard overlay("overlay", step.path("merged"), step.overlay_options());
    ASSERT_TRUE(overlay.mounted()) << overlay.error();
    change_through(step.path("merged"));
  }
  ASSERT_FALSE(upper_is_empty(step.path("upper")));

  const auto lock = step.store().lock_shared();
  const Digest parent = Digest::of("the parent stack");
  const CommittedLayer layer = commit_upper_dir(step.store(), step.path("upper"), parent);

  // The blob: a gzip stream in the store, described by its descriptor.
  const std::string blob_path = step.store().blob_path(layer.blob.digest);
  const std::string blob = read_text(blob_path);
  EXPECT_EQ(layer.blob.media_type, media::oci_layer_gzip);
  EXPECT_EQ(layer.blob.size, static_cast<std::int64_t>(blob.size()));
  EXPECT_EQ(layer.blob.digest, Digest::of(blob));
  ASSERT_GE(blob.size(), 2u);
  EXPECT_EQ(blob.substr(0, 2), "\x1f\x8b");

  const Listing listing = list_layer(blob_path);
  const std::string cap = printable(net_raw_capability());
  EXPECT_EQ(listing.entries, (std::vector<std::string>{
                                 "app/ d 0755 0:0 0",
                                 "app/.wh..wh..opq f 0755 0:0 0",
                                 "app/fresh.txt f 0640 1000:1001 6",
                                 "bin/ d 0755 0:0 0",
                                 "bin/tool f 0700 0:0 10",
                                 "dev/ d 0755 0:0 0",
                                 "dev/null2 c 0666 0:0 0 1,3",
                                 "etc/ d 0755 0:0 0",
                                 "etc/.wh.motd f 0600 0:0 0",
                                 "etc/hostname f 0644 0:0 4 user.note=renamed",
                                 "etc/link l 0777 0:0 0 -> hostname",
                                 "etc/new-link.conf f 0644 0:0 4",
                                 "etc/new.conf h => etc/new-link.conf",
                                 "ping f 0755 0:0 4 security.capability=" + cap,
                                 "run/ d 0755 0:0 0",
                                 "run/fifo p 0644 0:0 0",
                             }));
  EXPECT_EQ(layer.diff_id.str(), listing.diff_id);
  EXPECT_EQ(layer.chain_id, Digest::of(parent.str() + " " + layer.diff_id.str()));
  EXPECT_EQ(layer_diff_id(blob_path), layer.diff_id);

  // The upper directory itself became the unpacked layer.
  EXPECT_FALSE(exists(step.path("upper")));
  ASSERT_TRUE(step.store().has_layer(layer.chain_id));
  const std::string adopted = step.store().layer_path(layer.chain_id);
  EXPECT_EQ(lstat_of(adopted).st_mode & 07777, 0755u);
  {
    MountGuard view("overlay", step.path("view"),
                    fmt::format("lowerdir={}:{}", adopted, step.path("lower")), MS_RDONLY);
    ASSERT_TRUE(view.mounted()) << view.error();
    expect_view(step.path("view"));
  }

  // The blob unpacked, as another host pulling it would, gives the same view.
  make_dir(step.path("unpacked"), 0755);
  EXPECT_EQ(unpack_layer(blob_path, step.path("unpacked")), layer.diff_id);
  {
    MountGuard view("overlay", step.path("view"),
                    fmt::format("lowerdir={}:{}", step.path("unpacked"), step.path("lower")),
                    MS_RDONLY);
    ASSERT_TRUE(view.mounted()) << view.error();
    expect_view(step.path("view"));
  }
}

// --- hand-made upper directories -----------------------------------------------------------

/// An upper directory as overlay would leave it, every mtime set: the same tree each time.
void make_upper(const std::string& upper) {
  make_dir(upper, 0700);
  // '-' sorts before '/': "a-b" comes before the directory "a/" and its content.
  write_file(upper + "/a-b", "ab", 0644);
  make_dir(upper + "/a", 0755);
  set_xattr(upper + "/a", "trusted.overlay.origin", "handle");
  set_xattr(upper + "/a", "trusted.overlay.impure", "y");
  ASSERT_EQ(::link((upper + "/a-b").c_str(), (upper + "/a/x").c_str()), 0);
  write_file(upper + "/a/y", "y", 0600);
  set_xattr(upper + "/a/y", "user.note", "y");
  ASSERT_EQ(::mknod((upper + "/gone").c_str(), S_IFCHR | 0, makedev(0, 0)), 0);
  ASSERT_EQ(::mknod((upper + "/a/gone-too").c_str(), S_IFCHR | 0, makedev(0, 0)), 0);
  // Opaque as a rootless (userxattr) mount marks it.
  make_dir(upper + "/opaque", 0700);
  set_xattr(upper + "/opaque", "user.overlay.opaque", "y");
  write_file(upper + "/opaque/new", "new", 0644);
  // A socket left by a server: not archived.
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const std::string socket_path = upper + "/opaque/server.sock";
  ASSERT_LT(socket_path.size(), sizeof address.sun_path);
  std::strcpy(address.sun_path, socket_path.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);
  ::close(fd);
  for (const char* path : {"/a-b", "/a/y", "/gone", "/a/gone-too", "/opaque/new",
                           "/opaque/server.sock", "/a", "/opaque", ""}) {
    set_mtime(upper + path, k_mtime + 7, 123);
  }
}

const std::vector<std::string> k_hand_made_entries = {
    ".wh.gone f 0600 0:0 0 @1600000007",
    "a-b f 0644 0:0 2 @1600000007",
    "a/ d 0755 0:0 0 @1600000007",
    "a/.wh.gone-too f 0600 0:0 0 @1600000007",
    "a/x h => a-b",
    "a/y f 0600 0:0 1 @1600000007 user.note=y",
    "opaque/ d 0700 0:0 0 @1600000007",
    "opaque/.wh..wh..opq f 0700 0:0 0 @1600000007",
    "opaque/new f 0644 0:0 3 @1600000007",
};

TEST(LayerCommit, SameTreeGivesTheSameLayerAndASecondAdoptRemovesTheDirectory) {
  TempDir dir;
  const ImageStore store(dir.path() + "/root");
  const auto lock = store.lock_shared();
  make_upper(dir.path() + "/first");
  make_upper(dir.path() + "/second");
  const ino_t first_inode = lstat_of(dir.path() + "/first").st_ino;

  const CommittedLayer first = commit_upper_dir(store, dir.path() + "/first", std::nullopt);
  const CommittedLayer second = commit_upper_dir(store, dir.path() + "/second", std::nullopt);

  const Listing listing = list_layer(store.blob_path(first.blob.digest), true);
  EXPECT_EQ(listing.entries, k_hand_made_entries);
  EXPECT_EQ(first.diff_id.str(), listing.diff_id);
  EXPECT_EQ(first.chain_id, first.diff_id);  // a bottom layer's chain id is its diff id
  EXPECT_EQ(second.diff_id, first.diff_id);
  EXPECT_EQ(second.blob.digest, first.blob.digest);
  EXPECT_EQ(second.chain_id, first.chain_id);

  // The first upper is the layer; the second, the same layer again, is gone.
  EXPECT_FALSE(exists(dir.path() + "/first"));
  EXPECT_FALSE(exists(dir.path() + "/second"));
  const std::string layer = store.layer_path(first.chain_id);
  EXPECT_EQ(lstat_of(layer).st_ino, first_inode);
  EXPECT_EQ(lstat_of(layer).st_mode & 07777, 0755u);  // made 0700, unpacked it would be 0755
  EXPECT_EQ(read_text(layer + "/a/x"), "ab");
  EXPECT_EQ(names_in(store.directory() + "/layers"), std::set<std::string>{first.chain_id.hex()});
  EXPECT_EQ(names_in(store.directory() + "/tmp"), std::set<std::string>{});
}

TEST(LayerCommit, UpperOnAnotherFileSystemIsUnpackedFromTheBlob) {
  TempDir dir;
  const ImageStore store(dir.path() + "/root");
  const auto lock = store.lock_shared();
  make_dir(dir.path() + "/tmpfs", 0755);
  MountGuard tmpfs("tmpfs", dir.path() + "/tmpfs", "mode=0755");
  ASSERT_TRUE(tmpfs.mounted()) << tmpfs.error();
  make_upper(dir.path() + "/tmpfs/upper");

  const CommittedLayer layer = commit_upper_dir(store, dir.path() + "/tmpfs/upper", std::nullopt);

  EXPECT_EQ(list_layer(store.blob_path(layer.blob.digest), true).entries, k_hand_made_entries);
  EXPECT_FALSE(exists(dir.path() + "/tmpfs/upper"));
  const std::string unpacked = store.layer_path(layer.chain_id);
  EXPECT_EQ(read_text(unpacked + "/a/x"), "ab");
  EXPECT_EQ(lstat_of(unpacked + "/a/x").st_ino, lstat_of(unpacked + "/a-b").st_ino);
  EXPECT_EQ(lstat_of(unpacked + "/gone").st_rdev, makedev(0, 0));
  EXPECT_TRUE(S_ISCHR(lstat_of(unpacked + "/gone").st_mode));
  EXPECT_EQ(xattr_of(unpacked + "/opaque", "trusted.overlay.opaque"), "y");
  EXPECT_EQ(names_in(unpacked + "/opaque"), std::set<std::string>{"new"});
}

TEST(LayerCommit, RedirectedDirectoryIsRefusedAndNothingIsPublished) {
  TempDir dir;
  const ImageStore store(dir.path() + "/root");
  const auto lock = store.lock_shared();
  const std::string upper = dir.path() + "/upper";
  make_dir(upper, 0755);
  make_dir(upper + "/moved", 0755);
  write_file(upper + "/moved/file", "data", 0644);
  set_xattr(upper + "/moved", "trusted.overlay.redirect", "/original");

  EXPECT_EQ(error_of([&] { commit_upper_dir(store, upper, std::nullopt); }),
            upper +
                ": moved/: overlay redirect is not supported "
                "(mount with redirect_dir=off,metacopy=off)");
  EXPECT_EQ(read_text(upper + "/moved/file"), "data");
  EXPECT_EQ(names_in(store.directory() + "/blobs/sha256"), std::set<std::string>{});
  EXPECT_EQ(names_in(store.directory() + "/layers"), std::set<std::string>{});
  EXPECT_EQ(names_in(store.directory() + "/tmp"), std::set<std::string>{});
}

TEST(LayerCommit, MissingUpperNamesIt) {
  TempDir dir;
  const ImageStore store(dir.path() + "/root");
  const std::string upper = dir.path() + "/nothing";
  EXPECT_EQ(error_of([&] { commit_upper_dir(store, upper, std::nullopt); }),
            upper + ": No such file or directory");
  EXPECT_EQ(error_of([&] { upper_is_empty(upper); }), upper + ": No such file or directory");
}

TEST(LayerCommit, UpperIsEmptyOnlyWithoutAnyEntry) {
  TempDir dir;
  const std::string upper = dir.path() + "/upper";
  make_dir(upper, 0755);
  EXPECT_TRUE(upper_is_empty(upper));
  ASSERT_EQ(::mknod((upper + "/gone").c_str(), S_IFCHR | 0, makedev(0, 0)), 0);
  EXPECT_FALSE(upper_is_empty(upper));
}

}  // namespace
}  // namespace berth::image
