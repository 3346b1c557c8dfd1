// Content digests ("sha256:<64 hex>"), the identity of every blob in the store and registry.
#pragma once

#include <compare>
#include <string>
#include <string_view>

namespace berth::image {

class Digest {
 public:
  Digest() = default;
  /// Parses "sha256:<64 lowercase hex>"; throws berth::Error `invalid digest "<text>"`.
  /// Only sha256 is accepted: it is what every registry and the OCI spec require.
  static Digest parse(std::string_view text);
  /// The digest of `hex` computed by berth (64 lowercase hex digits, unchecked).
  static Digest from_sha256_hex(std::string hex);
  /// sha256 of `data`.
  static Digest of(std::string_view data);

  const std::string& hex() const { return m_hex; }
  std::string str() const { return "sha256:" + m_hex; }
  bool empty() const { return m_hex.empty(); }
  /// The first 12 hex digits, as `docker image ls` shows an id.
  std::string short_hex() const { return m_hex.substr(0, 12); }

  auto operator<=>(const Digest&) const = default;

 private:
  std::string m_hex;
};

/// True when `text` is a well-formed sha256 digest.
bool is_digest(std::string_view text);

}  // namespace berth::image
