// The extracting half of `cp`: a tar archive (one `cp` made, or the user's on standard
// input) written into a directory, on the host or in a container, with Docker's rules for
// what an entry may replace. Every entry is created with *at calls on a directory the caller
// resolves, and never through a symlink at its own name: the archive's content cannot
// redirect a write out of where the caller's resolution keeps it.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>

#include "util/unique_fd.h"

namespace berth::image {
class TarStream;
}

namespace berth::containers {

/// Opens the directory `relative` ("" for the extraction point itself) below the extraction
/// point, O_PATH | O_DIRECTORY; an invalid Fd with errno set when it cannot. The caller's
/// choice of resolution is the safety of the whole extraction: inside a container's root
/// (openat2 RESOLVE_IN_ROOT), or beneath a host directory following no symlink.
using DirectoryOpener = std::function<Fd(const std::string& relative)>;

/// Opens `relative` with `opener`, making the directories on the way that are missing
/// (0755, as tar makes parents it was not given). berth::Error `<label>/<relative>: <why>`.
Fd open_making_directories(const DirectoryOpener& opener, const std::string& relative,
                           const std::string& label);

/// Who owns what the extraction creates.
struct Ownership {
  enum class Mode {
    archive,  // the archive's uid and gid (-a)
    fixed,    // `uid`:`gid` (root, for files copied into a container)
    caller,   // whoever runs berth (files copied out of a container)
  };
  Mode mode = Mode::caller;
  uid_t uid = 0;
  gid_t gid = 0;
};

struct UnpackTarget {
  DirectoryOpener open_dir;
  /// The extraction point as the user knows it ("shop-web-1:/etc"), for messages.
  std::string label;
  Ownership owner;
};

/// Extracts every entry of `tar` below the extraction point: files, directories (their modes
/// and times set once their content is in), symlinks (as written, never followed), hard links
/// within the archive, devices and FIFOs; modes and modification times kept. The root entry
/// ("./") leaves the extraction point as it is. As Docker (NoOverwriteDirNonDir), an existing
/// directory is never replaced by something else, nor anything else by a directory:
/// berth::Error `cannot overwrite directory "<label>/<name>" with non-directory` (and the
/// converse); other existing entries are replaced. An absolute name or one with ".." is
/// refused: `archive entry "<name>" escapes <label>`.
void unpack_archive(image::TarStream& tar, const UnpackTarget& target);

}  // namespace berth::containers
