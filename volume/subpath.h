// `volume.subpath` / `--mount ...,volume-subpath=a/b`: a directory or file inside a volume
// mounted in place of the whole volume. The volume's content is the containers' to write, so
// a path inside it is never handed to the runtime to resolve: a symlink planted there could
// lead the mount anywhere on the host. It is opened here, without following any symlink and
// without leaving the volume, and that very file is bind-mounted at a staging path of
// berth's own, which is what the runtime mounts.
#pragma once

#include <string>

namespace berth::volume {

/// berth::Error naming the subpath when it is empty, absolute or has a ".." part: checked at
/// create, before anything is made.
void check_subpath(const std::string& subpath);

/// Mounts `subpath` (relative, no "..") of `data_path`, the data directory of `volume`, at
/// `staging` (made as a file or directory to match). berth::Error names the volume and the
/// subpath: absolute or escaping, missing, or reached through a symlink.
void stage_subpath(const std::string& volume, const std::string& data_path,
                   const std::string& subpath, const std::string& staging);

/// Unmounts and removes a staging path; nothing when it is not there.
void remove_staging(const std::string& staging);

}  // namespace berth::volume
