// SHA-256 digests, as lowercase hex.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace berth {

/// The SHA-256 of `data` as 64 lowercase hex digits.
std::string sha256_hex(std::string_view data);

/// A SHA-256 computed over data that arrives in pieces (a blob streamed from a registry, a
/// layer being unpacked).
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(Sha256Stream&&) noexcept;
  Sha256Stream& operator=(Sha256Stream&&) noexcept;

  void update(const void* data, std::size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  /// Total bytes seen so far.
  std::size_t size() const { return m_size; }
  /// The digest of everything seen, as 64 lowercase hex digits. The stream starts over.
  std::string finish_hex();

 private:
  struct Context;
  std::unique_ptr<Context> m_context;
  std::size_t m_size = 0;
};

}  // namespace berth
