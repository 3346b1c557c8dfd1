// Timestamps as berth writes them in records and state files.
#pragma once

#include <chrono>
#include <string>

namespace berth {

/// The current time as RFC 3339 with nanoseconds, UTC ("2026-11-23T21:07:15.123456789Z").
std::string now_rfc3339();

/// `time` as RFC 3339 with nanoseconds, UTC.
std::string rfc3339(std::chrono::system_clock::time_point time);

/// A log window's bound as Docker takes one: an RFC 3339 time as it is, or a duration back
/// from now ("42m", "1h30m", "10s", "1.5h") as the RFC 3339 time it names. berth::Error for
/// anything else.
std::string time_bound(const std::string& text);

}  // namespace berth
