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

FileLock::FileLock(const std::string& path) {
  struct stat st {};
  const bool directory = ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  m_fd = directory ? ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                   : ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (m_fd < 0) throw Error(fmt::format("{}: cannot lock: {}", path, std::strerror(errno)));
  while (::flock(m_fd, LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    const std::string message = fmt::format("{}: cannot lock: {}", path, std::strerror(errno));
    ::close(m_fd);
    throw Error(message);
  }
}

FileLock::~FileLock() {
  ::close(m_fd);
}

}  // namespace berth
