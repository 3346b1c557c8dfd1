#include "util/safe_open.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace berth {

namespace {

Fd open_resolving(int dir, const std::string& path, int flags, std::uint64_t resolve) {
  open_how how{};
  how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
  how.resolve = resolve;
  for (;;) {
    const long fd =
        ::syscall(SYS_openat2, dir, path.empty() ? "." : path.c_str(), &how, sizeof how);
    // EAGAIN: a concurrent rename raced the lookup, which the kernel asks to retry.
    if (fd < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    return Fd(static_cast<int>(fd));
  }
}

}  // namespace

Fd open_beneath(int dir, const std::string& path, int flags) {
  return open_resolving(dir, path, flags,
                        RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
}

Fd open_in_root(int dir, const std::string& path, int flags) {
  return open_resolving(dir, path, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
}

}  // namespace berth
