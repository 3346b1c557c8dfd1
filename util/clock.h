// Timestamps as berth writes them in records and state files.
#pragma once

#include <string>

namespace berth {

/// The current time as RFC 3339 with nanoseconds, UTC ("2026-11-23T21:07:15.123456789Z").
std::string now_rfc3339();

}  // namespace berth
