#include "util/fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "util/error.h"

namespace berth::fs {

namespace {

std::string errno_message(const std::string& path) {
  return fmt::format("{}: {}", path, std::strerror(errno));
}

}  // namespace

std::optional<std::string> read_file_if_exists(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    throw Error(errno_message(path));
  }
  // Only regular files: a FIFO or /dev/zero named by mistake must not hang berth.
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(fmt::format("{}: not a regular file", path));
  }
  std::string content;
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string message = errno_message(path);
      ::close(fd);
      throw Error(message);
    }
    content.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return content;
}

std::string read_file(const std::string& path) {
  auto content = read_file_if_exists(path);
  if (!content) throw Error(fmt::format("{}: no such file", path));
  return std::move(*content);
}

void write_file_atomic(const std::string& path, std::string_view data, unsigned mode) {
  // The pid keeps concurrent writers (two berth commands) off each other's temp file.
  const std::string temp = fmt::format("{}.tmp{}", path, ::getpid());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) throw Error(errno_message(temp));
  auto fail = [&](const std::string& message) {
    ::close(fd);
    ::unlink(temp.c_str());
    throw Error(message);
  };
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(errno_message(temp));
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  if (::fchmod(fd, mode) != 0) fail(errno_message(temp));  // the umask must not narrow it
  if (::close(fd) != 0) {
    ::unlink(temp.c_str());
    throw Error(errno_message(temp));
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const std::string message = errno_message(path);
    ::unlink(temp.c_str());
    throw Error(message);
  }
}

std::optional<std::string> find_executable(std::string_view name) {
  const char* path = std::getenv("PATH");
  // glibc's execvp default when PATH is unset.
  std::string_view dirs = path != nullptr ? path : "/bin:/usr/bin";
  for (;;) {
    const std::size_t colon = dirs.find(':');
    const std::string_view dir = dirs.substr(0, colon);
    const std::string candidate =
        fmt::format("{}/{}", dir.empty() ? std::string_view(".") : dir, name);
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    if (colon == std::string_view::npos) return std::nullopt;
    dirs.remove_prefix(colon + 1);
  }
}

bool is_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string absolute(std::string_view path, std::string_view base) {
  std::string joined =
      (!path.empty() && path.front() == '/') ? std::string(path) : fmt::format("{}/{}", base, path);
  std::vector<std::string_view> parts;
  std::string_view rest = joined;
  while (!rest.empty()) {
    const auto slash = rest.find('/');
    const std::string_view part = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(part);
  }
  std::string out;
  for (const auto part : parts) {
    out += '/';
    out += part;
  }
  return out.empty() ? "/" : out;
}

std::string dirname(std::string_view path) {
  const auto slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

std::string basename(std::string_view path) {
  const auto slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

std::string current_directory() {
  std::vector<char> buffer(4096);
  if (::getcwd(buffer.data(), buffer.size()) == nullptr) {
    throw Error(fmt::format("current directory: {}", std::strerror(errno)));
  }
  return buffer.data();
}

}  // namespace berth::fs
