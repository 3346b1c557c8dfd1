// copy_sources (image/dockerfile/sources.h): COPY's destination rules and the copy itself,
// as BuildKit does it. Everything in the destination is reached through descriptors of
// directories resolved inside the destination root, so no symlink there leads out of it.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <map>
#include <utility>

#include "image/dockerfile/root_path.h"
#include "image/dockerfile/source_walk.h"
#include "image/dockerfile/sources.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/safe_open.h"

namespace berth::image::dockerfile {

namespace {

/// The most one copy_file_range call is asked for; the loop asks again until the end.
constexpr std::size_t k_copy_chunk = std::size_t{1} << 30;

struct DestDir {
  Fd fd;             // open for reading, usable as the directory of *at calls
  std::string path;  // from the destination root, "" for the root
};

class Copier {
 public:
  Copier(const SourceRoot& root, int dest_root_fd, std::string_view dest,
         const CopyOptions& options)
      : m_root(root), m_dest_root(dest_root_fd), m_dest(dest), m_options(options) {}

  /// The directory at `path` (from the destination root, symlinks followed inside it), made
  /// with its missing parents: 0755, owned by the copy's owner.
  DestDir make_dirs(std::string_view path) {
    const RootPath where = resolve_in_root(m_dest_root, path);
    if (where.error != 0) {
      fail_dest(path, where.error);
    }
    if (where.exists && !S_ISDIR(where.st.st_mode)) {
      fail_dest(where.path, ENOTDIR);
    }
    DestDir dir{open_beneath(m_dest_root, "", O_RDONLY | O_DIRECTORY), ""};
    if (!dir.fd) {
      fail_dest("", errno);
    }
    std::string_view rest = where.path;
    while (!rest.empty()) {
      const auto slash = rest.find('/');
      const std::string element(rest.substr(0, slash));
      rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
      dir.path = join_path(dir.path, element);
      Fd next = open_dir_at(dir.fd.get(), element);
      if (!next && errno == ENOENT) {
        if (::mkdirat(dir.fd.get(), element.c_str(), 0700) != 0 && errno != EEXIST) {
          fail_dest(dir.path, errno);
        }
        next = open_dir_at(dir.fd.get(), element);
        // Exactly 0755 whatever the umask, as Docker makes them.
        if (next &&
            (::fchown(next.get(), m_options.uid.value_or(0), m_options.gid.value_or(0)) != 0 ||
             ::fchmod(next.get(), 0755) != 0)) {
          fail_dest(dir.path, errno);
        }
      }
      if (!next) {
        fail_dest(dir.path, errno);
      }
      dir.fd = std::move(next);
    }
    return dir;
  }

  /// Copies the source `path` to `dest` (absolute in the destination root).
  void copy_source(const std::string& path, const std::string& dest) {
    const RootPath source = require_source(m_root, path);
    const RootPath target = resolve_in_root(m_dest_root, dest);
    if (target.error != 0) {
      fail_dest(dest, target.error);
    }
    if (S_ISDIR(source.st.st_mode)) {
      // A directory's contents are copied, not the directory itself.
      if (target.exists && !S_ISDIR(target.st.st_mode)) {
        throw Error(
            fmt::format("destination \"{}\": cannot copy directory \"{}\" to non-directory /{}",
                        m_dest, path, target.path));
      }
      const DestDir dir = make_dirs(dest);
      const Fd from = open_beneath(m_root.root_fd, source.path, O_RDONLY | O_DIRECTORY);
      if (!from) {
        fail_source(source.path, errno);
      }
      copy_children(from.get(), source.path, dir.fd.get(), dir.path);
      // BuildKit gives the destination the source directory's times, not its mode or owner.
      set_times(dir.fd.get(), "", source.st, dir.path);
      return;
    }
    // A file onto a directory goes inside it, under the name it was copied by.
    const std::string file = target.exists && S_ISDIR(target.st.st_mode)
                                 ? join_path(target.path, base_name(path))
                                 : target.path;
    const DestDir dir = make_dirs(parent_path(file));
    const Fd from = open_beneath(m_root.root_fd, parent_path(source.path), O_PATH | O_DIRECTORY);
    if (!from) {
      fail_source(parent_path(source.path), errno);
    }
    copy_entry(from.get(), base_name(source.path), source.path, source.st, dir.fd.get(),
               base_name(file), file);
  }

 private:
  void copy_children(int from_dir, const std::string& from_path, int to_dir,
                     const std::string& to_path) {
    for (const SourceEntry& entry : list_source_dir(m_root, from_dir, from_path)) {
      copy_entry(from_dir, entry.name, join_path(from_path, entry.name), entry.st, to_dir,
                 entry.name, join_path(to_path, entry.name));
    }
  }

