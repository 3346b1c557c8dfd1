// A gzip compressor writing to a sink: libarchive's gzip filter over its raw format.
#pragma once

#include <cstddef>
#include <exception>
#include <functional>
#include <vector>

#include "image/archive_api.h"

namespace berth::image {

class GzipWriter {
 public:
  using Sink = std::function<void(const void* data, std::size_t size)>;

  /// zlib's default level: the best size for what is stored once and pulled many times.
  static constexpr int k_default_level = 6;
  /// The fastest level: for layers a build commits at every step.
  static constexpr int k_fast_level = 1;

  /// Compresses into `sink`, which must outlive the writer. The gzip header has no
  /// timestamp, so the same input gives the same bytes. berth::Error `gzip: <reason>`;
  /// exceptions from `sink` propagate out of write() and close().
  explicit GzipWriter(Sink sink, int level = k_default_level);
  /// Without close() (an exception on the way), the stream is abandoned: nothing more
  /// reaches the sink.
  ~GzipWriter();
  GzipWriter(const GzipWriter&) = delete;
  GzipWriter& operator=(const GzipWriter&) = delete;

  /// Compresses `size` bytes of `data`.
  void write(const void* data, std::size_t size);
  /// Flushes the end of the gzip stream to the sink.
  void close();

 private:
  void open(int level);
  [[noreturn]] void fail() const;

  // Declared before m_writer, which uses them until it is freed.
  ArchiveSink m_sink;
  bool m_closed = false;
  // The only memory data is compressed from: after a failed write zlib still points into the
  // last input, and reads it again when the writer is freed.
  std::vector<char> m_buffer = std::vector<char>(64 * 1024);
  WriteArchive m_writer;
};

}  // namespace berth::image
