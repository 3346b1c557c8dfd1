// Copy-up: an empty volume mounted over a path where the image has content receives that
// content before the container starts, as Docker does, so `-v data:/var/lib/app` starts
// with the image's files, owners and modes.
#pragma once

#include <string>

namespace berth::volume {

/// Copies the directory `path` of the container root `rootfs` (resolved as the container
/// would see it: its symlinks stay inside the root) into `destination`, which is empty:
/// directories, files (hard links kept), symlinks, devices and FIFOs, with owners, modes,
/// times and extended attributes; then gives `destination` the owner and mode of `path`.
/// Every step works on file descriptors and follows no symlink in either tree, so neither an
/// image nor a container that shares the volume can redirect a write outside `destination`.
/// Returns false, copying nothing, when the container has no directory at `path`.
bool copy_up(const std::string& rootfs, const std::string& path, const std::string& destination);

/// Whether the directory `path` has no entries (false when it cannot be read).
bool directory_is_empty(const std::string& path);

}  // namespace berth::volume
