// What COPY sees of a source root: the entries .dockerignore leaves, in a fixed order.
// Shared by matching, hashing and copying, so the three always agree.
#pragma once

#include <sys/stat.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "image/dockerfile/root_path.h"
#include "image/dockerfile/sources.h"
#include "util/unique_fd.h"

namespace berth::image::dockerfile {

struct SourceEntry {
  std::string name;
  struct stat st {};  // lstat: a symlink is an entry of its own
};

/// The entries of the directory open as `dir_fd` (a directory descriptor usable for
/// reading), whose path from the root is `dir_path` ("" for the root), sorted by name. Those
/// `ignore` excludes are left out, except an excluded directory below which a `!` pattern
/// re-includes something (Docker sends such a directory, with only what is re-included).
/// berth::Error `<label>: <path>: <why>` when the directory cannot be read.
std::vector<SourceEntry> list_source_dir(const SourceRoot& root, int dir_fd,
                                         const std::string& dir_path);

/// `path` (relative to the root, "." for the root) with its symlinks followed inside the
/// root; nullopt when it does not exist, cannot be resolved or is excluded.
std::optional<RootPath> find_source(const SourceRoot& root, std::string_view path);

/// find_source, or berth::Error `<label>: "<path>": no such file or directory`.
RootPath require_source(const SourceRoot& root, std::string_view path);

/// Opens the directory `name` in `dir_fd` for reading, never through a symlink; berth::Error
/// `<label>: <path>: <why>` on failure.
Fd open_source_dir(const SourceRoot& root, int dir_fd, const std::string& name,
                   const std::string& path);

}  // namespace berth::image::dockerfile
