// A container's root filesystem: an overlay of the image's layers (read-only lowers), with the
// container's own upper and work directories, mounted with mount(2).
#pragma once

#include <string>
#include <vector>

namespace berth::runtime {

/// Mounts an overlay on `target`: `lower_dirs` top layer first (an empty list gives an empty
/// root), `upper` and `work` created when missing. `links_dir` belongs to this mount: it gets
/// one short symlink per layer (and an empty directory for a layerless image), so that many
/// layers with long paths still fit the one page of mount data. Throws berth::Error naming
/// `target`.
void mount_overlay(const std::vector<std::string>& lower_dirs, const std::string& upper,
                   const std::string& work, const std::string& target,
                   const std::string& links_dir);

/// Unmounts `target` (lazily when it is busy); nothing to do when it is not mounted.
void unmount_rootfs(const std::string& target);

}  // namespace berth::runtime
