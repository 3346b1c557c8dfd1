// How a container is shown in listings: Docker's STATUS and COMMAND columns and the host side
// of a published port. Shared by `container ls|port` and the compose commands (ps, port).
#pragma once

#include <cstddef>
#include <string>

#include "network/ports.h"
#include "orchestrator/containers/container_store.h"

namespace berth::cmd {

/// "Up 5 seconds", "Exited (0) 2 minutes ago", "Created" (Docker's STATUS column).
std::string status_text(const containers::ContainerStore::LiveState& live);

/// What the container runs, entrypoint then command (the image's when the record sets none),
/// joined by spaces.
std::string command_line(const containers::ContainerRecord& record);

/// `text` cut to `width` characters, the last one an ellipsis, when it is longer (Docker's
/// truncation of table cells).
std::string ellipsis(std::string text, std::size_t width);

/// command_line() quoted as Docker's COMMAND column shows it; with `truncate`, cut to 20
/// characters with an ellipsis.
std::string command_text(const containers::ContainerRecord& record, bool truncate = true);

/// "127.0.0.1:8080", or "0.0.0.0:8080" for a port published on every address.
std::string host_address(const network::PortSpec& port);

}  // namespace berth::cmd
