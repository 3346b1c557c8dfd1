// The path rules of `cp` (Docker's `docker cp`), as pure functions: which argument names a
// container, how a trailing "/" or "/." reads, where an archive is extracted and under what
// top-level name, and which of a container's mounts holds a path. No I/O, except through
// the functions a caller passes in.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/container_spec.h"

namespace berth::containers {

/// One side of a copy: `container` empty for a local path (or "-").
struct CopyEndpoint {
  std::string container;
  std::string path;
};

/// Docker's reading of a `cp` argument: an absolute path is local; otherwise what precedes
/// the first ':' names a container, unless there is none or it starts with '.'
/// (`./file:name.txt` is a local file).
CopyEndpoint split_copy_arg(std::string_view arg);

/// Go's filepath.Clean: "." for an empty path, no doubled or trailing '/', "." and ".."
/// parts resolved lexically (".." at the root stays at the root). The loader's
/// (compose/canonical.h), named here so that users of these rules need no YAML headers.
std::string clean_path(std::string_view path);

/// Whether `path` ends in "/." or is "." (copy the directory's contents).
bool names_contents(std::string_view path);
/// Whether `path` ends in '/' or names contents: it must be a directory.
bool asserts_directory(std::string_view path);

/// `path` made absolute against `base` ("/" for a container path, the working directory for
/// a local one) and cleaned, keeping a trailing "/" or "/." that the cleaning drops.
std::string absolute_copy_path(std::string_view path, std::string_view base);

/// Docker's SplitPathDirEntry: the directory and the entry of `path` ("/a/b" gives "/a" and
/// "b"; "/a/b/." gives "/a/b" and "."; "/" gives "/" and ".").
std::pair<std::string, std::string> split_dir_entry(std::string_view path);

/// Where a symlink at `link` with target `target` leads, lexically: an absolute target as
/// it is, a relative one joined to the link's directory; cleaned.
std::string join_link_target(std::string_view link, std::string_view target);

/// What a path is, for the rules below.
struct PathInfo {
  std::string path;  // absolute, after following symlinks at the end (destinations)
  bool exists = false;
  bool is_dir = false;
};

/// lstat for resolve_destination: nullopt when nothing is there, else whether it is a
/// symlink (with its target) or a directory.
struct PathStat {
  bool is_symlink = false;
  bool is_dir = false;
  std::string link_target;
};
using PathStatFn = std::function<std::optional<PathStat>(const std::string& path)>;

/// Docker's CopyInfoDestinationPath: follows symlinks at the end of `path` (ten at most:
/// `too many symlinks in <path>`); a missing end is fine (the copy makes it).
PathInfo resolve_destination(const std::string& path, const PathStatFn& lstat);

/// Where to extract an archive of the source, and the name its top entry takes there.
struct CopyPlan {
  std::string extract_dir;
  std::string top_name;  // "." puts a directory's contents straight into extract_dir
};

/// Docker's PrepareArchiveCopy. `source_name` is the name the source's top entry has in its
/// archive (its base name, or "." for a "/." source). Errors, in Docker's words: `cannot
/// copy directory` (a directory onto an existing file), `no such directory` (a file onto a
/// missing path ending in '/').
CopyPlan plan_copy(const std::string& source_name, bool source_is_dir, const PathInfo& dest);

/// Whether the mount is read-only (`:ro`, or "ro" among its options).
bool mount_is_read_only(const runtime::MountSpec& mount);

/// The mount of `mounts` whose target holds `path` (the deepest one), nullptr for the
/// container's own root filesystem. Both lexically, as Docker decides it.
const runtime::MountSpec* covering_mount(const std::vector<runtime::MountSpec>& mounts,
                                         std::string_view path);

}  // namespace berth::containers
