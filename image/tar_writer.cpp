#include "image/tar_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "image/archive_api.h"
#include "util/error.h"

namespace berth::image {
namespace {

constexpr std::size_t k_buffer_size = 64 * 1024;

/// A descriptor opened here, closed on every path.
class ReadFd {
 public:
  explicit ReadFd(int fd) : m_fd(fd) {}
  ~ReadFd() {
    if (m_fd >= 0) ::close(m_fd);
  }
  ReadFd(const ReadFd&) = delete;
  ReadFd& operator=(const ReadFd&) = delete;
  int get() const { return m_fd; }

 private:
  int m_fd;
};

}  // namespace

struct TarWriter::State {
  std::string where;
  int fd = -1;
  bool owns_fd = false;
  std::string write_error;  // why writing to fd failed; libarchive only knows it did
  // The only memory data is written from. After a failed write libarchive's gzip filter
  // still points into the last input, and reads it again when the writer is freed; this
  // buffer outlives the writer.
  std::vector<char> buffer = std::vector<char>(k_buffer_size);
  WriteArchive writer;
  bool closed = false;
  bool abandoned = false;  // output is dropped from here on

  ~State() {
    // Freeing an open writer finishes the archive. Its output is dropped instead, so a reader
    // sees an incomplete tar rather than a well-formed one that lacks entries. (Not
    // archive_write_fail: libarchive 3.6 then leaks the filters' buffers.)
    abandoned = !closed;
    writer.reset();
    if (owns_fd) ::close(fd);
  }

  static la_ssize_t write_callback(archive*, void* client, const void* buffer, size_t length) {
    auto& state = *static_cast<State*>(client);
    if (state.abandoned) return static_cast<la_ssize_t>(length);
    const char* data = static_cast<const char*>(buffer);
    std::size_t left = length;
    while (left > 0) {
      const ssize_t written = ::write(state.fd, data, left);
      if (written < 0) {
        if (errno == EINTR) continue;
        state.write_error = std::strerror(errno);
        return -1;
      }
      data += written;
      left -= static_cast<std::size_t>(written);
    }
    return static_cast<la_ssize_t>(length);
  }

  void start(Compression compression) {
    const ArchiveApi& api = archive_api();
    writer = new_write_archive();
    api.archive_write_set_format_pax_restricted(writer.get());
    if (compression == Compression::gzip) {
      api.archive_write_add_filter_gzip(writer.get());
      // No timestamp in the gzip header: the same entries give the same bytes.
      api.archive_write_set_filter_option(writer.get(), "gzip", "timestamp", nullptr);
    }
    // No padding to a 10 KiB record: it would follow the gzip stream as garbage.
    api.archive_write_set_bytes_in_last_block(writer.get(), 1);
    if (api.archive_write_open(writer.get(), this, nullptr, &State::write_callback, nullptr) !=
        ARCHIVE_OK) {
      fail("");
    }
  }

  /// Throws `<where>: <reason>`, or `<where>: entry "<entry>": <reason>`.
  [[noreturn]] void fail(const std::string& entry, std::string reason = "") const {
    if (reason.empty()) {
      reason = !write_error.empty() ? write_error : archive_error(writer.get());
    }
    if (entry.empty()) throw Error(where + ": " + reason);
    throw Error(where + ": entry \"" + entry + "\": " + reason);
  }
};

TarWriter::TarWriter(const std::string& path, Compression compression)
    : m_state(std::make_unique<State>()) {
  if (path == "-") {
    m_state->where = "standard output";
    m_state->fd = STDOUT_FILENO;
  } else {
    m_state->where = path;
    m_state->fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (m_state->fd < 0) throw Error(path + ": " + std::strerror(errno));
    m_state->owns_fd = true;
  }
  m_state->start(compression);
}

TarWriter::TarWriter(int fd, std::string where, Compression compression)
    : m_state(std::make_unique<State>()) {
  m_state->where = std::move(where);
  m_state->fd = fd;
  m_state->start(compression);
}

TarWriter::~TarWriter() = default;

void TarWriter::write_header(const std::string& name, unsigned int type, mode_t mode,
                             std::int64_t size, const std::string& symlink_target) {
  const ArchiveApi& api = archive_api();
  const ArchiveEntry entry = new_archive_entry();
  api.archive_entry_set_pathname(entry.get(), name.c_str());
  api.archive_entry_set_filetype(entry.get(), type);
  api.archive_entry_set_perm(entry.get(), mode);
  api.archive_entry_set_size(entry.get(), size);
  api.archive_entry_set_mtime(entry.get(), 0, 0);
  if (type == AE_IFLNK) api.archive_entry_set_symlink(entry.get(), symlink_target.c_str());
  if (api.archive_write_header(m_state->writer.get(), entry.get()) < ARCHIVE_WARN) {
    m_state->fail(name);
  }
}

void TarWriter::write_data(const std::string& name, std::string_view data) {
  std::vector<char>& buffer = m_state->buffer;
  while (!data.empty()) {
    const std::size_t chunk = std::min(data.size(), buffer.size());
    std::memcpy(buffer.data(), data.data(), chunk);
    write_buffer(name, chunk);
    data.remove_prefix(chunk);
  }
}

void TarWriter::write_buffer(const std::string& name, std::size_t size) {
  const char* bytes = m_state->buffer.data();
  while (size > 0) {
    const la_ssize_t written = archive_api().archive_write_data(m_state->writer.get(), bytes, size);
    if (written <= 0) m_state->fail(name);
    bytes += written;
    size -= static_cast<std::size_t>(written);
  }
}

void TarWriter::add_file(const std::string& name, std::string_view data, mode_t mode) {
  write_header(name, AE_IFREG, mode, static_cast<std::int64_t>(data.size()));
  write_data(name, data);
}

void TarWriter::add_file_from_path(const std::string& name, const std::string& path, mode_t mode) {
  const ReadFd file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (file.get() < 0) m_state->fail(name, path + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(file.get(), &st) != 0) m_state->fail(name, path + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) m_state->fail(name, path + ": not a regular file");

  write_header(name, AE_IFREG, mode, st.st_size);
  std::vector<char>& buffer = m_state->buffer;
  auto left = static_cast<std::size_t>(st.st_size);
  while (left > 0) {
    const ssize_t got = ::read(file.get(), buffer.data(), std::min(left, buffer.size()));
    if (got < 0) {
      if (errno == EINTR) continue;
      m_state->fail(name, path + ": " + std::strerror(errno));
    }
    if (got == 0) m_state->fail(name, path + ": file shrank while it was read");
    write_buffer(name, static_cast<std::size_t>(got));
    left -= static_cast<std::size_t>(got);
  }
}

void TarWriter::add_directory(const std::string& name, mode_t mode) {
  write_header(name, AE_IFDIR, mode, 0);
}

void TarWriter::add_symlink(const std::string& name, const std::string& target) {
  write_header(name, AE_IFLNK, 0777, 0, target);
}

void TarWriter::close() {
  State& state = *m_state;
  if (state.closed) return;
  if (archive_api().archive_write_close(state.writer.get()) != ARCHIVE_OK) state.fail("");
  state.closed = true;
  if (state.owns_fd) {
    state.owns_fd = false;
    // Delayed write errors (NFS, quota) surface here.
    if (::close(state.fd) != 0) state.fail("", std::strerror(errno));
  }
}

}  // namespace berth::image
