#include "image/dockerfile/source_walk.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "util/error.h"
#include "util/safe_open.h"

namespace berth::image::dockerfile {

namespace {

[[noreturn]] void fail(const SourceRoot& root, const std::string& path, int error) {
  throw Error(
      fmt::format("{}: {}: {}", root.label, path.empty() ? "." : path, std::strerror(error)));
}

/// The names in the directory `dir_fd`, through a descriptor of its own so that the
/// caller's (maybe O_PATH, maybe read before) is left as it is.
std::vector<std::string> read_names(const SourceRoot& root, int dir_fd, const std::string& path) {
  Fd reader(::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!reader) {
    fail(root, path, errno);
  }
  DIR* dir = ::fdopendir(reader.get());
  if (dir == nullptr) {
    fail(root, path, errno);
  }
  reader.release();  // closedir closes it
  std::vector<std::string> names;
  errno = 0;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string_view name = entry->d_name;
    if (name != "." && name != "..") {
      names.emplace_back(name);
    }
    errno = 0;
  }
  const int error = errno;
  ::closedir(dir);
  if (error != 0) {
    fail(root, path, error);
  }
  return names;
}

/// An excluded directory counts when something below it is re-included.
bool keeps_excluded_dir(const SourceRoot& root, int dir_fd, const std::string& name,
                        const std::string& path) {
  if (!root.ignore->may_include_below(path)) {
    return false;
  }
  const Fd dir = open_source_dir(root, dir_fd, name, path);
  return !list_source_dir(root, dir.get(), path).empty();
}

}  // namespace

std::vector<SourceEntry> list_source_dir(const SourceRoot& root, int dir_fd,
                                         const std::string& dir_path) {
  std::vector<std::string> names = read_names(root, dir_fd, dir_path);
  std::sort(names.begin(), names.end());
  const bool filter = root.ignore != nullptr && !root.ignore->empty();
  std::vector<SourceEntry> entries;
  entries.reserve(names.size());
  for (std::string& name : names) {
    SourceEntry entry;
    if (::fstatat(dir_fd, name.c_str(), &entry.st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) {
        continue;  // removed while we looked
      }
      fail(root, join_path(dir_path, name), errno);
    }
    if (filter) {
      const std::string path = join_path(dir_path, name);
      if (root.ignore->excluded(path) &&
          !(S_ISDIR(entry.st.st_mode) && keeps_excluded_dir(root, dir_fd, name, path))) {
        continue;
      }
    }
    entry.name = std::move(name);
    entries.push_back(std::move(entry));
  }
  return entries;
}

std::optional<RootPath> find_source(const SourceRoot& root, std::string_view path) {
  RootPath found = resolve_in_root(root.root_fd, path == "." ? std::string_view{} : path);
  if (found.error != 0 || !found.exists) {
    return std::nullopt;
  }
  if (root.ignore != nullptr && !found.path.empty() && root.ignore->excluded(found.path)) {
    if (!S_ISDIR(found.st.st_mode) || !root.ignore->may_include_below(found.path)) {
      return std::nullopt;
    }
    const Fd dir = open_beneath(root.root_fd, found.path, O_RDONLY | O_DIRECTORY);
    if (!dir || list_source_dir(root, dir.get(), found.path).empty()) {
      return std::nullopt;
    }
  }
  return found;
}

RootPath require_source(const SourceRoot& root, std::string_view path) {
  auto found = find_source(root, path);
  if (!found) {
    throw Error(fmt::format("{}: \"{}\": no such file or directory", root.label, path));
  }
  return std::move(*found);
}

Fd open_source_dir(const SourceRoot& root, int dir_fd, const std::string& name,
                   const std::string& path) {
  Fd dir(::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir) {
    fail(root, path, errno);
  }
  return dir;
}

}  // namespace berth::image::dockerfile
