#include "image/archive_api.h"

#include "util/error.h"
#include "util/shared_library.h"

namespace berth::image {
namespace {

ArchiveApi load() {
  // Never unloaded: function pointers into it live in a static table until exit.
  static const SharedLibrary library({"libarchive.so.13"}, "libarchive13");
  ArchiveApi api;
#define BERTH_ARCHIVE_RESOLVE(name) api.name = library.function<decltype(&::name)>(#name);
  BERTH_ARCHIVE_FUNCTIONS(BERTH_ARCHIVE_RESOLVE)
#undef BERTH_ARCHIVE_RESOLVE
  return api;
}

}  // namespace

const ArchiveApi& archive_api() {
  static const ArchiveApi api = load();
  return api;
}

ReadArchive new_read_archive() {
  ReadArchive a(archive_api().archive_read_new());
  if (!a) throw Error("libarchive: out of memory");
  return a;
}

WriteArchive new_write_archive() {
  WriteArchive a(archive_api().archive_write_new());
  if (!a) throw Error("libarchive: out of memory");
  return a;
}

ArchiveEntry new_archive_entry() {
  ArchiveEntry entry(archive_api().archive_entry_new());
  if (!entry) throw Error("libarchive: out of memory");
  return entry;
}

std::string archive_error(archive* a) {
  const char* text = archive_api().archive_error_string(a);
  return text != nullptr ? text : "unknown error";
}

la_ssize_t ArchiveSink::callback(archive*, void* client, const void* buffer, size_t length) {
  auto& self = *static_cast<ArchiveSink*>(client);
  if (self.abandoned) return static_cast<la_ssize_t>(length);
  try {
    self.write(buffer, length);
  } catch (...) {
    self.error = std::current_exception();
    return -1;
  }
  return static_cast<la_ssize_t>(length);
}

}  // namespace berth::image
