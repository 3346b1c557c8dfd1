// Durations and byte sizes as compose files write them.
//
// Durations follow compose-go (str2duration): Go's time.ParseDuration syntax plus the units
// `d` (24h) and `w` (168h); a bare number other than "0" is an error (missing unit). They are
// printed back the way Go's time.Duration.String() does, which is what `docker compose config`
// shows. Byte sizes follow docker/go-units RAMInBytes (1024-based, case-insensitive units).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace berth::compose {

/// Parses a Go-style duration ("1h2m3.5s", "300ms", "-1.5h", "2d", "0") into nanoseconds;
/// nullopt when invalid or out of range.
std::optional<std::int64_t> parse_duration(std::string_view text);

/// Formats like Go's time.Duration.String(): "1m30s", "1.5s", "300ms", "1.5µs", "0s", "1h0m0s".
std::string format_duration(std::int64_t nanoseconds);

/// Parses a byte size like docker's units.RAMInBytes ("512m", "1gb", "1024", "1.5g",
/// "2 KiB"; units b, k, m, g, t, p, 1024-based, case-insensitive); nullopt when invalid.
std::optional<std::int64_t> parse_bytes(std::string_view text);

}  // namespace berth::compose
