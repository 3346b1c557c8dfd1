// Reading tar archives, plain or compressed (gzip, zstd, xz, bzip2: what Docker reads), from
// a file or standard input, in one pass.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

struct archive;
struct archive_entry;

namespace berth::image {

/// `name` as a path relative to the archive root: leading "./", "." components and doubled or
/// trailing slashes dropped ("" names the root itself); nullopt when `name` is absolute or has
/// a ".." component.
std::optional<std::string> normalize_entry_name(std::string_view name);

/// A tar archive read in one pass. An outer libarchive reader decompresses the input (format
/// raw); an inner one parses the tar from what the outer one produces. Every
/// uncompressed byte, including what follows the tar's end-of-archive blocks, is passed once
/// and in order to `on_bytes`: this is how a layer's diff id is computed while it is unpacked.
class TarStream {
 public:
  using BytesSink = std::function<void(const void* data, std::size_t size)>;

  /// Opens `path_or_dash` ("-" for standard input). Errors, here and later, are berth::Error
  /// `<where>: <reason>`; a file that cannot be opened gives `<where>: <strerror>`.
  TarStream(const std::string& path_or_dash, std::string where, BytesSink on_bytes = {});
  ~TarStream();
  TarStream(const TarStream&) = delete;
  TarStream& operator=(const TarStream&) = delete;

  /// The next entry, or nullptr after the last. Throws `<where>: not a tar archive` when the
  /// uncompressed stream does not start with a tar header, `<where>: <reason>` when it is
  /// corrupt or truncated (the decompressor's reason first: "truncated gzip input").
  archive_entry* next();

  /// Reads up to `size` bytes of the current entry's data; 0 at its end.
  std::size_t read(void* buffer, std::size_t size);

  /// The next block of the current entry's data (zero-copy; sparse files have gaps between
  /// offsets); false at its end.
  bool read_block(const void*& data, std::size_t& size, std::int64_t& offset);

  /// Passes whatever follows the tar's end to `on_bytes`; call once next() returned nullptr.
  void finish();

  /// Names the stream in error messages.
  const std::string& where() const;

 private:
  struct State;  // the inner reader's callback holds its address
  [[noreturn]] void fail() const;

  std::unique_ptr<State> m_state;
};

/// One entry of a tar read by for_each_tar_entry; valid during the callback only.
class TarEntry {
 public:
  enum class Type { file, directory, symlink, hardlink, other };

  /// Normalised (see normalize_entry_name).
  const std::string& name() const { return m_name; }
  Type type() const { return m_type; }
  /// Bytes of data (files only; 0 for the others).
  std::int64_t size() const { return m_size; }
  /// A symlink's target as written, or a hard link's target normalised.
  const std::string& link_target() const { return m_link_target; }

  /// Reads up to `size` bytes of the entry's data; 0 at its end.
  std::size_t read(char* buffer, std::size_t size) { return m_stream.read(buffer, size); }
  /// The rest of the entry's data.
  std::string read_all();

 private:
  friend void for_each_tar_entry(const std::string& path_or_dash,
                                 const std::function<void(TarEntry&)>& callback);
  TarEntry(TarStream& stream, archive_entry* entry);

  TarStream& m_stream;
  std::string m_name;
  Type m_type = Type::other;
  std::int64_t m_size = 0;
  std::string m_link_target;
};

/// Calls `callback` with each entry of the tar at `path_or_dash` ("-" for standard input), in
/// archive order; the root entry ("./") is skipped. Errors are berth::Error `<path>: <reason>`
/// (`standard input: <reason>` for "-"), `<path>: not a tar archive`, and for a name that is
/// absolute or has a ".." component `<path>: entry "<name>" escapes the archive root`.
/// Exceptions from `callback` propagate.
void for_each_tar_entry(const std::string& path_or_dash,
                        const std::function<void(TarEntry&)>& callback);

}  // namespace berth::image
