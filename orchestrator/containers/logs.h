// A container's log (JSON lines written by its monitor), printed as `docker logs` does.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <string>

#include "orchestrator/containers/container_store.h"

namespace berth::containers {

struct LogOptions {
  bool follow = false;               // keep printing until the container stops
  bool timestamps = false;           // prefix each line with its RFC 3339 time
  std::optional<std::int64_t> tail;  // only the last N lines
  std::string since;                 // RFC 3339; lines at or after it
  std::string until;                 // RFC 3339; lines before it
};

/// One line of a container's output.
struct LogLine {
  std::string stream;  // "stdout" or "stderr"
  std::string time;    // RFC 3339, UTC, nanoseconds
  std::string text;    // with its newline, when it had one
};

/// Calls `each` for every line of the log within the options' window, in order; with
/// `follow`, until the container has stopped (restarts included) or `stop` returns true
/// (asked at least every 200 ms).
void read_logs(const ContainerStore& store, const ContainerRecord& record,
               const LogOptions& options, const std::function<void(const LogLine&)>& each,
               const std::function<bool()>& stop = {});

/// Writes stdout lines to `out` and stderr lines to `err`, in order.
void print_logs(const ContainerStore& store, const ContainerRecord& record,
                const LogOptions& options, std::ostream& out, std::ostream& err);

}  // namespace berth::containers
