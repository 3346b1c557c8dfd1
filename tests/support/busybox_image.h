// Test images made by the tests themselves: a root filesystem tar with Debian's
// busybox-static (2 MB) and a symlink per applet a test may need.
#pragma once

#include <string>

namespace berth::testing {

/// True when /bin/busybox is a static busybox (Debian's busybox-static).
bool have_static_busybox();

/// Writes a rootfs tar (uncompressed) to `tar_path`: bin/busybox, bin/<applet> symlinks for
/// the shell and the tools tests use (sh, ls, cat, echo, sleep, nc, id, yes, head, ps, kill,
/// unshare, ...), and etc/passwd, etc/group, tmp/ (1777). `marker` is written to
/// /etc/berth-test-marker, so tests can make images with different content (and digests).
void make_busybox_rootfs_tar(const std::string& tar_path, const std::string& marker = "");

}  // namespace berth::testing
