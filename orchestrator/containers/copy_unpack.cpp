#include "orchestrator/containers/copy_unpack.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <map>
#include <vector>

#include <fmt/format.h>

#include "image/archive_api.h"
#include "image/tar_reader.h"
#include "util/error.h"

namespace berth::containers {

namespace {

using image::archive_api;

std::string join(const std::string& label, const std::string& name) {
  if (name.empty()) return label;
  return label.ends_with('/') ? label + name : label + "/" + name;
}

std::pair<std::string, std::string> split_parent(const std::string& name) {
  const auto slash = name.rfind('/');
  if (slash == std::string::npos) return {"", name};
  return {name.substr(0, slash), name.substr(slash + 1)};
}

/// The modification time of `entry` (access time too, where the archive has one) for
/// utimensat; an entry without one keeps the time of its creation.
std::array<timespec, 2> entry_times(archive_entry* entry) {
  const auto& api = archive_api();
  std::array<timespec, 2> times{timespec{0, UTIME_OMIT}, timespec{0, UTIME_OMIT}};
  if (api.archive_entry_mtime_is_set(entry)) {
    times[1] = {api.archive_entry_mtime(entry), api.archive_entry_mtime_nsec(entry)};
    times[0] = api.archive_entry_atime_is_set(entry)
                   ? timespec{api.archive_entry_atime(entry), api.archive_entry_atime_nsec(entry)}
                   : times[1];
  }
  return times;
}

class Unpacker {
 public:
  explicit Unpacker(const UnpackTarget& target) : m_target(target) {}

  void unpack(image::TarStream& tar) {
    while (archive_entry* entry = tar.next()) add(tar, entry);
    finish_directories();
  }

 private:
  struct DirectoryFinish {
    mode_t mode = 0755;
    std::array<timespec, 2> times{};
  };

  [[noreturn]] void fail_errno(const std::string& name) const {
    throw Error(fmt::format("{}: {}", join(m_target.label, name), std::strerror(errno)));
  }

  int parent_directory(const std::string& parent) {
    if (!m_parent || parent != m_parent_path) {
      m_parent = Fd();
      m_parent = open_making_directories(m_target.open_dir, parent, m_target.label);
      m_parent_path = parent;
    }
    return m_parent.get();
  }

  void add(image::TarStream& tar, archive_entry* entry) {
    const auto& api = archive_api();
    const char* raw = api.archive_entry_pathname(entry);
    const std::string original = raw == nullptr ? "" : raw;
    const auto name = image::normalize_entry_name(original);
    if (!name) {
      throw Error(fmt::format("archive entry \"{}\" escapes {}", original, m_target.label));
    }
    // The root entry is the extraction point, which exists and stays as it is.
    if (name->empty()) return;
    const auto [parent, base] = split_parent(*name);
    const int dir = parent_directory(parent);
    const char* hardlink = api.archive_entry_hardlink(entry);
    const bool is_dir = hardlink == nullptr && api.archive_entry_filetype(entry) == AE_IFDIR;
    if (make_room(dir, base, *name, is_dir)) {
      set_directory(dir, base, *name, entry);  // kept, with the archive's metadata
      return;
    }
    if (hardlink != nullptr) return add_hardlink(dir, base, *name, hardlink);
    switch (api.archive_entry_filetype(entry)) {
      case AE_IFREG: return add_file(tar, dir, base, *name, entry);
      case AE_IFDIR:
        if (::mkdirat(dir, base.c_str(), 0700) != 0) fail_errno(*name);
        return set_directory(dir, base, *name, entry);
      case AE_IFLNK: {
        const char* target = api.archive_entry_symlink(entry);
        if (::symlinkat(target == nullptr ? "" : target, dir, base.c_str()) != 0) {
          fail_errno(*name);
        }
        return set_metadata(dir, base, *name, entry, false);
      }
      case AE_IFCHR:
      case AE_IFBLK:
      case AE_IFIFO: return add_node(dir, base, *name, entry);
      default: throw Error(fmt::format("{}: unsupported file type", join(m_target.label, *name)));
    }
  }

