#include "util/random.h"

#include <random>

namespace berth {

std::string random_hex(std::size_t digits) {
  static constexpr char k_hex[] = "0123456789abcdef";
  std::random_device device;
  std::string out;
  out.reserve(digits);
  while (out.size() < digits) {
    auto bits = device();
    for (int i = 0; i < 8 && out.size() < digits; ++i, bits >>= 4) out.push_back(k_hex[bits & 0xf]);
  }
  return out;
}

}  // namespace berth
