// The host's cgroup layout as berth's runtime needs it: whether crun can run here, and the
// removal of a container's cgroup (and of its emptied parents) from every hierarchy.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "util/file_lock.h"

namespace berth::runtime {

/// The one-line reason crun cannot run on this host, or nullopt when it can. crun refuses a
/// hybrid layout whose cgroup2 mount still holds a controller (hugetlb, when no v1 hierarchy
/// claimed it). `cgroup_root` is for tests; berth always asks about /sys/fs/cgroup.
std::optional<std::string> crun_blocker(const std::string& cgroup_root = "/sys/fs/cgroup");

/// True when /sys/fs/cgroup is a tmpfs holding v1 controller hierarchies (v1 or hybrid), so
/// the OCI spec must use the v1 resource fields.
bool cgroup_v1_host();

/// Removes the cgroup `cgroups_path` (as in the spec's linux.cgroupsPath, "/berth/p/c") and
/// any cgroups below it from every mounted hierarchy, then its parents up to (not including)
/// the hierarchy's root while they are empty. A path that does not exist is fine.
/// Throws berth::Error naming the directory when the cgroup itself cannot be removed (a
/// process still in it).
void remove_cgroup(const std::string& cgroups_path);

/// Held shared while a runtime creates a container (and with it the container's cgroup and
/// any missing parents), exclusive while remove_cgroup removes emptied parents: a parent
/// removed between a runtime's mkdir of it and its first write into it fails that create
/// (runc: `write /sys/fs/cgroup/cpuset/berth/cpuset.cpus: no such device`). Host-wide, a
/// flock on /sys/fs/cgroup itself, since every berth root shares the /berth parents; it
/// leaves no file behind.
FileLock cgroup_creation_lock(bool exclusive = false);

/// The directories that exist for `cgroups_path`, one per hierarchy that has it.
std::vector<std::string> cgroup_dirs(const std::string& cgroups_path);

/// True when the cgroup `cgroups_path` is frozen (its container paused): freezer.state is
/// FROZEN in the v1 freezer hierarchy, or, on a host without one, cgroup.events says
/// "frozen 1" in cgroup2. False when the cgroup does not exist.
bool cgroup_frozen(const std::string& cgroups_path);

}  // namespace berth::runtime
