#include "image/tar_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <utility>

#include "image/archive_api.h"
#include "util/error.h"

namespace berth::image {
namespace {

constexpr std::size_t k_block_size = 64 * 1024;

// libarchive's ARCHIVE_ERRNO_FILE_FORMAT on Linux, which archive.h does not export: set with
// "Unrecognized archive format" when no registered format bids on the input.
constexpr int k_errno_file_format = EILSEQ;

/// The input's descriptor; standard input is borrowed, not closed.
class InputFd {
 public:
  InputFd(const std::string& path_or_dash, const std::string& where) {
    if (path_or_dash == "-") {
      m_fd = STDIN_FILENO;
      return;
    }
    m_fd = ::open(path_or_dash.c_str(), O_RDONLY | O_CLOEXEC);
    if (m_fd < 0) throw Error(where + ": " + std::strerror(errno));
    m_owned = true;
    // libarchive would only say "Error reading fd <n>".
    struct stat st {};
    if (::fstat(m_fd, &st) == 0 && S_ISDIR(st.st_mode)) {
      ::close(m_fd);
      throw Error(where + ": " + std::strerror(EISDIR));
    }
  }
  ~InputFd() {
    if (m_owned) ::close(m_fd);
  }
  InputFd(const InputFd&) = delete;
  InputFd& operator=(const InputFd&) = delete;
  int get() const { return m_fd; }

 private:
  int m_fd = -1;
  bool m_owned = false;
};

}  // namespace

std::optional<std::string> normalize_entry_name(std::string_view name) {
  if (name.starts_with('/')) return std::nullopt;
  std::string normalized;
  while (!name.empty()) {
    const auto slash = name.find('/');
    const std::string_view part = name.substr(0, slash);
    name = slash == std::string_view::npos ? std::string_view{} : name.substr(slash + 1);
    if (part.empty() || part == ".") continue;
    if (part == "..") return std::nullopt;
    if (!normalized.empty()) normalized += '/';
    normalized += part;
  }
  return normalized;
}

// --- TarStream ------------------------------------------------------------------------------

struct TarStream::State {
  State(const std::string& path_or_dash, std::string where_, BytesSink on_bytes_)
      : where(std::move(where_)), on_bytes(std::move(on_bytes_)), input(path_or_dash, where) {}

  std::string where;
  BytesSink on_bytes;
  InputFd input;  // declared before the readers: they use it until they are freed
  ReadArchive outer;
  ReadArchive inner;
  bool outer_done = false;
  std::string outer_error;        // why decompression failed, when it did
  std::exception_ptr sink_error;  // what on_bytes threw, kept until C code is left

  /// The next block of uncompressed bytes (empty at the end), also passed to on_bytes.
  /// Returns false on failure, with outer_error or sink_error set.
  bool pull(const void*& data, std::size_t& size) {
    size = 0;
    while (!outer_done && size == 0) {
      la_int64_t offset = 0;
      const int result = archive_api().archive_read_data_block(outer.get(), &data, &size, &offset);
      if (result == ARCHIVE_EOF) {
        outer_done = true;
        size = 0;
      } else if (result < ARCHIVE_WARN) {
        outer_error = archive_error(outer.get());
        return false;
      }
    }
    if (size > 0 && on_bytes) {
      try {
        on_bytes(data, size);
      } catch (...) {
        sink_error = std::current_exception();
        return false;
      }
    }
    return true;
  }

