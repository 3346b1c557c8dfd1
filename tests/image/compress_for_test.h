// Test support for the image tests: byte strings compressed by libarchive, the way registries
// and other engines compress layers.
#pragma once

#include <string>

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>

#include "image/archive_api.h"

namespace berth::image {

/// libarchive's write callback: appends to the std::string passed as client data.
inline la_ssize_t append_to_string(archive*, void* client, const void* buffer, size_t length) {
  static_cast<std::string*>(client)->append(static_cast<const char*>(buffer), length);
  return static_cast<la_ssize_t>(length);
}

enum class Filter { gzip, zstd, xz, bzip2 };

/// `bytes` compressed with `filter`.
inline std::string compress(const std::string& bytes, Filter filter) {
  const ArchiveApi& api = archive_api();
  std::string compressed;
  const WriteArchive writer = new_write_archive();
  switch (filter) {
    case Filter::gzip: api.archive_write_add_filter_gzip(writer.get()); break;
    case Filter::zstd: api.archive_write_add_filter_zstd(writer.get()); break;
    case Filter::xz: api.archive_write_add_filter_xz(writer.get()); break;
    case Filter::bzip2: api.archive_write_add_filter_bzip2(writer.get()); break;
  }
  api.archive_write_set_format_raw(writer.get());
  api.archive_write_set_bytes_in_last_block(writer.get(), 1);
  EXPECT_EQ(api.archive_write_open(writer.get(), &compressed, nullptr, append_to_string, nullptr),
            ARCHIVE_OK);
  const ArchiveEntry entry = new_archive_entry();
  api.archive_entry_set_pathname(entry.get(), "data");
  api.archive_entry_set_filetype(entry.get(), AE_IFREG);
  EXPECT_EQ(api.archive_write_header(writer.get(), entry.get()), ARCHIVE_OK);
  EXPECT_EQ(api.archive_write_data(writer.get(), bytes.data(), bytes.size()),
            static_cast<la_ssize_t>(bytes.size()));
  EXPECT_EQ(api.archive_write_close(writer.get()), ARCHIVE_OK);
  return compressed;
}

}  // namespace berth::image
