// Paths inside a root filesystem (a build context, a stage's rootfs) resolved the way a
// process chrooted there would see them, so that COPY follows symlinks without ever leaving
// the root, and knows where it lands.
#pragma once

#include <sys/stat.h>

#include <string>
#include <string_view>

namespace berth::image::dockerfile {

struct RootPath {
  /// Relative to the root, '/'-separated, "" for the root itself. When it was looked at, no
  /// element of it was a symlink: open it with open_beneath (which fails rather than follow
  /// one that appeared since).
  std::string path;
  bool exists = false;
  struct stat st {};  // what `path` names, when it exists
  int error = 0;      // errno when the path cannot be resolved (ENOTDIR, ELOOP, EACCES)
};

/// `path` (absolute or not, both taken from the root) inside the tree at `root_fd`: every
/// symlink followed, the last one included, an absolute target and ".." kept inside the
/// root (as openat2 RESOLVE_IN_ROOT would). Elements from the first missing one on are
/// taken as written ("..": one back), `exists` false: where a copy would create them.
RootPath resolve_in_root(int root_fd, std::string_view path);

/// `dir`/`name`; `name` when `dir` is "" (the root).
std::string join_path(std::string_view dir, std::string_view name);

/// The directory part of a root-relative path ("a/b" -> "a", "b" -> "").
std::string parent_path(std::string_view path);

/// The last element of a path ("a/b" -> "b").
std::string base_name(std::string_view path);

}  // namespace berth::image::dockerfile
