// Docker's local driver options (`volume create --opt type=tmpfs --opt device=tmpfs --opt
// o=size=64m`, compose's `driver_opts`): the volume's `_data` is a mount of `device` with
// filesystem `type` and mount(8)-style options `o`, made when a container first uses it and
// undone when the last one using it has stopped.
#pragma once

#include <map>
#include <optional>
#include <string>

namespace berth::volume {

struct LocalMount {
  std::string type;    // "tmpfs", "ext4", ...; "none" for a bind
  std::string device;  // "tmpfs", "/dev/sdb1", a host directory for a bind
  unsigned long flags = 0;
  std::string data;  // what mount(2) passes to the filesystem ("size=64m,uid=1000")
};

/// The mount the options ask for, nullopt when none (a plain directory). berth::Error
/// `invalid option: "x"` for a key other than type, device and o, and `missing required
/// option: "device"` (or "type") when only one of the two is given.
std::optional<LocalMount> local_mount_of(const std::map<std::string, std::string>& options);

/// Mounts `mount` on `data_path` unless something is mounted there already. The error
/// names the volume and what mount(2) said.
void mount_local(const std::string& volume, const LocalMount& mount, const std::string& data_path);

/// Unmounts `data_path` when it is a mount point; nothing otherwise.
void unmount_local(const std::string& data_path);

/// Whether `path` is a mount point (its own entry in /proc/self/mountinfo).
bool is_mount_point(const std::string& path);

/// Whether anything is mounted at `dir` or below it: a tree that must not be deleted.
bool has_mount_under(const std::string& dir);

}  // namespace berth::volume
