// Writing tar archives (pax format, optionally gzip-compressed), for `berth image save`.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace berth::image {

/// A tar archive written entry by entry. Entries are owned by root with mtime 0, so the same
/// content always gives the same bytes. Errors are berth::Error `<where>: <reason>`, or
/// `<where>: entry "<name>": <reason>` for one entry; <where> is the output path or
/// "standard output".
class TarWriter {
 public:
  enum class Compression { none, gzip };

  /// Writes to `path` (created or truncated), or to standard output for "-".
  explicit TarWriter(const std::string& path, Compression compression = Compression::none);
  /// Writes to `fd`, which stays open; `where` names it in errors.
  TarWriter(int fd, std::string where, Compression compression = Compression::none);
  /// Without close() (an exception on the way), the archive is abandoned unfinished, so a
  /// reader sees it is truncated; a partial file is left for the caller to remove.
  ~TarWriter();
  TarWriter(const TarWriter&) = delete;
  TarWriter& operator=(const TarWriter&) = delete;

  /// Adds a regular file holding `data`.
  void add_file(const std::string& name, std::string_view data, mode_t mode = 0644);
  /// Adds a regular file with the content of the file at `path`, streamed.
  void add_file_from_path(const std::string& name, const std::string& path, mode_t mode = 0644);
  /// Adds a directory.
  void add_directory(const std::string& name, mode_t mode = 0755);
  /// Adds a symbolic link to `target`.
  void add_symlink(const std::string& name, const std::string& target);
  /// Writes the end of the archive and flushes it (and closes the file opened from a path).
  void close();

 private:
  struct State;  // libarchive's write callback holds its address

  void write_header(const std::string& name, unsigned int type, mode_t mode, std::int64_t size,
                    const std::string& symlink_target = "");
  void write_data(const std::string& name, std::string_view data);
  /// Writes the first `size` bytes of the state's buffer as data of the entry `name`.
  void write_buffer(const std::string& name, std::size_t size);

  std::unique_ptr<State> m_state;
};

}  // namespace berth::image
