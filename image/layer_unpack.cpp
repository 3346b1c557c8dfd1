#include "image/layer_unpack.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <map>
#include <utility>
#include <vector>

#include "image/archive_api.h"
#include "image/tar_reader.h"
#include "util/error.h"
#include "util/safe_open.h"
#include "util/sha256.h"

namespace berth::image {
namespace {

constexpr std::string_view k_whiteout_prefix = ".wh.";
constexpr std::string_view k_opaque_whiteout = ".wh..wh..opq";
constexpr const char* k_opaque_xattr = "trusted.overlay.opaque";

/// "<dir>/<name>" as /proc sees it, for the calls that have no *at form (lsetxattr).
std::string proc_path(int dir, const std::string& name) {
  return "/proc/self/fd/" + std::to_string(dir) + "/" + name;
}

/// Where the last '/' splits `name` into parent directory and base name.
std::pair<std::string, std::string> split_parent(const std::string& name) {
  const auto slash = name.rfind('/');
  if (slash == std::string::npos) return {"", name};
  return {name.substr(0, slash), name.substr(slash + 1)};
}

/// A directory's mode and times, applied once all entries are in: a 0555 directory would
/// refuse its own entries to a non-root unpacker, and adding entries changes its mtime.
struct DirectoryFinish {
  mode_t mode = 0755;
  timespec times[2]{{0, UTIME_OMIT}, {0, UTIME_OMIT}};
};

class Unpacker {
 public:
  Unpacker(const std::string& blob_path, const std::string& target_dir)
      : m_where("layer " + blob_path) {
    m_root = Fd(::open(target_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!m_root) throw Error(target_dir + ": " + std::strerror(errno));
  }

  void unpack(TarStream& tar) {
    while (archive_entry* entry = tar.next()) {
      add(tar, entry);
    }
    finish_directories();
  }

 private:
  [[noreturn]] void fail(const std::string& name, const std::string& reason) const {
    throw Error(m_where + ": entry \"" + name + "\": " + reason);
  }
  [[noreturn]] void fail_errno(const std::string& name) const {
    if (errno == ENOSYS) fail(name, "openat2 is not available (Linux 5.6 or later is needed)");
    fail(name, std::strerror(errno));
  }
  [[noreturn]] void escapes(const std::string& name) const {
    throw Error(m_where + ": entry \"" + name + "\" escapes the layer root");
  }

  /// Opens the directory `path` (relative to the root), as a base for *at calls. With
  /// `create`, missing directories are made 0755, as tar does for parents it was not given.
  Fd open_directory(const std::string& path, const std::string& entry_name, bool create) {
    Fd dir = open_beneath(m_root.get(), path, O_PATH | O_DIRECTORY);
    if (dir || errno != ENOENT || !create) {
      if (!dir) directory_error(entry_name);
      return dir;
    }
    dir = open_beneath(m_root.get(), "", O_PATH | O_DIRECTORY);
    std::string_view rest = path;
    while (!rest.empty()) {
      const auto slash = rest.find('/');
      const std::string part(rest.substr(0, slash));
      rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
      Fd next = open_beneath(dir.get(), part, O_PATH | O_DIRECTORY);
      if (!next && errno == ENOENT) {
        if (::mkdirat(dir.get(), part.c_str(), 0700) != 0 && errno != EEXIST) {
          fail_errno(entry_name);
        }
        next = open_beneath(dir.get(), part, O_RDONLY | O_DIRECTORY);
        // Set explicitly: mkdirat's mode passes through the umask.
        if (next && ::fchmod(next.get(), 0755) != 0) fail_errno(entry_name);
      }
      if (!next) directory_error(entry_name);
      dir = std::move(next);
    }
    return dir;
  }

  [[noreturn]] void directory_error(const std::string& entry_name) const {
    if (errno == ELOOP) {
      throw Error(m_where + ": entry \"" + entry_name + "\" goes through a symlink");
    }
    if (errno == EXDEV) escapes(entry_name);
    fail_errno(entry_name);
  }

  /// The parent directory of an entry; consecutive entries mostly share it, so the last one
  /// is kept open.
  int parent_directory(const std::string& path, const std::string& entry_name) {
    if (!m_parent || path != m_parent_path) {
      m_parent = Fd();
      m_parent = open_directory(path, entry_name, true);
      m_parent_path = path;
    }
    return m_parent.get();
  }

  /// Removes what is at `dir`/`base` so that an entry can take its place. A directory goes
  /// only when empty: tar does not delete a tree to make room for a file.
  void remove_existing(int dir, const std::string& base, const std::string& name,
                       const std::string& entry_name) {
    if (::unlinkat(dir, base.c_str(), 0) == 0) return;
    if (errno != EISDIR) fail_errno(entry_name);
    if (::unlinkat(dir, base.c_str(), AT_REMOVEDIR) != 0) fail_errno(entry_name);
    // The cached parent is this entry's parent, never the child removed here.
    m_directories.erase(name);
  }

  void add(TarStream& tar, archive_entry* entry) {
    const ArchiveApi& api = archive_api();
    const char* raw_name = api.archive_entry_pathname(entry);
    if (raw_name == nullptr) throw Error(m_where + ": an entry has no name");
    const std::string original = raw_name;
    const auto name = normalize_entry_name(original);
    if (!name) escapes(original);
    const char* hardlink = api.archive_entry_hardlink(entry);
    const mode_t type = api.archive_entry_filetype(entry);

    if (name->empty()) {
      if (hardlink != nullptr || type != AE_IFDIR) {
        fail(original, "the layer root must be a directory");
      }
      const Fd root = open_beneath(m_root.get(), "", O_RDONLY | O_DIRECTORY);
      if (!root) fail_errno(original);
      set_directory_metadata(root.get(), "", original, entry);
      return;
    }

    const auto [parent, base] = split_parent(*name);
    if (base.starts_with(k_whiteout_prefix)) {
      add_whiteout(parent, base, original, entry);
      return;
    }
    const int dir = parent_directory(parent, original);
    if (hardlink != nullptr) {
      add_hardlink(dir, base, *name, original, hardlink);
      return;
    }
    switch (type) {
      case AE_IFREG: add_file(tar, dir, base, *name, original, entry); break;
      case AE_IFDIR: add_directory(dir, base, *name, original, entry); break;
      case AE_IFLNK: add_symlink(dir, base, *name, original, entry); break;
      case AE_IFCHR:
      case AE_IFBLK:
      case AE_IFIFO: add_node(dir, base, *name, original, entry, type); break;
      default: fail(original, "unsupported file type");
    }
  }

  /// OCI whiteouts in overlayfs's form: `.wh.<name>` hides <name> in lower layers as a 0:0
  /// character device, `.wh..wh..opq` hides all of its directory's lower content.
  void add_whiteout(const std::string& parent, const std::string& base, const std::string& original,
                    archive_entry* entry) {
    const int dir = parent_directory(parent, original);
    if (base == k_opaque_whiteout) {
      if (::setxattr(proc_path(dir, "").c_str(), k_opaque_xattr, "y", 1, 0) != 0) {
        fail(original, std::string(k_opaque_xattr) + ": " + std::strerror(errno));
      }
      return;
    }
    const std::string hidden = base.substr(k_whiteout_prefix.size());
    if (hidden.empty() || hidden == "." || hidden == "..") escapes(original);
    const std::string name = parent.empty() ? hidden : parent + "/" + hidden;
    if (::mknodat(dir, hidden.c_str(), S_IFCHR, makedev(0, 0)) != 0) {
      if (errno != EEXIST) fail_errno(original);
      remove_existing(dir, hidden, name, original);
      if (::mknodat(dir, hidden.c_str(), S_IFCHR, makedev(0, 0)) != 0) fail_errno(original);
    }
    const ArchiveApi& api = archive_api();
    if (::fchownat(dir, hidden.c_str(), static_cast<uid_t>(api.archive_entry_uid(entry)),
                   static_cast<gid_t>(api.archive_entry_gid(entry)), AT_SYMLINK_NOFOLLOW) != 0) {
      fail_errno(original);
    }
  }

  void add_file(TarStream& tar, int dir, const std::string& base, const std::string& name,
                const std::string& original, archive_entry* entry) {
    const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
    Fd file(::openat(dir, base.c_str(), flags, 0600));
    if (!file && errno == EEXIST) {
      remove_existing(dir, base, name, original);
      file = Fd(::openat(dir, base.c_str(), flags, 0600));
    }
    if (!file) fail_errno(original);

    // Block by block, so sparse files keep their holes.
    const void* data = nullptr;
    std::size_t size = 0;
    std::int64_t offset = 0;
    while (tar.read_block(data, size, offset)) {
      const char* bytes = static_cast<const char*>(data);
      while (size > 0) {
        const ssize_t written = ::pwrite(file.get(), bytes, size, offset);
        if (written < 0) {
          if (errno == EINTR) continue;
          fail_errno(original);
        }
        bytes += written;
        size -= static_cast<std::size_t>(written);
        offset += written;
      }
    }
    const ArchiveApi& api = archive_api();
    if (api.archive_entry_size_is_set(entry) &&
        ::ftruncate(file.get(), api.archive_entry_size(entry)) != 0) {
      fail_errno(original);
    }
    // chown before chmod: it clears setuid and setgid.
    if (::fchown(file.get(), owner(entry), group(entry)) != 0) fail_errno(original);
    if (::fchmod(file.get(), api.archive_entry_perm(entry)) != 0) fail_errno(original);
    set_xattrs(original, entry, [&](const char* key, const void* value, std::size_t length) {
      return ::fsetxattr(file.get(), key, value, length, 0);
    });
    const auto times = entry_times(entry);
    if (::futimens(file.get(), times.data()) != 0) fail_errno(original);
  }

  void add_directory(int dir, const std::string& base, const std::string& name,
                     const std::string& original, archive_entry* entry) {
    if (::mkdirat(dir, base.c_str(), 0700) != 0) {
      if (errno != EEXIST) fail_errno(original);
      // An existing directory is kept (its metadata updated); anything else is replaced.
      struct stat st {};
      if (::fstatat(dir, base.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) fail_errno(original);
      if (!S_ISDIR(st.st_mode)) {
        remove_existing(dir, base, name, original);
        if (::mkdirat(dir, base.c_str(), 0700) != 0) fail_errno(original);
      }
    }
    const Fd created = open_beneath(dir, base, O_RDONLY | O_DIRECTORY);
    if (!created) fail_errno(original);
    set_directory_metadata(created.get(), name, original, entry);
  }

  void set_directory_metadata(int dir, const std::string& name, const std::string& original,
                              archive_entry* entry) {
    if (::fchown(dir, owner(entry), group(entry)) != 0) fail_errno(original);
    set_xattrs(original, entry, [&](const char* key, const void* value, std::size_t length) {
      return ::fsetxattr(dir, key, value, length, 0);
    });
    DirectoryFinish& finish = m_directories[name];
    finish.mode = archive_api().archive_entry_perm(entry);
    const auto times = entry_times(entry);
    std::copy(times.begin(), times.end(), finish.times);
  }

  void add_symlink(int dir, const std::string& base, const std::string& name,
                   const std::string& original, archive_entry* entry) {
    const char* target = archive_api().archive_entry_symlink(entry);
    if (target == nullptr) fail(original, "symlink without a target");
    // The target is stored as written: nothing here ever follows it.
    if (::symlinkat(target, dir, base.c_str()) != 0) {
      if (errno != EEXIST) fail_errno(original);
      remove_existing(dir, base, name, original);
      if (::symlinkat(target, dir, base.c_str()) != 0) fail_errno(original);
    }
    set_link_metadata(dir, base, original, entry, false);
  }

  void add_node(int dir, const std::string& base, const std::string& name,
                const std::string& original, archive_entry* entry, mode_t type) {
    const ArchiveApi& api = archive_api();
    const mode_t kind = type == AE_IFCHR ? S_IFCHR : type == AE_IFBLK ? S_IFBLK : S_IFIFO;
    const dev_t device = kind == S_IFIFO ? 0
                                         : makedev(api.archive_entry_rdevmajor(entry),
                                                   api.archive_entry_rdevminor(entry));
    if (::mknodat(dir, base.c_str(), kind | 0600, device) != 0) {
      if (errno != EEXIST) fail_errno(original);
      remove_existing(dir, base, name, original);
      if (::mknodat(dir, base.c_str(), kind | 0600, device) != 0) fail_errno(original);
    }
    set_link_metadata(dir, base, original, entry, true);
  }

  /// Owner, mode (unless a symlink), xattrs and times of something that cannot be opened for
  /// them: a symlink, a device, a fifo. Every call is made without following `base`.
  void set_link_metadata(int dir, const std::string& base, const std::string& original,
                         archive_entry* entry, bool with_mode) {
    if (::fchownat(dir, base.c_str(), owner(entry), group(entry), AT_SYMLINK_NOFOLLOW) != 0) {
      fail_errno(original);
    }
    if (with_mode && ::fchmodat(dir, base.c_str(), archive_api().archive_entry_perm(entry),
                                AT_SYMLINK_NOFOLLOW) != 0) {
      fail_errno(original);
    }
    const std::string path = proc_path(dir, base);
    set_xattrs(original, entry, [&](const char* key, const void* value, std::size_t length) {
      return ::lsetxattr(path.c_str(), key, value, length, 0);
    });
    const auto times = entry_times(entry);
    if (::utimensat(dir, base.c_str(), times.data(), AT_SYMLINK_NOFOLLOW) != 0) {
      fail_errno(original);
    }
  }

  void add_hardlink(int dir, const std::string& base, const std::string& name,
                    const std::string& original, const char* raw_target) {
    const auto target = normalize_entry_name(raw_target);
    if (!target) escapes(original);
    if (target->empty()) fail(original, "hard link to the layer root");
    const auto [target_parent, target_base] = split_parent(*target);
    const Fd target_dir = open_directory(target_parent, original, false);
    // Without AT_SYMLINK_FOLLOW a symlink target is linked itself, never followed.
    if (::linkat(target_dir.get(), target_base.c_str(), dir, base.c_str(), 0) != 0) {
      if (errno != EEXIST) fail_errno(original);
      remove_existing(dir, base, name, original);
      if (::linkat(target_dir.get(), target_base.c_str(), dir, base.c_str(), 0) != 0) {
        fail_errno(original);
      }
    }
  }

  /// Sets every xattr of `entry` with `set` (a setxattr variant). Like Docker, an xattr the
  /// file system refuses (ENOTSUP, or EPERM for user.* on a symlink) is skipped.
  template <typename Set>
  void set_xattrs(const std::string& original, archive_entry* entry, Set set) {
    const ArchiveApi& api = archive_api();
    api.archive_entry_xattr_reset(entry);
    const char* key = nullptr;
    const void* value = nullptr;
    std::size_t length = 0;
    while (api.archive_entry_xattr_next(entry, &key, &value, &length) == ARCHIVE_OK) {
      if (set(key, value, length) != 0 && errno != ENOTSUP && errno != EPERM) {
        fail(original, std::string(key) + ": " + std::strerror(errno));
      }
    }
  }

  static uid_t owner(archive_entry* entry) {
    return static_cast<uid_t>(archive_api().archive_entry_uid(entry));
  }
  static gid_t group(archive_entry* entry) {
    return static_cast<gid_t>(archive_api().archive_entry_gid(entry));
  }

  /// atime and mtime for utimensat; atime defaults to mtime, an unset mtime is left alone.
  static std::array<timespec, 2> entry_times(archive_entry* entry) {
    const ArchiveApi& api = archive_api();
    std::array<timespec, 2> times{timespec{0, UTIME_OMIT}, timespec{0, UTIME_OMIT}};
    if (api.archive_entry_mtime_is_set(entry)) {
      times[1] = {api.archive_entry_mtime(entry), api.archive_entry_mtime_nsec(entry)};
      times[0] = times[1];
    }
    if (api.archive_entry_atime_is_set(entry)) {
      times[0] = {api.archive_entry_atime(entry), api.archive_entry_atime_nsec(entry)};
    }
    return times;
  }

  /// Applies the deferred directory modes and times, deepest first, so that setting a
  /// directory's time is not undone by work inside it.
  void finish_directories() {
    std::vector<std::pair<const std::string*, const DirectoryFinish*>> order;
    order.reserve(m_directories.size());
    for (const auto& [path, finish] : m_directories) order.emplace_back(&path, &finish);
    auto depth = [](const std::string& path) {
      return path.empty() ? 0 : 1 + std::count(path.begin(), path.end(), '/');
    };
    std::stable_sort(order.begin(), order.end(), [&](const auto& a, const auto& b) {
      return depth(*a.first) > depth(*b.first);
    });
    m_parent = Fd();
    for (const auto& [path, finish] : order) {
      const std::string& name = path->empty() ? std::string(".") : *path;
      const Fd dir = open_beneath(m_root.get(), *path, O_RDONLY | O_DIRECTORY);
      if (!dir) directory_error(name);
      if (::fchmod(dir.get(), finish->mode) != 0) fail_errno(name);
      if (::futimens(dir.get(), finish->times) != 0) fail_errno(name);
    }
  }

  std::string m_where;
  Fd m_root;
  std::string m_parent_path;
  Fd m_parent;
  std::map<std::string, DirectoryFinish> m_directories;  // by normalised name ("" = root)
};

}  // namespace

Digest unpack_layer(const std::string& blob_path, const std::string& target_dir) {
  Unpacker unpacker(blob_path, target_dir);
  Sha256Stream sha256;
  TarStream tar(blob_path, "layer " + blob_path,
                [&sha256](const void* data, std::size_t size) { sha256.update(data, size); });
  unpacker.unpack(tar);
  // The diff id covers the whole uncompressed stream, padding after the tar's end included.
  tar.finish();
  return Digest::from_sha256_hex(sha256.finish_hex());
}

Digest layer_diff_id(const std::string& blob_path) {
  Sha256Stream sha256;
  TarStream tar(blob_path, "layer " + blob_path,
                [&sha256](const void* data, std::size_t size) { sha256.update(data, size); });
  while (tar.next() != nullptr) {
  }
  tar.finish();
  return Digest::from_sha256_hex(sha256.finish_hex());
}

}  // namespace berth::image
