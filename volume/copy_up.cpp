#include "volume/copy_up.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "util/error.h"
#include "util/safe_open.h"
#include "util/unique_fd.h"

namespace berth::volume {

namespace {

/// The entries of an open directory, "." and ".." left out.
std::vector<std::string> entries_of(int dir) {
  const int copy = ::openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (copy < 0) return {};
  DIR* stream = ::fdopendir(copy);
  if (stream == nullptr) {
    ::close(copy);
    return {};
  }
  std::vector<std::string> names;
  while (const dirent* entry = ::readdir(stream)) {
    const std::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  ::closedir(stream);
  return names;
}

class TreeCopy {
 public:
  /// `root`: the open destination directory, which hard links are made relative to.
  TreeCopy(std::string destination, int root)
      : m_destination(std::move(destination)), m_root(root) {}

  void copy_directory(int source, int target, const std::string& relative) {
    for (const std::string& name : entries_of(source)) {
      copy_entry(source, target, name, relative.empty() ? name : relative + "/" + name);
    }
  }

  /// Owner, mode, times and attributes of `from` onto `to` (both open directories or files).
  void copy_metadata(int from, int to, const struct stat& st, const std::string& relative) {
    copy_xattrs(from, to, relative);
    // chown first: it clears the set-id bits a chmod then puts back.
    if (::fchown(to, st.st_uid, st.st_gid) != 0) fail(relative, "chown");
    if (::fchmod(to, st.st_mode & 07777) != 0) fail(relative, "chmod");
    const timespec times[2] = {st.st_atim, st.st_mtim};
    ::futimens(to, times);
  }

 private:
  [[noreturn]] void fail(const std::string& relative, const char* what) const {
    throw Error(fmt::format("copy-up into {}: {} {}: {}", m_destination, what, relative,
                            std::strerror(errno)));
  }

  void copy_entry(int source, int target, const std::string& name, const std::string& relative) {
    struct stat st {};
    if (::fstatat(source, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) fail(relative, "stat");
    const timespec times[2] = {st.st_atim, st.st_mtim};
    if (S_ISDIR(st.st_mode)) {
      Fd from(::openat(source, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!from) fail(relative, "open");
      if (::mkdirat(target, name.c_str(), 0700) != 0) fail(relative, "mkdir");
      Fd to(::openat(target, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!to) fail(relative, "open");
      copy_directory(from.get(), to.get(), relative);
      copy_metadata(from.get(), to.get(), st, relative);
      return;
    }
    if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
      const auto key = std::pair{st.st_dev, st.st_ino};
      if (const auto first = m_links.find(key); first != m_links.end()) {
        if (::linkat(m_root, first->second.c_str(), target, name.c_str(), 0) != 0) {
          fail(relative, "link");
        }
        return;
      }
      m_links.emplace(key, relative);
    }
    if (S_ISREG(st.st_mode)) {
      Fd from(::openat(source, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      if (!from) fail(relative, "open");
      Fd to(::openat(target, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                     0600));
      if (!to) fail(relative, "create");
      copy_contents(from.get(), to.get(), st.st_size, relative);
      copy_metadata(from.get(), to.get(), st, relative);
      return;
    }
    if (S_ISLNK(st.st_mode)) {
      std::string link(static_cast<std::size_t>(st.st_size) + 1, '\0');
      const ssize_t length = ::readlinkat(source, name.c_str(), link.data(), link.size());
      if (length < 0) fail(relative, "readlink");
      link.resize(static_cast<std::size_t>(length));
      if (::symlinkat(link.c_str(), target, name.c_str()) != 0) fail(relative, "symlink");
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode)) {
      if (::mknodat(target, name.c_str(), st.st_mode, st.st_rdev) != 0) fail(relative, "mknod");
    } else {
      return;  // a socket belongs to the process that bound it
    }
    if (::fchownat(target, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0) {
      fail(relative, "chown");
    }
    if (!S_ISLNK(st.st_mode) && ::fchmodat(target, name.c_str(), st.st_mode & 07777, 0) != 0) {
      fail(relative, "chmod");
    }
    ::utimensat(target, name.c_str(), times, AT_SYMLINK_NOFOLLOW);
  }

  void copy_contents(int from, int to, off_t size, const std::string& relative) {
    off_t left = size;
    while (left > 0) {
      const ssize_t copied =
          ::copy_file_range(from, nullptr, to, nullptr, static_cast<std::size_t>(left), 0);
      if (copied > 0) {
        left -= copied;
        continue;
      }
      if (copied == 0) break;  // the file shrank while we copied
      if (errno == EINTR) continue;
      if (errno != EXDEV && errno != ENOSYS && errno != EOPNOTSUPP && errno != EINVAL) {
        fail(relative, "copy");
      }
      // No copy_file_range between these filesystems: plain reads and writes.
      char buffer[65536];
      for (ssize_t n; (n = ::read(from, buffer, sizeof buffer)) != 0;) {
        if (n < 0) {
          if (errno == EINTR) continue;
          fail(relative, "read");
        }
        for (ssize_t done = 0; done < n;) {
          const ssize_t written = ::write(to, buffer + done, static_cast<std::size_t>(n - done));
          if (written < 0) {
            if (errno == EINTR) continue;
            fail(relative, "write");
          }
          done += written;
        }
      }
      return;
    }
  }

  void copy_xattrs(int from, int to, const std::string& relative) {
    const ssize_t size = ::flistxattr(from, nullptr, 0);
    if (size <= 0) return;
    std::string names(static_cast<std::size_t>(size), '\0');
    const ssize_t listed = ::flistxattr(from, names.data(), names.size());
    if (listed <= 0) return;
    names.resize(static_cast<std::size_t>(listed));
    for (std::size_t start = 0; start < names.size();) {
      const std::string name = names.c_str() + start;
      start += name.size() + 1;
      // overlayfs keeps its own bookkeeping there; it means nothing outside the overlay.
      if (name.starts_with("trusted.overlay.")) continue;
      const ssize_t value_size = ::fgetxattr(from, name.c_str(), nullptr, 0);
      if (value_size < 0) continue;
      std::string value(static_cast<std::size_t>(value_size), '\0');
      const ssize_t read = ::fgetxattr(from, name.c_str(), value.data(), value.size());
      if (read < 0) continue;
      if (::fsetxattr(to, name.c_str(), value.data(), static_cast<std::size_t>(read), 0) != 0 &&
          errno != ENOTSUP) {
        fail(relative, ("set attribute " + name + " of").c_str());
      }
    }
  }

  std::string m_destination;
  int m_root;
  std::map<std::pair<dev_t, ino_t>, std::string> m_links;  // first copy of each linked file
};

}  // namespace

bool directory_is_empty(const std::string& path) {
  const Fd dir(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  return dir && entries_of(dir.get()).empty();
}

bool copy_up(const std::string& rootfs, const std::string& path, const std::string& destination) {
  const Fd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) throw Error(fmt::format("copy-up: {}: {}", rootfs, std::strerror(errno)));
  const Fd source = open_in_root(root.get(), path, O_RDONLY | O_DIRECTORY);
  if (!source) {
    if (errno == ENOENT || errno == ENOTDIR) return false;
    throw Error(fmt::format("copy-up of {}: {}", path, std::strerror(errno)));
  }
  const Fd target(::open(destination.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!target) throw Error(fmt::format("copy-up: {}: {}", destination, std::strerror(errno)));
  struct stat st {};
  if (::fstat(source.get(), &st) != 0) {
    throw Error(fmt::format("copy-up of {}: {}", path, std::strerror(errno)));
  }
  TreeCopy copy(destination, target.get());
  copy.copy_directory(source.get(), target.get(), "");
  copy.copy_metadata(source.get(), target.get(), st, ".");
  return true;
}

}  // namespace berth::volume
