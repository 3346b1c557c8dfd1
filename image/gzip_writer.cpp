#include "image/gzip_writer.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "util/error.h"

namespace berth::image {

GzipWriter::GzipWriter(Sink sink, int level)
    : m_sink{std::move(sink), nullptr, false}, m_writer(new_write_archive()) {
  try {
    open(level);
  } catch (...) {
    m_sink.abandoned = true;
    throw;
  }
}

// Freeing an open writer finishes the gzip stream: on failure its output is dropped
// instead. (Not archive_write_fail: libarchive 3.6 then leaks the filters' buffers.)
GzipWriter::~GzipWriter() {
  m_sink.abandoned = !m_closed;
}

void GzipWriter::write(const void* data, std::size_t size) {
  const char* input = static_cast<const char*>(data);
  while (size > 0) {
    const std::size_t chunk = std::min(size, m_buffer.size());
    std::memcpy(m_buffer.data(), input, chunk);
    input += chunk;
    size -= chunk;
    for (std::size_t done = 0; done < chunk;) {
      const la_ssize_t written =
          archive_api().archive_write_data(m_writer.get(), m_buffer.data() + done, chunk - done);
      if (written <= 0) {
        fail();
      }
      done += static_cast<std::size_t>(written);
    }
  }
}

void GzipWriter::close() {
  if (archive_api().archive_write_close(m_writer.get()) != ARCHIVE_OK) {
    fail();
  }
  m_closed = true;
}

void GzipWriter::open(int level) {
  const ArchiveApi& api = archive_api();
  api.archive_write_add_filter_gzip(m_writer.get());
  // No timestamp in the gzip header: the same tar gives the same layer digest.
  api.archive_write_set_filter_option(m_writer.get(), "gzip", "timestamp", nullptr);
  const std::string level_text = std::to_string(level);
  if (api.archive_write_set_filter_option(m_writer.get(), "gzip", "compression-level",
                                          level_text.c_str()) != ARCHIVE_OK) {
    fail();
  }
  api.archive_write_set_format_raw(m_writer.get());
  // No padding to a 10 KiB record: it would follow the gzip stream as garbage.
  api.archive_write_set_bytes_in_last_block(m_writer.get(), 1);
  if (api.archive_write_open(m_writer.get(), &m_sink, nullptr, &ArchiveSink::callback, nullptr) !=
      ARCHIVE_OK) {
    fail();
  }
  // The raw format writes exactly one regular file's data, unframed.
  const ArchiveEntry entry = new_archive_entry();
  api.archive_entry_set_pathname(entry.get(), "layer.tar");
  api.archive_entry_set_filetype(entry.get(), AE_IFREG);
  if (api.archive_write_header(m_writer.get(), entry.get()) != ARCHIVE_OK) {
    fail();
  }
}

void GzipWriter::fail() const {
  if (m_sink.error) {
    std::rethrow_exception(m_sink.error);
  }
  throw Error("gzip: " + archive_error(m_writer.get()));
}

}  // namespace berth::image
