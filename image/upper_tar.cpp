#include "image/upper_tar.h"

#include <dirent.h>
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
#include <exception>
#include <map>
#include <string_view>
#include <utility>
#include <vector>

#include "image/archive_api.h"
#include "util/error.h"
#include "util/unique_fd.h"

namespace berth::image {
namespace {

constexpr std::string_view k_whiteout_prefix = ".wh.";
constexpr std::string_view k_opaque_marker = ".wh..wh..opq";
constexpr std::size_t k_read_buffer = 128 * 1024;
// overlay's own xattrs: trusted.* when mounted by root, user.* under the userxattr option.
constexpr std::array<std::string_view, 2> k_overlay_xattr_prefixes{"trusted.overlay.",
                                                                   "user.overlay."};

struct Xattr {
  std::string key;
  std::string value;
};

/// What a file's xattrs say for the layer: the ones to archive, and whether overlay marked
/// the directory opaque.
struct LayerXattrs {
  std::vector<Xattr> kept;
  bool opaque = false;
};

/// One entry of a directory of the upper, with the name it has in the tar.
struct Child {
  std::string name;     // in the upper
  std::string tar_key;  // its tar base name: ".wh.<name>" for a whiteout, "<name>/" for a dir
  struct stat st {};
};

bool is_whiteout(const struct stat& st) {
  return S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0);
}

/// "<dir>/<name>" as /proc sees it, for the calls that have no *at form (llistxattr).
std::string proc_path(int dir, const std::string& name) {
  return "/proc/self/fd/" + std::to_string(dir) + "/" + name;
}

class UpperArchiver {
 public:
  using Sink = std::function<void(const void* data, std::size_t size)>;

  UpperArchiver(const std::string& upper, const Sink& sink)
      : m_upper(upper), m_sink{sink, nullptr, false}, m_writer(new_write_archive()) {
    try {
      open();
    } catch (...) {
      m_sink.abandoned = true;
      throw;
    }
  }

  // Freeing an open writer writes the end of the archive: after a failure nothing more may
  // reach the sink, so that what it got is visibly incomplete.
  ~UpperArchiver() { m_sink.abandoned = !m_closed; }
  UpperArchiver(const UpperArchiver&) = delete;
  UpperArchiver& operator=(const UpperArchiver&) = delete;

  /// Archives the whole upper directory and writes the end of the archive.
  void write() {
    add_children(m_root.get(), "");
    if (archive_api().archive_write_close(m_writer.get()) != ARCHIVE_OK) {
      fail_archive("");
    }
    m_closed = true;
  }

