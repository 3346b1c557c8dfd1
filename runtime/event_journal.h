// The events journal: berth has no daemon to stream Docker's events from, so whichever berth
// process causes an event (the command for create, stop, kill, destroy...; the container's
// monitor for start, die, health_status...) appends it to `<runroot>/events.jsonl`, one JSON
// object a line, as podman's file events backend does. `berth events` reads and follows it.
//
// Writing: one write() of the whole line on an O_APPEND descriptor, under an flock of the
// file, so that lines never interleave and a rotation (past k_journal_limit bytes the file
// becomes `events.jsonl.1`, the older generation lost) happens between two lines: a writer
// that opened the file before the rename finds it renamed once it holds the lock and
// reopens. Nothing is synced: an event costs a few syscalls, and a failure to write one never
// fails what caused it.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace berth::runtime {

/// Where a file's lines go once it is rotated.
inline constexpr std::string_view k_journal_previous_suffix = ".1";
/// Past this size the journal is rotated.
inline constexpr std::size_t k_journal_limit = 1 << 20;

/// One event, as Docker's API has it (type, action, actor id and attributes).
struct JournalEvent {
  std::string time;  // RFC 3339 with nanoseconds, UTC; empty: now, when appended
  std::string type = "container";
  std::string action;  // Docker's: "create", "die", "kill", "health_status: healthy", ...
  std::string id;      // the container's
  // Docker's actor attributes: the container's labels, name and image, then the action's
  // own (exitCode, signal, ...).
  std::map<std::string, std::string> attributes;
};

/// The journal's line for `event`, newline included.
std::string journal_line(const JournalEvent& event);

/// The event on `line` (without its newline); nullopt for a line that is not one.
std::optional<JournalEvent> parse_journal_line(std::string_view line);

/// Appends `event` to the journal at `path` (created when missing), rotating it past `limit`
/// bytes. Never throws: returns why nothing was written, nullopt once it was.
std::optional<std::string> append_event(const std::string& path, JournalEvent event,
                                        std::size_t limit = k_journal_limit) noexcept;

}  // namespace berth::runtime
