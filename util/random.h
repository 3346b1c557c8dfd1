// Random identifiers: container, network and test names.
#pragma once

#include <cstddef>
#include <string>

namespace berth {

/// `digits` random lowercase hex digits from the system's entropy source.
std::string random_hex(std::size_t digits);

}  // namespace berth
