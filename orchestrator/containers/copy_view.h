// A container's filesystem as its processes see it (its root, with its volumes and bind
// mounts at their targets), assembled for `cp` in a mount namespace of berth's own, running
// or stopped. Docker's daemon does the same for `docker cp`: the container's mounts exist
// only in the container's namespace, so they are made again where the copy can reach them.
#pragma once

#include <functional>

#include "orchestrator/containers/container_store.h"

namespace berth::containers {

/// Runs `work` on a thread of its own in a private mount namespace where the container's root
/// filesystem is mounted (the running container's overlay, or a new one of the same layers
/// for a stopped container) and its bind and volume mounts are attached at their targets
/// (read-only ones read-only; the root itself read-only for --read-only). tmpfs mounts are
/// left out, as Docker leaves them out. `work` gets an O_PATH descriptor of the container's
/// root; every container path must be resolved from it with openat2 RESOLVE_IN_ROOT
/// (util/safe_open.h), so that no symlink leads out of it. Nothing is ever mounted in the
/// host's namespace, and everything goes with the thread, however `work` ends. Exceptions
/// from `work` (and berth::Error for what cannot be mounted) reach the caller.
void with_container_view(const ContainerStore& store, const ContainerRecord& record,
                         const std::function<void(int root)>& work);

}  // namespace berth::containers
