#include "util/sha256.h"

#include <nettle/sha2.h>

#include <array>

namespace berth {

struct Sha256Stream::Context {
  sha256_ctx nettle;
};

Sha256Stream::Sha256Stream() : m_context(std::make_unique<Context>()) {
  sha256_init(&m_context->nettle);
}
Sha256Stream::~Sha256Stream() = default;
Sha256Stream::Sha256Stream(Sha256Stream&&) noexcept = default;
Sha256Stream& Sha256Stream::operator=(Sha256Stream&&) noexcept = default;

void Sha256Stream::update(const void* data, std::size_t size) {
  sha256_update(&m_context->nettle, size, static_cast<const std::uint8_t*>(data));
  m_size += size;
}

std::string Sha256Stream::finish_hex() {
  std::array<std::uint8_t, SHA256_DIGEST_SIZE> digest{};
  sha256_digest(&m_context->nettle, digest.size(), digest.data());  // also re-initialises
  m_size = 0;
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(digest.size() * 2);
  for (const std::uint8_t byte : digest) {
    out.push_back(k_hex[byte >> 4]);
    out.push_back(k_hex[byte & 0xf]);
  }
  return out;
}

std::string sha256_hex(std::string_view data) {
  Sha256Stream stream;
  stream.update(data);
  return stream.finish_hex();
}

}  // namespace berth
