#include "orchestrator/containers/copy_pack.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "image/archive_api.h"
#include "util/unique_fd.h"

namespace berth::containers {

namespace {

using image::archive_api;

constexpr std::size_t k_chunk = 64 * 1024;

class Packer {
 public:
  Packer(int out_fd, std::string label) : m_out(out_fd), m_label(std::move(label)) {
    const auto& api = archive_api();
    m_writer = image::new_write_archive();
    api.archive_write_set_format_pax_restricted(m_writer.get());
    // No padding to a 10 KiB record after the end: the reader stops at the end and may
    // already have closed the pipe.
    api.archive_write_set_bytes_in_last_block(m_writer.get(), 1);
    if (api.archive_write_open(m_writer.get(), this, nullptr, &Packer::write_callback, nullptr) !=
        ARCHIVE_OK) {
      fail("");
    }
  }
  ~Packer() {
    // Freeing an open writer would end the archive well-formed; a reader must see it cut
    // short instead, so the output of a failed pack is dropped.
    m_abandoned = !m_closed;
    m_writer.reset();
  }
  Packer(const Packer&) = delete;
  Packer& operator=(const Packer&) = delete;

  void pack(int source, const std::string& top_name) {
    struct stat st {};
    if (::fstatat(source, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) fail_errno("");
    const std::string name = top_name == "." ? "./" : top_name;
    if (S_ISDIR(st.st_mode)) {
      add_directory(Fd(::openat(source, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)), name, st,
                    top_name == "." ? "./" : top_name + "/");
    } else if (S_ISREG(st.st_mode)) {
      // An O_PATH descriptor cannot be read; its /proc link opens that very file again
      // (a regular file, as fstat said: nothing further to follow).
      Fd file(::open(fmt::format("/proc/self/fd/{}", source).c_str(), O_RDONLY | O_CLOEXEC));
      if (!file) fail_errno("");
      add_file(file.get(), name, st);
    } else if (S_ISLNK(st.st_mode)) {
      add_symlink(readlink_at(source, ""), name, st);
    } else {
      add_other(name, st);
    }
    if (archive_api().archive_write_close(m_writer.get()) != ARCHIVE_OK) fail("");
    m_closed = true;
  }

 private:
  [[noreturn]] void fail(const std::string& name) const {
    const std::string where = name.empty() ? m_label : fmt::format("{}: {}", m_label, name);
    if (m_pipe_closed) throw ReaderGone(where + ": the reader closed the archive");
    const std::string reason =
        m_write_error.empty() ? image::archive_error(m_writer.get()) : m_write_error;
    throw Error(fmt::format("{}: {}", where, reason));
  }
  [[noreturn]] void fail_errno(const std::string& name) const {
    throw Error(name.empty() ? fmt::format("{}: {}", m_label, std::strerror(errno))
                             : fmt::format("{}: {}: {}", m_label, name, std::strerror(errno)));
  }

  static la_ssize_t write_callback(archive*, void* client, const void* buffer, size_t length) {
    auto& self = *static_cast<Packer*>(client);
    if (self.m_abandoned) return static_cast<la_ssize_t>(length);
    const char* data = static_cast<const char*>(buffer);
    for (std::size_t left = length; left > 0;) {
      const ssize_t written = ::write(self.m_out, data, left);
      if (written < 0) {
        if (errno == EINTR) continue;
        self.m_pipe_closed = errno == EPIPE;
        self.m_write_error = std::strerror(errno);
        return -1;
      }
      data += written;
      left -= static_cast<std::size_t>(written);
    }
    return static_cast<la_ssize_t>(length);
  }

  static std::string readlink_at(int dir, const char* name) {
    std::vector<char> target(PATH_MAX + 1);
    const ssize_t length = ::readlinkat(dir, name, target.data(), target.size());
    if (length < 0) return "";
    return std::string(target.data(), static_cast<std::size_t>(length));
  }

  image::ArchiveEntry entry_for(const std::string& name, const struct stat& st, unsigned int type) {
    const auto& api = archive_api();
    image::ArchiveEntry entry = image::new_archive_entry();
    api.archive_entry_set_pathname(entry.get(), name.c_str());
    api.archive_entry_set_filetype(entry.get(), type);
    api.archive_entry_set_perm(entry.get(), st.st_mode & 07777);
    api.archive_entry_set_uid(entry.get(), st.st_uid);
    api.archive_entry_set_gid(entry.get(), st.st_gid);
    api.archive_entry_set_mtime(entry.get(), st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    return entry;
  }

  void write_header(archive_entry* entry, const std::string& name) {
    if (archive_api().archive_write_header(m_writer.get(), entry) < ARCHIVE_WARN) fail(name);
  }

  void add_file(int file, const std::string& name, const struct stat& st) {
    const auto& api = archive_api();
    image::ArchiveEntry entry = entry_for(name, st, AE_IFREG);
    // A second name of a file already in the archive is a hard link to the first.
    if (st.st_nlink > 1) {
      const auto [it, first] = m_links.emplace(std::make_pair(st.st_dev, st.st_ino), name);
      if (!first) {
        api.archive_entry_set_hardlink(entry.get(), it->second.c_str());
        api.archive_entry_set_size(entry.get(), 0);
        write_header(entry.get(), name);
        return;
      }
    }
    api.archive_entry_set_size(entry.get(), st.st_size);
    write_header(entry.get(), name);
    // Exactly the size the header promised, should the file change meanwhile.
    std::vector<char> buffer(k_chunk);
    for (off_t left = st.st_size; left > 0;) {
      const auto want = static_cast<std::size_t>(std::min<off_t>(left, k_chunk));
      ssize_t got = ::read(file, buffer.data(), want);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) fail_errno(name);
      if (got == 0) {  // shrunk: pad with zeros
        std::fill(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(want), '\0');
        got = static_cast<ssize_t>(want);
      }
      if (api.archive_write_data(m_writer.get(), buffer.data(), static_cast<std::size_t>(got)) <
          0) {
        fail(name);
      }
      left -= got;
    }
  }

  void add_symlink(const std::string& target, const std::string& name, const struct stat& st) {
    image::ArchiveEntry entry = entry_for(name, st, AE_IFLNK);
    archive_api().archive_entry_set_symlink(entry.get(), target.c_str());
    write_header(entry.get(), name);
  }

  /// Devices and FIFOs; a socket cannot be archived and is left out.
  void add_other(const std::string& name, const struct stat& st) {
    const auto& api = archive_api();
    unsigned int type = 0;
    if (S_ISCHR(st.st_mode)) type = AE_IFCHR;
    if (S_ISBLK(st.st_mode)) type = AE_IFBLK;
    if (S_ISFIFO(st.st_mode)) type = AE_IFIFO;
    if (type == 0) return;
    image::ArchiveEntry entry = entry_for(name, st, type);
    api.archive_entry_set_rdevmajor(entry.get(), major(st.st_rdev));
    api.archive_entry_set_rdevminor(entry.get(), minor(st.st_rdev));
    write_header(entry.get(), name);
  }

  /// `dir` (readable), named `name` in the archive; its entries are named `prefix<entry>`.
  void add_directory(Fd dir, const std::string& name, const struct stat& st,
                     const std::string& prefix) {
    if (!dir) fail_errno(name);
    image::ArchiveEntry entry = entry_for(name, st, AE_IFDIR);
    write_header(entry.get(), name);
    for (const std::string& child : sorted_entries(dir.get(), name)) {
      const std::string child_name = prefix + child;
      struct stat child_st {};
      if (::fstatat(dir.get(), child.c_str(), &child_st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) continue;  // removed meanwhile
        fail_errno(child_name);
      }
      if (S_ISDIR(child_st.st_mode)) {
        add_directory(
            Fd(::openat(dir.get(), child.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)),
            child_name, child_st, child_name + "/");
      } else if (S_ISREG(child_st.st_mode)) {
        const Fd file(::openat(dir.get(), child.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
        if (!file) fail_errno(child_name);
        add_file(file.get(), child_name, child_st);
      } else if (S_ISLNK(child_st.st_mode)) {
        add_symlink(readlink_at(dir.get(), child.c_str()), child_name, child_st);
      } else {
        add_other(child_name, child_st);
      }
    }
  }

  /// The names in `dir`, sorted: the same tree gives the same archive.
  std::vector<std::string> sorted_entries(int dir, const std::string& name) {
    std::vector<std::string> names;
    DIR* stream = ::fdopendir(::dup(dir));
    if (stream == nullptr) fail_errno(name);
    while (const dirent* entry = ::readdir(stream)) {
      const std::string_view child = entry->d_name;
      if (child != "." && child != "..") names.emplace_back(child);
    }
    ::closedir(stream);
    std::sort(names.begin(), names.end());
    return names;
  }

  int m_out;
  std::string m_label;
  image::WriteArchive m_writer;
  std::string m_write_error;
  bool m_pipe_closed = false;
  bool m_closed = false;
  bool m_abandoned = false;
  std::map<std::pair<dev_t, ino_t>, std::string> m_links;
};

}  // namespace

void pack_archive(int source, const std::string& top_name, int out_fd, const std::string& label) {
  Packer(out_fd, label).pack(source, top_name);
}

}  // namespace berth::containers
