// The sources of COPY and ADD: found in a root (the build context, or another stage's or
// image's root filesystem for --from), hashed for the build cache, and copied into the
// root filesystem being built.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "image/dockerfile/ignore.h"

namespace berth::image::dockerfile {

/// Where sources are read from. Paths are resolved with `root_fd` as the root (openat2
/// RESOLVE_IN_ROOT: a symlink in a stage's filesystem, absolute or not, stays inside it).
struct SourceRoot {
  int root_fd = -1;   // an O_PATH directory descriptor, owned by the caller
  std::string label;  // for messages: "build context", "stage build", "image alpine"
  const IgnoreRules* ignore = nullptr;  // .dockerignore of the context; null for --from
};

/// The paths (relative to the root, cleaned, sorted) that a COPY source names: a path, or
/// a pattern with Go filepath.Match wildcards in any element (`*.py`, `src/*/conf`), the
/// excluded ones left out. A source with ".." that would leave the root is clamped at it
/// (Docker's rule). berth::Error when nothing matches: `<label>: "<source>": no such file
/// or directory` for a plain path, `<label>: "<pattern>": no source files were specified`
/// for a pattern.
std::vector<std::string> match_sources(const SourceRoot& root, std::string_view source);

/// A digest ("sha256:<hex>") of what copying `paths` would copy: for each path and
/// everything below it that is not excluded, in a fixed order, its relative name, type,
/// mode bits, size, content (files) or target (symlinks). Not times, not owners (COPY
/// makes its own owners): so a `touch` misses no cache, an edit always does.
std::string hash_sources(const SourceRoot& root, const std::vector<std::string>& paths);

struct CopyOptions {
  /// The owner of everything copied (`--chown`, resolved by the caller); nullopt keeps 0:0,
  /// as COPY from the context does. With `--from`, Docker keeps the source's owners unless
  /// --chown is given: the caller sets `keep_source_owner`.
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  bool keep_source_owner = false;
  /// `--chmod`: the mode of every file and directory copied (not of directories the copy
  /// creates on the way to the destination).
  std::optional<mode_t> mode;
};

/// Copies `paths` (from match_sources) into `dest_root_fd` (the root filesystem being
/// built, an O_PATH directory, resolved with RESOLVE_IN_ROOT) at `dest` with Docker's
/// rules: `dest` ending in "/" or several sources mean a directory (made, with missing
/// parents, 0755 and owned by the copy's owner); a directory source copies its contents,
/// not itself; a file onto an existing directory goes inside it; relative `dest` is taken
/// from `workdir`. Regular files (copy_file_range), directories, symlinks (as they are),
/// hard links between copied files kept; modes and modification times kept unless
/// `--chmod`. Excluded paths are not copied. berth::Error `<label>: <why>` or
/// `destination "<dest>": <why>` (`When using COPY with more than one source file, the
/// destination must be a directory and end with a /`).
void copy_sources(const SourceRoot& root, const std::vector<std::string>& paths, int dest_root_fd,
                  std::string_view dest, std::string_view workdir, const CopyOptions& options);

}  // namespace berth::image::dockerfile
