// Processes named by pid and start time: a pid alone may be reused by a later process.
#pragma once

#include <cstdint>
#include <optional>

namespace berth {

/// The start time of process `pid` in clock ticks since boot (/proc/<pid>/stat field 22);
/// nullopt when there is no such process.
std::optional<std::uint64_t> process_start_time(int pid);
/// True when process `pid` exists, started at `start_time` and has not finished (a zombie
/// has): the same process, not a later one that reused the pid.
bool same_process_alive(int pid, std::uint64_t start_time);

}  // namespace berth
