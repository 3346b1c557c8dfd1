#include "image/gzip.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <vector>

#include "image/archive_api.h"
#include "image/tar_reader.h"
#include "util/error.h"
#include "util/sha256.h"

namespace berth::image {
namespace {

/// A gzip compressor (libarchive's raw format under its gzip filter) writing to a sink.
class GzipWriter {
 public:
  using Sink = std::function<void(const void*, std::size_t)>;

  explicit GzipWriter(const Sink& sink) : m_sink(sink), m_writer(new_write_archive()) {
    try {
      open();
    } catch (...) {
      m_abandoned = true;
      throw;
    }
  }

  // Freeing an open writer finishes the gzip stream: on failure its output is dropped
  // instead. (Not archive_write_fail: libarchive 3.6 then leaks the filters' buffers.)
  ~GzipWriter() { m_abandoned = !m_closed; }
  GzipWriter(const GzipWriter&) = delete;
  GzipWriter& operator=(const GzipWriter&) = delete;

  void write(const void* data, std::size_t size) {
    const char* input = static_cast<const char*>(data);
    while (size > 0) {
      const std::size_t chunk = std::min(size, m_buffer.size());
      std::memcpy(m_buffer.data(), input, chunk);
      input += chunk;
      size -= chunk;
      for (std::size_t done = 0; done < chunk;) {
        const la_ssize_t written =
            archive_api().archive_write_data(m_writer.get(), m_buffer.data() + done, chunk - done);
        if (written <= 0) fail();
        done += static_cast<std::size_t>(written);
      }
    }
  }

  /// Flushes the end of the gzip stream to the sink.
  void close() {
    if (archive_api().archive_write_close(m_writer.get()) != ARCHIVE_OK) fail();
    m_closed = true;
  }

 private:
  void open() {
    const ArchiveApi& api = archive_api();
    api.archive_write_add_filter_gzip(m_writer.get());
    // No timestamp in the gzip header: the same tar gives the same layer digest.
    api.archive_write_set_filter_option(m_writer.get(), "gzip", "timestamp", nullptr);
    api.archive_write_set_format_raw(m_writer.get());
    // No padding to a 10 KiB record: it would follow the gzip stream as garbage.
    api.archive_write_set_bytes_in_last_block(m_writer.get(), 1);
    if (api.archive_write_open(m_writer.get(), this, nullptr, &GzipWriter::write_callback,
                               nullptr) != ARCHIVE_OK) {
      fail();
    }
    // The raw format writes exactly one regular file's data, unframed.
    const ArchiveEntry entry = new_archive_entry();
    api.archive_entry_set_pathname(entry.get(), "layer.tar");
    api.archive_entry_set_filetype(entry.get(), AE_IFREG);
    if (api.archive_write_header(m_writer.get(), entry.get()) != ARCHIVE_OK) fail();
  }

  static la_ssize_t write_callback(archive*, void* client, const void* buffer, size_t length) {
    auto& self = *static_cast<GzipWriter*>(client);
    if (self.m_abandoned) return static_cast<la_ssize_t>(length);
    try {
      self.m_sink(buffer, length);
    } catch (...) {
      self.m_sink_error = std::current_exception();
      return -1;
    }
    return static_cast<la_ssize_t>(length);
  }

  [[noreturn]] void fail() const {
    if (m_sink_error) std::rethrow_exception(m_sink_error);
    throw Error("gzip: " + archive_error(m_writer.get()));
  }

  // Declared before m_writer, which uses them until it is freed.
  const Sink& m_sink;
  std::exception_ptr m_sink_error;  // kept until libarchive's C code is left
  bool m_abandoned = false;         // output is dropped from here on
  bool m_closed = false;
  // The only memory data is compressed from: after a failed write zlib still points into the
  // last input, and reads it again when the writer is freed.
  std::vector<char> m_buffer = std::vector<char>(64 * 1024);
  WriteArchive m_writer;
};

}  // namespace

Digest gzip_stream(const std::string& input_path_or_dash,
                   const std::function<void(const void* data, std::size_t size)>& sink) {
  Sha256Stream sha256;
  GzipWriter gzip(sink);
  TarStream tar(input_path_or_dash,
                input_path_or_dash == "-" ? "standard input" : input_path_or_dash,
                [&](const void* data, std::size_t size) {
                  sha256.update(data, size);
                  gzip.write(data, size);
                });
  // Walking the headers checks the input is a whole tar; their data passes through unread.
  while (tar.next() != nullptr) {
  }
  tar.finish();
  gzip.close();
  return Digest::from_sha256_hex(sha256.finish_hex());
}

}  // namespace berth::image
