// Opening paths inside a directory tree that someone else controls (an image layer, a volume a
// container writes to) without being led out of it by symlinks or "..".
#pragma once

#include <string>

#include "util/unique_fd.h"

namespace berth {

/// openat2 confined to `dir`: `path` ("" for `dir` itself) may not leave it, and no symlink
/// is followed anywhere on the way (ELOOP when one is met). An invalid Fd with errno set when
/// it cannot be opened (ENOSYS before Linux 5.6).
Fd open_beneath(int dir, const std::string& path, int flags);

/// openat2 with `dir` taken as the root: absolute symlinks and ".." resolve inside it, as they
/// would for a process chrooted there (a container's view of its root filesystem).
Fd open_in_root(int dir, const std::string& path, int flags);

}  // namespace berth
