// Logging set-up: spdlog to stderr, one line per message, prefixed "berth: <level>: ".
#pragma once

#include <string_view>

namespace berth::log {

/// Configures the default logger; `level` is trace|debug|info|warning|error|off.
/// Throws berth::Error for an unknown level.
void setup(std::string_view level);

}  // namespace berth::log