  /// Clears the way for the entry at `dir`/`base`: true when a directory is there and the
  /// entry is one too (it is kept). Docker's NoOverwriteDirNonDir in both directions.
  bool make_room(int dir, const std::string& base, const std::string& name, bool is_dir) {
    struct stat st {};
    if (::fstatat(dir, base.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) return false;
      fail_errno(name);
    }
    const bool existing_dir = S_ISDIR(st.st_mode);
    if (existing_dir && !is_dir) {
      throw Error(fmt::format("cannot overwrite directory \"{}\" with non-directory",
                              join(m_target.label, name)));
    }
    if (!existing_dir && is_dir) {
      throw Error(fmt::format("cannot overwrite non-directory \"{}\" with directory",
                              join(m_target.label, name)));
    }
    if (existing_dir) return true;
    if (::unlinkat(dir, base.c_str(), 0) != 0) fail_errno(name);
    return false;
  }

  void add_file(image::TarStream& tar, int dir, const std::string& base, const std::string& name,
                archive_entry* entry) {
    const Fd file(
        ::openat(dir, base.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!file) fail_errno(name);
    std::vector<char> buffer(64 * 1024);
    while (const std::size_t got = tar.read(buffer.data(), buffer.size())) {
      for (std::size_t done = 0; done < got;) {
        const ssize_t written = ::write(file.get(), buffer.data() + done, got - done);
        if (written < 0 && errno == EINTR) continue;
        if (written < 0) fail_errno(name);
        done += static_cast<std::size_t>(written);
      }
    }
    // Owner before mode: a chown clears the set-id bits.
    chown_fd(file.get(), name, entry);
    if (::fchmod(file.get(), archive_api().archive_entry_perm(entry)) != 0) fail_errno(name);
    const auto times = entry_times(entry);
    if (::futimens(file.get(), times.data()) != 0) fail_errno(name);
  }

  void add_node(int dir, const std::string& base, const std::string& name, archive_entry* entry) {
    const auto& api = archive_api();
    const mode_t type = api.archive_entry_filetype(entry);
    const mode_t kind = type == AE_IFCHR ? S_IFCHR : type == AE_IFBLK ? S_IFBLK : S_IFIFO;
    const dev_t device =
        makedev(api.archive_entry_rdevmajor(entry), api.archive_entry_rdevminor(entry));
    if (::mknodat(dir, base.c_str(), kind | 0600, kind == S_IFIFO ? 0 : device) != 0) {
      fail_errno(name);
    }
    set_metadata(dir, base, name, entry, true);
  }

  void add_hardlink(int dir, const std::string& base, const std::string& name,
                    const char* raw_target) {
    const auto target = image::normalize_entry_name(raw_target);
    if (!target || target->empty()) {
      throw Error(fmt::format("archive entry \"{}\" links outside {}", name, m_target.label));
    }
    const auto [target_parent, target_base] = split_parent(*target);
    const Fd target_dir = m_target.open_dir(target_parent);
    if (!target_dir) fail_errno(*target);
    // Without AT_SYMLINK_FOLLOW a symlink is linked itself, never followed.
    if (::linkat(target_dir.get(), target_base.c_str(), dir, base.c_str(), 0) != 0) {
      fail_errno(name);
    }
  }

  /// The owner the extraction gives `entry`, nullopt to leave it to whoever creates it.
  std::optional<std::pair<uid_t, gid_t>> owner(archive_entry* entry) const {
    switch (m_target.owner.mode) {
      case Ownership::Mode::archive:
        return std::pair{static_cast<uid_t>(archive_api().archive_entry_uid(entry)),
                         static_cast<gid_t>(archive_api().archive_entry_gid(entry))};
      case Ownership::Mode::fixed: return std::pair{m_target.owner.uid, m_target.owner.gid};
      case Ownership::Mode::caller: break;
    }
    return std::nullopt;
  }

  void chown_fd(int fd, const std::string& name, archive_entry* entry) {
    if (const auto ids = owner(entry); ids && ::fchown(fd, ids->first, ids->second) != 0) {
      fail_errno(name);
    }
  }

  /// Owner, mode (not for a symlink) and times of something that is not opened for them;
  /// nothing here follows `base`.
  void set_metadata(int dir, const std::string& base, const std::string& name, archive_entry* entry,
                    bool with_mode) {
    if (const auto ids = owner(entry);
        ids && ::fchownat(dir, base.c_str(), ids->first, ids->second, AT_SYMLINK_NOFOLLOW) != 0) {
      fail_errno(name);
    }
    if (with_mode) {
      // A device or FIFO opened O_PATH is never opened for I/O; its /proc link takes the mode.
      // (Checked not to be a symlink, which the /proc link would lead on through.)
      const Fd node(::openat(dir, base.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
      struct stat st {};
      if (!node || ::fstat(node.get(), &st) != 0) fail_errno(name);
      if (!S_ISLNK(st.st_mode) && ::chmod(fmt::format("/proc/self/fd/{}", node.get()).c_str(),
                                          archive_api().archive_entry_perm(entry)) != 0) {
        fail_errno(name);
      }
    }
    const auto times = entry_times(entry);
    if (::utimensat(dir, base.c_str(), times.data(), AT_SYMLINK_NOFOLLOW) != 0) fail_errno(name);
  }

  /// A directory's owner now; its mode and times once its entries are in (a 0555 directory
  /// would refuse them, and each entry changes its time).
  void set_directory(int dir, const std::string& base, const std::string& name,
                     archive_entry* entry) {
    if (const auto ids = owner(entry);
        ids && ::fchownat(dir, base.c_str(), ids->first, ids->second, AT_SYMLINK_NOFOLLOW) != 0) {
      fail_errno(name);
    }
    m_directories[name] = {static_cast<mode_t>(archive_api().archive_entry_perm(entry)),
                           entry_times(entry)};
  }

  /// Deepest first, so that setting a directory's time is not undone inside it.
  void finish_directories() {
    m_parent = Fd();
    std::vector<std::pair<std::string, DirectoryFinish>> order(m_directories.begin(),
                                                               m_directories.end());
    const auto depth = [](const std::string& path) {
      return std::count(path.begin(), path.end(), '/');
    };
    std::stable_sort(order.begin(), order.end(),
                     [&](const auto& a, const auto& b) { return depth(a.first) > depth(b.first); });
    for (const auto& [name, finish] : order) {
      const Fd path = m_target.open_dir(name);
      const Fd dir(path ? ::openat(path.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1);
      if (!dir || ::fchmod(dir.get(), finish.mode) != 0 ||
          ::futimens(dir.get(), finish.times.data()) != 0) {
        fail_errno(name);
      }
    }
  }

  const UnpackTarget& m_target;
  Fd m_parent;
  std::string m_parent_path;
  std::map<std::string, DirectoryFinish> m_directories;
};

}  // namespace

Fd open_making_directories(const DirectoryOpener& opener, const std::string& relative,
                           const std::string& label) {
  Fd dir = opener(relative);
  if (dir || errno != ENOENT) {
    if (!dir) throw Error(fmt::format("{}: {}", join(label, relative), std::strerror(errno)));
    return dir;
  }
  // Component by component from the extraction point, each step through the opener.
  dir = opener("");
  std::string done;
  std::size_t start = 0;
  while (dir && start < relative.size()) {
    const auto slash = relative.find('/', start);
    const std::string part =
        relative.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    start = slash == std::string::npos ? relative.size() : slash + 1;
    if (part.empty()) continue;
    done += (done.empty() ? "" : "/") + part;
    Fd next = opener(done);
    if (!next && errno == ENOENT) {
      if (::mkdirat(dir.get(), part.c_str(), 0755) != 0 && errno != EEXIST) break;
      next = opener(done);
      // Set explicitly (mkdirat's mode passes through the umask), on what the opener found:
      // a name could meanwhile be a symlink that a path-based chmod would follow.
      if (next) {
        const Fd made(::openat(next.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (made) ::fchmod(made.get(), 0755);
      }
    }
    dir = std::move(next);
  }
  if (!dir) throw Error(fmt::format("{}: {}", join(label, relative), std::strerror(errno)));
  return dir;
}

void unpack_archive(image::TarStream& tar, const UnpackTarget& target) {
  Unpacker(target).unpack(tar);
}

}  // namespace berth::containers
