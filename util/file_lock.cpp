#include "util/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "util/error.h"

namespace berth {

namespace {

int open_lock_file(const std::string& path) {
  struct stat st {};
  const bool directory = ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  const int fd = directory ? ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                           : ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(fmt::format("{}: cannot lock: {}", path, std::strerror(errno)));
  return fd;
}

/// Waits for the lock of `operation` (LOCK_EX or LOCK_SH) on `fd`; closes it on failure.
void wait_for_lock(int fd, int operation, const std::string& path) {
  while (::flock(fd, operation) != 0) {
    if (errno == EINTR) continue;
    const std::string message = fmt::format("{}: cannot lock: {}", path, std::strerror(errno));
    ::close(fd);
    throw Error(message);
  }
}

}  // namespace

FileLock::FileLock(const std::string& path) : m_fd(open_lock_file(path)) {
  wait_for_lock(m_fd, LOCK_EX, path);
}

FileLock::FileLock(const std::string& path, Shared) : m_fd(open_lock_file(path)) {
  wait_for_lock(m_fd, LOCK_SH, path);
}

FileLock::FileLock(const std::string& path, TryOnly) : m_fd(open_lock_file(path)) {
  if (::flock(m_fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    ::close(m_fd);
    m_fd = -1;
    if (error != EWOULDBLOCK) {
      throw Error(fmt::format("{}: cannot lock: {}", path, std::strerror(error)));
    }
  }
}

FileLock::~FileLock() {
  if (m_fd >= 0) ::close(m_fd);
}

}  // namespace berth