 private:
  void open() {
    m_root = Fd(::open(m_upper.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!m_root) {
      fail_errno("");
    }
    const ArchiveApi& api = archive_api();
    api.archive_write_set_format_pax_restricted(m_writer.get());
    // Only the SCHILY.xattr records Docker and containerd read, not libarchive's own too. A
    // libarchive without the option (ARCHIVE_WARN) writes both, which readers accept.
    if (api.archive_write_set_format_option(m_writer.get(), "pax", "xattrheader", "SCHILY") <
        ARCHIVE_WARN) {
      fail_archive("");
    }
    // No padding to a 10 KiB record after the end blocks: Docker's layers have none.
    api.archive_write_set_bytes_in_last_block(m_writer.get(), 1);
    if (api.archive_write_open(m_writer.get(), &m_sink, nullptr, &ArchiveSink::callback,
                               nullptr) != ARCHIVE_OK) {
      fail_archive("");
    }
  }

  /// `<upper>: <entry>: <reason>` (`<upper>: <reason>` without an entry).
  [[noreturn]] void fail(const std::string& entry, const std::string& reason) const {
    if (entry.empty()) {
      throw Error(m_upper + ": " + reason);
    }
    throw Error(m_upper + ": " + entry + ": " + reason);
  }
  [[noreturn]] void fail_errno(const std::string& entry) const {
    fail(entry, std::strerror(errno));
  }
  /// A failed libarchive call: the sink's own exception when that is why.
  [[noreturn]] void fail_archive(const std::string& entry) const {
    if (m_sink.error) {
      std::rethrow_exception(m_sink.error);
    }
    fail(entry, archive_error(m_writer.get()));
  }

  /// The names in `dir`, "." and ".." left out.
  std::vector<std::string> list_names(int dir, const std::string& prefix) const {
    Fd listing(::dup(dir));
    DIR* stream = listing ? ::fdopendir(listing.get()) : nullptr;
    if (stream == nullptr) {
      fail_errno(prefix.empty() ? "." : prefix);
    }
    listing.release();
    std::vector<std::string> names;
    errno = 0;
    while (const dirent* entry = ::readdir(stream)) {
      const std::string_view name = entry->d_name;
      if (name != "." && name != "..") {
        names.emplace_back(name);
      }
    }
    const int error = errno;
    ::closedir(stream);
    if (error != 0) {
      errno = error;
      fail_errno(prefix.empty() ? "." : prefix);
    }
    return names;
  }

  /// Archives the content of `dir`, whose tar name is `prefix` ("" for the root, else
  /// "etc/"), in the order of the entries' tar names; each subdirectory's content follows it.
  void add_children(int dir, const std::string& prefix) {
    std::vector<Child> children;
    for (auto& name : list_names(dir, prefix)) {
      Child child;
      if (::fstatat(dir, name.c_str(), &child.st, AT_SYMLINK_NOFOLLOW) != 0) {
        fail_errno(prefix + name);
      }
      // A socket cannot be archived, and is meaningless once its server is gone.
      if (S_ISSOCK(child.st.st_mode)) {
        continue;
      }
      if (is_whiteout(child.st)) {
        child.tar_key = std::string(k_whiteout_prefix) + name;
      } else if (S_ISDIR(child.st.st_mode)) {
        child.tar_key = name + "/";
      } else {
        child.tar_key = name;
      }
      child.name = std::move(name);
      children.push_back(std::move(child));
    }
    std::sort(children.begin(), children.end(),
              [](const Child& a, const Child& b) { return a.tar_key < b.tar_key; });
    for (const auto& child : children) {
      add_child(dir, prefix, child);
    }
  }

  void add_child(int dir, const std::string& prefix, const Child& child) {
    const std::string tar_name = prefix + child.tar_key;
    const struct stat& st = child.st;
    if (is_whiteout(st)) {
      // Overlay's whiteouts may all be links to one inode: never a hard link in the tar.
      ArchiveEntry entry = entry_for(tar_name, st, AE_IFREG);
      archive_api().archive_entry_set_perm(entry.get(), 0600);
      write_header(entry.get(), tar_name);
      return;
    }
    if (S_ISDIR(st.st_mode)) {
      add_directory(dir, child.name, tar_name);
      return;
    }
    if (st.st_nlink > 1) {
      const auto [first, inserted] = m_links.try_emplace({st.st_dev, st.st_ino}, tar_name);
      if (!inserted) {
        ArchiveEntry entry = entry_for(tar_name, st, AE_IFREG);
        archive_api().archive_entry_set_hardlink(entry.get(), first->second.c_str());
        write_header(entry.get(), tar_name);
        return;
      }
    }
    if (S_ISREG(st.st_mode)) {
      add_file(dir, child.name, tar_name);
    } else if (S_ISLNK(st.st_mode)) {
      add_symlink(dir, child.name, tar_name, st);
    } else {
      add_node(dir, child.name, tar_name, st);
    }
  }

  void add_directory(int parent, const std::string& name, const std::string& tar_name) {
    const Fd dir(::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dir) {
      fail_errno(tar_name);
    }
    struct stat st {};
    if (::fstat(dir.get(), &st) != 0) {
      fail_errno(tar_name);
    }
    const LayerXattrs xattrs = layer_xattrs(
        tar_name, [&](char* list, std::size_t size) { return ::flistxattr(dir.get(), list, size); },
        [&](const char* key, void* value, std::size_t size) {
          return ::fgetxattr(dir.get(), key, value, size);
        });
    ArchiveEntry entry = entry_for(tar_name, st, AE_IFDIR);
    add_xattrs(entry.get(), xattrs);
    write_header(entry.get(), tar_name);
    if (xattrs.opaque) {
      // Right after the directory, as Docker writes it: whatever lower layers hold there is
      // hidden before any of this layer's content lands in it.
      const std::string marker = tar_name + std::string(k_opaque_marker);
      ArchiveEntry opaque = entry_for(marker, st, AE_IFREG);
      archive_api().archive_entry_set_perm(opaque.get(), st.st_mode & 0777);
      write_header(opaque.get(), marker);
    }
    add_children(dir.get(), tar_name);
  }

  void add_file(int dir, const std::string& name, const std::string& tar_name) {
    const Fd file(::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!file) {
      fail_errno(tar_name);
    }
    struct stat st {};
    if (::fstat(file.get(), &st) != 0) {
      fail_errno(tar_name);
    }
    const LayerXattrs xattrs = layer_xattrs(
        tar_name,
        [&](char* list, std::size_t size) { return ::flistxattr(file.get(), list, size); },
        [&](const char* key, void* value, std::size_t size) {
          return ::fgetxattr(file.get(), key, value, size);
        });
    ArchiveEntry entry = entry_for(tar_name, st, AE_IFREG);
    archive_api().archive_entry_set_size(entry.get(), st.st_size);
    add_xattrs(entry.get(), xattrs);
    write_header(entry.get(), tar_name);

    // Exactly the size the header gives: the tar has no room for more.
    auto left = static_cast<std::size_t>(st.st_size);
    while (left > 0) {
      const ssize_t got = ::read(file.get(), m_buffer.data(), std::min(left, m_buffer.size()));
      if (got < 0) {
        if (errno == EINTR) {
          continue;
        }
        fail_errno(tar_name);
      }
      if (got == 0) {
        fail(tar_name, "file shrank while it was read");
      }
      write_data(static_cast<std::size_t>(got), tar_name);
      left -= static_cast<std::size_t>(got);
    }
  }

  void add_symlink(int dir, const std::string& name, const std::string& tar_name,
                   const struct stat& st) {
    std::string target(static_cast<std::size_t>(st.st_size) + 1, '\0');
    const ssize_t length = ::readlinkat(dir, name.c_str(), target.data(), target.size());
    if (length < 0) {
      fail_errno(tar_name);
    }
    if (static_cast<std::size_t>(length) >= target.size()) {
      fail(tar_name, "symlink changed while it was read");
    }
    target.resize(static_cast<std::size_t>(length));
    ArchiveEntry entry = entry_for(tar_name, st, AE_IFLNK);
    archive_api().archive_entry_set_symlink(entry.get(), target.c_str());
    add_xattrs(entry.get(), path_xattrs(dir, name, tar_name));
    write_header(entry.get(), tar_name);
  }

  /// A device node or a fifo.
  void add_node(int dir, const std::string& name, const std::string& tar_name,
                const struct stat& st) {
    const ArchiveApi& api = archive_api();
    const unsigned int type = S_ISCHR(st.st_mode)   ? AE_IFCHR
                              : S_ISBLK(st.st_mode) ? AE_IFBLK
                                                    : AE_IFIFO;
    ArchiveEntry entry = entry_for(tar_name, st, type);
    if (type != AE_IFIFO) {
      api.archive_entry_set_rdevmajor(entry.get(), major(st.st_rdev));
      api.archive_entry_set_rdevminor(entry.get(), minor(st.st_rdev));
    }
    add_xattrs(entry.get(), path_xattrs(dir, name, tar_name));
    write_header(entry.get(), tar_name);
  }

  /// An entry with the name, type, mode, owner and mtime every kind has.
  static ArchiveEntry entry_for(const std::string& tar_name, const struct stat& st,
                                unsigned int type) {
    const ArchiveApi& api = archive_api();
    ArchiveEntry entry = new_archive_entry();
    api.archive_entry_set_pathname(entry.get(), tar_name.c_str());
    api.archive_entry_set_filetype(entry.get(), type);
    api.archive_entry_set_perm(entry.get(), st.st_mode & 07777);
    api.archive_entry_set_uid(entry.get(), st.st_uid);
    api.archive_entry_set_gid(entry.get(), st.st_gid);
    // Whole seconds, as Docker's layers: nanoseconds would cost every entry a pax header.
    api.archive_entry_set_mtime(entry.get(), st.st_mtim.tv_sec, 0);
    return entry;
  }

  void write_header(archive_entry* entry, const std::string& tar_name) {
    // ARCHIVE_WARN: a name not in the locale's charset, written as raw bytes all the same.
    if (archive_api().archive_write_header(m_writer.get(), entry) < ARCHIVE_WARN) {
      fail_archive(tar_name);
    }
  }

  /// Writes the first `size` bytes of m_buffer as the current entry's data.
  void write_data(std::size_t size, const std::string& tar_name) {
    const char* bytes = m_buffer.data();
    while (size > 0) {
      const la_ssize_t written = archive_api().archive_write_data(m_writer.get(), bytes, size);
      if (written <= 0) {
        fail_archive(tar_name);
      }
      bytes += written;
      size -= static_cast<std::size_t>(written);
    }
  }

  static void add_xattrs(archive_entry* entry, const LayerXattrs& xattrs) {
    for (const auto& [key, value] : xattrs.kept) {
      archive_api().archive_entry_xattr_add_entry(entry, key.c_str(), value.data(), value.size());
    }
  }

  /// The xattrs of something that cannot be opened for them (a symlink, a device, a fifo),
  /// read without following it.
  LayerXattrs path_xattrs(int dir, const std::string& name, const std::string& tar_name) const {
    const std::string path = proc_path(dir, name);
    return layer_xattrs(
        tar_name,
        [&](char* list, std::size_t size) { return ::llistxattr(path.c_str(), list, size); },
        [&](const char* key, void* value, std::size_t size) {
          return ::lgetxattr(path.c_str(), key, value, size);
        });
  }

  /// Reads every xattr with `list` and `get` (listxattr and getxattr bound to one file),
  /// sorted by name, and sorts out overlay's own.
  template <typename List, typename Get>
  LayerXattrs layer_xattrs(const std::string& tar_name, List list, Get get) const {
    LayerXattrs result;
    std::string names;
    for (;;) {
      const ssize_t size = list(nullptr, 0);
      if (size < 0) {
        if (errno == ENOTSUP) {
          return result;
        }
        fail_errno(tar_name);
      }
      if (size == 0) {
        return result;
      }
      names.resize(static_cast<std::size_t>(size));
      const ssize_t got = list(names.data(), names.size());
      if (got >= 0) {
        names.resize(static_cast<std::size_t>(got));
        break;
      }
      // ERANGE: one was added since the size was asked; ask again.
      if (errno != ERANGE) {
        fail_errno(tar_name);
      }
    }
    std::vector<std::string> keys;
    for (std::size_t start = 0; start < names.size();) {
      const std::size_t end = names.find('\0', start);
      const std::size_t stop = end == std::string::npos ? names.size() : end;
      if (stop > start) {
        keys.push_back(names.substr(start, stop - start));
      }
      start = stop + 1;
    }
    std::sort(keys.begin(), keys.end());
    for (auto& key : keys) {
      std::string value = read_xattr(tar_name, key, get);
      const auto overlay = std::find_if(
          k_overlay_xattr_prefixes.begin(), k_overlay_xattr_prefixes.end(),
          [&](std::string_view prefix) { return std::string_view(key).starts_with(prefix); });
      if (overlay == k_overlay_xattr_prefixes.end()) {
        result.kept.push_back(Xattr{std::move(key), std::move(value)});
        continue;
      }
      const std::string_view what = std::string_view(key).substr(overlay->size());
      if (what == "opaque") {
        result.opaque = value == "y";
      } else if (what == "redirect" || what == "metacopy") {
        // The content is partly in a lower layer: archived as it is, the layer would be
        // wrong. berth's mounts leave redirect_dir and metacopy off.
        fail(tar_name, "overlay " + std::string(what) +
                           " is not supported (mount with redirect_dir=off,metacopy=off)");
      }
    }
    return result;
  }

  template <typename Get>
  std::string read_xattr(const std::string& tar_name, const std::string& key, Get get) const {
    std::string value;
    for (;;) {
      const ssize_t size = get(key.c_str(), nullptr, 0);
      if (size < 0) {
        fail(tar_name, key + ": " + std::strerror(errno));
      }
      value.resize(static_cast<std::size_t>(size));
      const ssize_t got = get(key.c_str(), value.data(), value.size());
      if (got >= 0) {
        value.resize(static_cast<std::size_t>(got));
        return value;
      }
      if (errno != ERANGE) {
        fail(tar_name, key + ": " + std::strerror(errno));
      }
    }
  }

  std::string m_upper;
  Fd m_root;
  // The first tar name of each inode with more than one link: the others link to it.
  std::map<std::pair<dev_t, ino_t>, std::string> m_links;
  // Declared before m_writer, which uses them until it is freed.
  ArchiveSink m_sink;
  bool m_closed = false;
  std::vector<char> m_buffer = std::vector<char>(k_read_buffer);
  WriteArchive m_writer;
};

}  // namespace

void write_upper_tar(const std::string& upper,
                     const std::function<void(const void* data, std::size_t size)>& sink) {
  UpperArchiver archiver(upper, sink);
  archiver.write();
}

}  // namespace berth::image