  static la_ssize_t read_callback(archive*, void* client, const void** buffer) {
    auto& state = *static_cast<State*>(client);
    std::size_t size = 0;
    if (!state.pull(*buffer, size)) return ARCHIVE_FATAL;
    return static_cast<la_ssize_t>(size);
  }
};

TarStream::TarStream(const std::string& path_or_dash, std::string where, BytesSink on_bytes)
    : m_state(std::make_unique<State>(path_or_dash, std::move(where), std::move(on_bytes))) {
  const ArchiveApi& api = archive_api();
  State& state = *m_state;
  state.outer = new_read_archive();
  // What Docker decompresses. Not every filter libarchive has: some run external programs
  // (lrzip, lzop, grzip) when a blob merely starts with their magic.
  api.archive_read_support_filter_gzip(state.outer.get());
  api.archive_read_support_filter_zstd(state.outer.get());
  api.archive_read_support_filter_xz(state.outer.get());
  api.archive_read_support_filter_bzip2(state.outer.get());
  api.archive_read_support_format_raw(state.outer.get());
  // The raw format wants at least one byte; an empty input is an empty tar, as for tar(1).
  api.archive_read_support_format_empty(state.outer.get());
  if (api.archive_read_open_fd(state.outer.get(), state.input.get(), k_block_size) != ARCHIVE_OK) {
    throw Error(state.where + ": " + archive_error(state.outer.get()));
  }
  // The raw format presents the whole decompressed stream as one entry.
  archive_entry* raw = nullptr;
  const int result = api.archive_read_next_header(state.outer.get(), &raw);
  if (result == ARCHIVE_EOF) {
    state.outer_done = true;
  } else if (result < ARCHIVE_WARN) {
    throw Error(state.where + ": " + archive_error(state.outer.get()));
  }

  state.inner = new_read_archive();
  api.archive_read_support_format_tar(state.inner.get());
  api.archive_read_support_format_empty(state.inner.get());
  // Opening reads the first block to pick the format, so a non-tar fails here.
  if (api.archive_read_open(state.inner.get(), &state, nullptr, &State::read_callback, nullptr) !=
      ARCHIVE_OK) {
    if (!state.sink_error && state.outer_error.empty() &&
        api.archive_errno(state.inner.get()) == k_errno_file_format) {
      throw Error(state.where + ": not a tar archive");
    }
    fail();
  }
}

TarStream::~TarStream() = default;

const std::string& TarStream::where() const {
  return m_state->where;
}

void TarStream::fail() const {
  const State& state = *m_state;
  if (state.sink_error) std::rethrow_exception(state.sink_error);
  if (!state.outer_error.empty()) throw Error(state.where + ": " + state.outer_error);
  // The tar reader leaves no message when the data ends inside a header.
  if (archive_api().archive_error_string(state.inner.get()) == nullptr && state.outer_done) {
    throw Error(state.where + ": Truncated tar archive");
  }
  throw Error(state.where + ": " + archive_error(state.inner.get()));
}

archive_entry* TarStream::next() {
  State& state = *m_state;
  archive_entry* entry = nullptr;
  const int result = archive_api().archive_read_next_header(state.inner.get(), &entry);
  if (result == ARCHIVE_EOF) return nullptr;
  // Warnings are about names that do not convert to the locale's charset: the bytes are kept.
  if (result >= ARCHIVE_WARN) return entry;
  fail();
}

std::size_t TarStream::read(void* buffer, std::size_t size) {
  const la_ssize_t got = archive_api().archive_read_data(m_state->inner.get(), buffer, size);
  if (got < 0) fail();
  return static_cast<std::size_t>(got);
}

bool TarStream::read_block(const void*& data, std::size_t& size, std::int64_t& offset) {
  la_int64_t block_offset = 0;
  const int result =
      archive_api().archive_read_data_block(m_state->inner.get(), &data, &size, &block_offset);
  if (result == ARCHIVE_EOF) return false;
  if (result < ARCHIVE_WARN) fail();
  offset = block_offset;
  return true;
}

void TarStream::finish() {
  State& state = *m_state;
  const void* data = nullptr;
  std::size_t size = 0;
  while (!state.outer_done) {
    if (!state.pull(data, size)) fail();
  }
}

// --- for_each_tar_entry ---------------------------------------------------------------------

TarEntry::TarEntry(TarStream& stream, archive_entry* entry) : m_stream(stream) {
  const ArchiveApi& api = archive_api();
  const char* raw_name = api.archive_entry_pathname(entry);
  const std::string original = raw_name != nullptr ? raw_name : "";
  auto escapes = [&](const std::string& name) {
    return Error(stream.where() + ": entry \"" + name + "\" escapes the archive root");
  };
  auto name = normalize_entry_name(original);
  if (!name) throw escapes(original);
  m_name = std::move(*name);
  if (const char* hardlink = api.archive_entry_hardlink(entry); hardlink != nullptr) {
    auto target = normalize_entry_name(hardlink);
    if (!target) throw escapes(original);
    m_type = Type::hardlink;
    m_link_target = std::move(*target);
    return;
  }
  switch (api.archive_entry_filetype(entry)) {
    case AE_IFREG:
      m_type = Type::file;
      m_size = api.archive_entry_size(entry);
      break;
    case AE_IFDIR: m_type = Type::directory; break;
    case AE_IFLNK: {
      m_type = Type::symlink;
      const char* target = api.archive_entry_symlink(entry);
      m_link_target = target != nullptr ? target : "";
      break;
    }
    default: m_type = Type::other; break;
  }
}

std::string TarEntry::read_all() {
  std::string data;
  char buffer[k_block_size];
  for (std::size_t n; (n = read(buffer, sizeof buffer)) > 0;) data.append(buffer, n);
  return data;
}

void for_each_tar_entry(const std::string& path_or_dash,
                        const std::function<void(TarEntry&)>& callback) {
  TarStream stream(path_or_dash, path_or_dash == "-" ? "standard input" : path_or_dash);
  while (archive_entry* header = stream.next()) {
    TarEntry entry(stream, header);
    if (entry.name().empty()) continue;
    callback(entry);
  }
}

}  // namespace berth::image