  void copy_entry(int from_dir, const std::string& from_name, const std::string& from_path,
                  const struct stat& st, int to_dir, const std::string& to_name,
                  const std::string& to_path) {
    struct stat existing {};
    const bool exists = ::fstatat(to_dir, to_name.c_str(), &existing, AT_SYMLINK_NOFOLLOW) == 0;
    if (!exists && errno != ENOENT) {
      fail_dest(to_path, errno);
    }
    if (S_ISDIR(st.st_mode)) {
      copy_directory(from_dir, from_name, from_path, st, to_dir, to_name, to_path,
                     exists ? &existing : nullptr);
      return;
    }
    if (exists) {
      if (S_ISDIR(existing.st_mode)) {
        throw Error(fmt::format("destination \"{}\": cannot replace directory /{} with a file",
                                m_dest, to_path));
      }
      if (::unlinkat(to_dir, to_name.c_str(), 0) != 0) {
        fail_dest(to_path, errno);
      }
    }
    if (S_ISREG(st.st_mode)) {
      copy_file(from_dir, from_name, from_path, st, to_dir, to_name, to_path);
    } else if (S_ISLNK(st.st_mode)) {
      std::array<char, 4096> target{};
      const ssize_t length =
          ::readlinkat(from_dir, from_name.c_str(), target.data(), target.size() - 1);
      if (length < 0) {
        fail_source(from_path, errno);
      }
      target[static_cast<std::size_t>(length)] = '\0';
      if (::symlinkat(target.data(), to_dir, to_name.c_str()) != 0) {
        fail_dest(to_path, errno);
      }
      set_owner_at(to_dir, to_name, st, to_path);
      set_times(to_dir, to_name, st, to_path);
    } else {
      // Devices, fifos and sockets are made anew, as BuildKit does.
      if (::mknodat(to_dir, to_name.c_str(), (st.st_mode & S_IFMT) | 0600, st.st_rdev) != 0) {
        fail_dest(to_path, errno);
      }
      set_owner_at(to_dir, to_name, st, to_path);
      if (::fchmodat(to_dir, to_name.c_str(), mode_of(st), 0) != 0) {
        fail_dest(to_path, errno);
      }
      set_times(to_dir, to_name, st, to_path);
    }
  }

  void copy_directory(int from_dir, const std::string& from_name, const std::string& from_path,
                      const struct stat& st, int to_dir, const std::string& to_name,
                      const std::string& to_path, const struct stat* existing) {
    if (existing != nullptr && !S_ISDIR(existing->st_mode)) {
      throw Error(
          fmt::format("destination \"{}\": cannot copy to non-directory: /{}", m_dest, to_path));
    }
    // Made private first: the mode, which may forbid writing, comes once the entries are in.
    if (existing == nullptr && ::mkdirat(to_dir, to_name.c_str(), 0700) != 0) {
      fail_dest(to_path, errno);
    }
    const Fd to = open_dir_at(to_dir, to_name);
    if (!to) {
      fail_dest(to_path, errno);
    }
    const Fd from = open_source_dir(m_root, from_dir, from_name, from_path);
    copy_children(from.get(), from_path, to.get(), to_path);
    finish(to.get(), st, to_path);
  }

