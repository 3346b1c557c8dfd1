// `cp`: files and directories between a container (running or stopped) and the host, or a
// tar stream on standard input or output, with Docker's `docker cp` rules (copy_paths.h).
#pragma once

#include <string>

#include "orchestrator/containers/container_store.h"

namespace berth::containers {

struct CopyOptions {
  /// -a: the source's owners (uid, gid) are kept. Without it, what lands in the container
  /// belongs to root and what lands on the host to whoever runs berth, as Docker documents.
  bool archive = false;
  /// -L: a symlink named as the source is followed, and what it leads to is copied under the
  /// link's name (Docker's client does so on either side).
  bool follow_link = false;
};

/// Copies `source` (a path in the container, relative ones from its /) to `destination` on
/// the host, or to standard output as a tar archive for "-". Messages name the container as
/// `label` (the name the user gave): `Could not find the file <source> in container <label>`.
void copy_from_container(const ContainerStore& store, const ContainerRecord& record,
                         const std::string& label, const std::string& source,
                         const std::string& destination, const CopyOptions& options);

/// Copies `source` on the host (or a tar archive from standard input for "-", into a
/// directory) to `destination` in the container. Paths under the container's volumes and
/// binds go to their sources, as in the container; writes refused as Docker refuses them:
/// `container rootfs is marked read-only`, `mounted volume is marked read-only`.
void copy_to_container(const ContainerStore& store, const ContainerRecord& record,
                       const std::string& label, const std::string& source,
                       const std::string& destination, const CopyOptions& options);

}  // namespace berth::containers
