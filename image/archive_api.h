// libarchive, opened with dlopen on first use (util/shared_library.h), and owning handles for
// its objects.
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <string>

namespace berth::image {

// Every libarchive function berth calls (the tests build layers through the same table).
#define BERTH_ARCHIVE_FUNCTIONS(X)           \
  X(archive_error_string)                    \
  X(archive_errno)                           \
  X(archive_read_new)                        \
  X(archive_read_free)                       \
  X(archive_read_support_filter_gzip)        \
  X(archive_read_support_filter_zstd)        \
  X(archive_read_support_filter_xz)          \
  X(archive_read_support_filter_bzip2)       \
  X(archive_read_support_format_raw)         \
  X(archive_read_support_format_tar)         \
  X(archive_read_support_format_empty)       \
  X(archive_read_open)                       \
  X(archive_read_open_fd)                    \
  X(archive_read_next_header)                \
  X(archive_read_data)                       \
  X(archive_read_data_block)                 \
  X(archive_write_new)                       \
  X(archive_write_free)                      \
  X(archive_write_set_format_pax_restricted) \
  X(archive_write_set_format_pax)            \
  X(archive_write_set_format_gnutar)         \
  X(archive_write_set_format_ustar)          \
  X(archive_write_set_format_raw)            \
  X(archive_write_set_format_option)         \
  X(archive_write_add_filter_gzip)           \
  X(archive_write_add_filter_zstd)           \
  X(archive_write_add_filter_xz)             \
  X(archive_write_add_filter_bzip2)          \
  X(archive_write_set_filter_option)         \
  X(archive_write_set_bytes_in_last_block)   \
  X(archive_write_open)                      \
  X(archive_write_header)                    \
  X(archive_write_data)                      \
  X(archive_write_close)                     \
  X(archive_entry_new)                       \
  X(archive_entry_free)                      \
  X(archive_entry_pathname)                  \
  X(archive_entry_hardlink)                  \
  X(archive_entry_symlink)                   \
  X(archive_entry_filetype)                  \
  X(archive_entry_perm)                      \
  X(archive_entry_size)                      \
  X(archive_entry_size_is_set)               \
  X(archive_entry_uid)                       \
  X(archive_entry_gid)                       \
  X(archive_entry_rdevmajor)                 \
  X(archive_entry_rdevminor)                 \
  X(archive_entry_mtime)                     \
  X(archive_entry_mtime_nsec)                \
  X(archive_entry_mtime_is_set)              \
  X(archive_entry_atime)                     \
  X(archive_entry_atime_nsec)                \
  X(archive_entry_atime_is_set)              \
  X(archive_entry_xattr_reset)               \
  X(archive_entry_xattr_next)                \
  X(archive_entry_xattr_add_entry)           \
  X(archive_entry_set_pathname)              \
  X(archive_entry_set_hardlink)              \
  X(archive_entry_set_symlink)               \
  X(archive_entry_set_filetype)              \
  X(archive_entry_set_perm)                  \
  X(archive_entry_set_size)                  \
  X(archive_entry_set_uid)                   \
  X(archive_entry_set_gid)                   \
  X(archive_entry_set_rdevmajor)             \
  X(archive_entry_set_rdevminor)             \
  X(archive_entry_set_mtime)

struct ArchiveApi {
#define BERTH_ARCHIVE_MEMBER(name) decltype(&::name) name = nullptr;
  BERTH_ARCHIVE_FUNCTIONS(BERTH_ARCHIVE_MEMBER)
#undef BERTH_ARCHIVE_MEMBER
};

/// libarchive's functions, loaded on the first call (thread-safe); throws berth::Error when
/// libarchive cannot be loaded.
const ArchiveApi& archive_api();

struct ReadArchiveFree {
  void operator()(archive* a) const { archive_api().archive_read_free(a); }
};
struct WriteArchiveFree {
  void operator()(archive* a) const { archive_api().archive_write_free(a); }
};
struct ArchiveEntryFree {
  void operator()(archive_entry* e) const { archive_api().archive_entry_free(e); }
};

/// A reader from archive_read_new, freed with archive_read_free.
using ReadArchive = std::unique_ptr<archive, ReadArchiveFree>;
/// A writer from archive_write_new, freed with archive_write_free (which closes it, writing
/// the end of the archive).
using WriteArchive = std::unique_ptr<archive, WriteArchiveFree>;
/// An entry from archive_entry_new.
using ArchiveEntry = std::unique_ptr<archive_entry, ArchiveEntryFree>;

/// A new reader; throws berth::Error when libarchive is out of memory.
ReadArchive new_read_archive();
/// A new writer; throws berth::Error when libarchive is out of memory.
WriteArchive new_write_archive();
/// A new entry; throws berth::Error when libarchive is out of memory.
ArchiveEntry new_archive_entry();

/// Where a libarchive writer's output goes: a callback that may throw. Its exception is kept
/// while libarchive's C code is on the stack (rethrown by the writer once out of it), and
/// once `abandoned` (a writer freed after a failure) nothing more reaches the callback.
struct ArchiveSink {
  std::function<void(const void* data, std::size_t size)> write;
  std::exception_ptr error;
  bool abandoned = false;

  /// archive_write_open's write callback; `client` is the ArchiveSink.
  static la_ssize_t callback(archive*, void* client, const void* buffer, size_t length);
};

/// libarchive's description of the last error on `a` ("unknown error" when it has none).
std::string archive_error(archive* a);

}  // namespace berth::image