  void copy_file(int from_dir, const std::string& from_name, const std::string& from_path,
                 const struct stat& st, int to_dir, const std::string& to_name,
                 const std::string& to_path) {
    const std::pair<dev_t, ino_t> inode{st.st_dev, st.st_ino};
    if (st.st_nlink > 1) {
      const auto first = m_links.find(inode);
      if (first != m_links.end() && link_to(first->second, to_dir, to_name)) {
        return;
      }
    }
    const Fd in(::openat(from_dir, from_name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!in) {
      fail_source(from_path, errno);
    }
    const Fd out(::openat(to_dir, to_name.c_str(),
                          O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!out) {
      fail_dest(to_path, errno);
    }
    copy_content(in.get(), out.get(), from_path, to_path);
    finish(out.get(), st, to_path);
    if (st.st_nlink > 1) {
      m_links.try_emplace(inode, to_path);
    }
  }

  /// Makes `to_name` a hard link to the copy of an earlier name of the same source file;
  /// false when it cannot be (the caller copies instead).
  bool link_to(const std::string& first, int to_dir, const std::string& to_name) {
    const Fd parent = open_beneath(m_dest_root, parent_path(first), O_PATH | O_DIRECTORY);
    return parent &&
           ::linkat(parent.get(), base_name(first).c_str(), to_dir, to_name.c_str(), 0) == 0;
  }

  void copy_content(int in, int out, const std::string& from_path, const std::string& to_path) {
    bool ranged = true;
    for (;;) {
      if (ranged) {
        const ssize_t copied = ::copy_file_range(in, nullptr, out, nullptr, k_copy_chunk, 0);
        if (copied > 0) {
          continue;
        }
        if (copied == 0) {
          return;
        }
        if (errno == EINTR) {
          continue;
        }
        // Not possible between these two (other file systems, old kernel): read and write
        // from where it stopped.
        if (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP ||
            errno == EPERM) {
          ranged = false;
          continue;
        }
        fail_dest(to_path, errno);
      }
      if (m_buffer.empty()) {
        m_buffer.resize(128 * 1024);
      }
      const ssize_t got = ::read(in, m_buffer.data(), m_buffer.size());
      if (got == 0) {
        return;
      }
      if (got < 0) {
        if (errno == EINTR) {
          continue;
        }
        fail_source(from_path, errno);
      }
      for (ssize_t written = 0; written < got;) {
        const ssize_t put =
            ::write(out, m_buffer.data() + written, static_cast<std::size_t>(got - written));
        if (put < 0) {
          if (errno == EINTR) {
            continue;
          }
          fail_dest(to_path, errno);
        }
        written += put;
      }
    }
  }

  /// Owner, then mode (a chown clears set-id bits), then times (last, as writing moves them).
  void finish(int fd, const struct stat& st, const std::string& to_path) {
    const auto [uid, gid] = owner_of(st);
    if (::fchown(fd, uid, gid) != 0 || ::fchmod(fd, mode_of(st)) != 0) {
      fail_dest(to_path, errno);
    }
    set_times(fd, "", st, to_path);
  }

  void set_owner_at(int dir, const std::string& name, const struct stat& st,
                    const std::string& to_path) {
    const auto [uid, gid] = owner_of(st);
    if (::fchownat(dir, name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) != 0) {
      fail_dest(to_path, errno);
    }
  }

  /// `name` in `dir`, or `dir` itself for "".
  void set_times(int dir, const std::string& name, const struct stat& st,
                 const std::string& to_path) {
    const std::array<timespec, 2> times{st.st_atim, st.st_mtim};
    const int result = name.empty()
                           ? ::futimens(dir, times.data())
                           : ::utimensat(dir, name.c_str(), times.data(), AT_SYMLINK_NOFOLLOW);
    if (result != 0) {
      fail_dest(to_path, errno);
    }
  }

  std::pair<uid_t, gid_t> owner_of(const struct stat& st) const {
    const bool keep = m_options.keep_source_owner;
    return {m_options.uid.value_or(keep ? st.st_uid : 0),
            m_options.gid.value_or(keep ? st.st_gid : 0)};
  }

  mode_t mode_of(const struct stat& st) const {
    return m_options.mode.value_or(st.st_mode) & 07777;
  }

  static Fd open_dir_at(int dir, const std::string& name) {
    return Fd(::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  }

  /// `path` is from the destination root, with or without its leading '/'.
  [[noreturn]] void fail_dest(std::string_view path, int error) const {
    if (path.starts_with('/')) {
      path.remove_prefix(1);
    }
    throw Error(fmt::format("destination \"{}\": /{}: {}", m_dest, path, std::strerror(error)));
  }

  [[noreturn]] void fail_source(const std::string& path, int error) const {
    throw Error(
        fmt::format("{}: {}: {}", m_root.label, path.empty() ? "." : path, std::strerror(error)));
  }

  const SourceRoot& m_root;
  int m_dest_root;
  std::string m_dest;  // as written, for messages
  const CopyOptions& m_options;
  std::map<std::pair<dev_t, ino_t>, std::string> m_links;  // source inode -> first copy
  std::vector<char> m_buffer;
};

}  // namespace

void copy_sources(const SourceRoot& root, const std::vector<std::string>& paths, int dest_root_fd,
                  std::string_view dest, std::string_view workdir, const CopyOptions& options) {
  // BuildKit takes "." (the working directory) as a directory too.
  const bool wants_directory = dest.empty() || dest == "." || dest.ends_with('/');
  if (paths.size() > 1 && !wants_directory) {
    throw Error(fmt::format(
        "destination \"{}\": When using COPY with more than one source file, the destination "
        "must be a directory and end with a /",
        dest));
  }
  const std::string base = fs::absolute(workdir.empty() ? std::string_view("/") : workdir, "/");
  const std::string target = fs::absolute(dest, base);
  Copier copier(root, dest_root_fd, dest, options);
  copier.make_dirs(wants_directory ? target : fs::dirname(target));
  for (const std::string& path : paths) {
    copier.copy_source(path, target);
  }
}

}  // namespace berth::image::dockerfile
