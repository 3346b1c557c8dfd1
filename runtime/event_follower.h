// Reading the events journal (runtime/event_journal.h) as `berth events` does: the history
// kept in both generations from a given time, then each event as it is appended, across
// rotations, until told to stop.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "runtime/event_journal.h"

namespace berth::runtime {

struct FollowOptions {
  /// Replays the kept events from this time on (the rotated generation's included) before
  /// following; nullopt: only the events appended after the call.
  std::optional<std::chrono::system_clock::time_point> since;
  /// Ends at the first event after this time, or when the clock passes it.
  std::optional<std::chrono::system_clock::time_point> until;
  /// Ends as soon as this descriptor is readable (a signalfd, a pipe); -1: no such end.
  int stop_fd = -1;
};

/// Calls `sink` with each event of the journal at `path`, in the order they were appended,
/// until an end of `options`. Lines that are not events (torn by a failed write) are skipped.
/// The journal's directory must exist; berth::Error when it cannot be watched.
void follow_journal(const std::string& path, const FollowOptions& options,
                    const std::function<void(const JournalEvent&)>& sink);

}  // namespace berth::runtime
