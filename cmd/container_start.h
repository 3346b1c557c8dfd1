// Starting a container from the command line: detached, or attached to our standard streams
// until it ends (`container run`, `container start -a`, compose `run`).
#pragma once

#include "orchestrator/containers/container_store.h"

namespace berth::cmd {

/// Starts `record` and, unless detached, relays its streams until it ends; returns its exit
/// code (0 when detached, or when the user detached with Ctrl-P Ctrl-Q). With `interactive`,
/// our standard input goes to the container.
int start_and_attach(const containers::ContainerStore& store,
                     const containers::ContainerRecord& record, bool attach, bool interactive);

}  // namespace berth::cmd
