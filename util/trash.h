// Removal in two steps: a rename out of sight, then the deleting.
//
// Deleting a container's directories is the slowest part of `run --rm` on ext4 (some 6 ms of
// 45 here). A rename into the trash takes the container out of every listing at once, so
// the monitor can tell the attached command it is gone and delete afterwards. Each entry's
// name says which process deletes it; one whose process died half-way (killed) is deleted
// by the next sweep.
#pragma once

#include <optional>
#include <string>

namespace berth {

/// Moves `path` into `trash_dir` (created when missing) as "<pid>.<start time>.<n>" of the
/// calling process, and returns the new path. nullopt when `path` cannot be moved there
/// (another filesystem, gone already): delete it in place then.
std::optional<std::string> move_to_trash(const std::string& path, const std::string& trash_dir);

/// A new, unused path in `trash_dir` (created when missing) named for the calling process,
/// as move_to_trash names its entries: something built there and renamed out when complete
/// is deleted by the next sweep_trash if this process dies first.
std::string new_trash_entry(const std::string& trash_dir);

/// Deletes the entries of `trash_dir` whose deleting process is no longer alive. Best effort:
/// what cannot go now stays for the next sweep.
void sweep_trash(const std::string& trash_dir);

}  // namespace berth
