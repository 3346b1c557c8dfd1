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

/// The characters of UTF-8 `text` (bytes that do not continue a sequence), which is how wide
/// a table cell is, as Go's tabwriter counts it ("…" is one, not three).
std::size_t utf8_length(std::string_view text);

}  // namespace berth
