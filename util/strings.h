// Small string helpers with no better home in a library.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace berth {

/// The parts of `text` between `separator`s, empty ones included ("a::b" -> a, "", b).
std::vector<std::string_view> split(std::string_view text, char separator);

/// ASCII lowercase.
std::string lower(std::string_view text);

}  // namespace berth
