#include "image/digest.h"

#include "util/error.h"
#include "util/sha256.h"

namespace berth::image {

bool is_digest(std::string_view text) {
  constexpr std::string_view prefix = "sha256:";
  if (text.size() != prefix.size() + 64 || !text.starts_with(prefix)) return false;
  for (char c : text.substr(prefix.size()))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

Digest Digest::parse(std::string_view text) {
  if (!is_digest(text)) throw Error("invalid digest \"" + std::string(text) + "\"");
  return from_sha256_hex(std::string(text.substr(7)));
}

Digest Digest::from_sha256_hex(std::string hex) {
  Digest digest;
  digest.m_hex = std::move(hex);
  return digest;
}

Digest Digest::of(std::string_view data) {
  return from_sha256_hex(sha256_hex(data));
}

}  // namespace berth::image
