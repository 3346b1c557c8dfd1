// Reading times back: the RFC 3339 times berth writes (util/clock.h) and the bounds a user
// gives `--since` / `--until` in the forms Docker's API takes.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace berth {

/// An RFC 3339 time ("2026-11-24T15:30:00.123456789Z", "2026-11-24T16:30:00+01:00") or one
/// of the shorter forms Docker takes ("2026-11-24T15:30:00", "2026-11-24T15:30",
/// "2026-11-24"), in local time when it names no zone; nullopt for anything else.
std::optional<std::chrono::system_clock::time_point> parse_time(std::string_view text);

/// A --since / --until bound as Docker's API takes one: a time parse_time reads, Unix seconds
/// ("1700000000", "1700000000.5"), or a duration back from now ("10m", "1h30m"). berth::Error
/// for anything else.
std::chrono::system_clock::time_point time_bound_point(const std::string& text);

}  // namespace berth
