#include "volume/subpath.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>

#include "util/error.h"
#include "util/safe_open.h"
#include "util/strings.h"

namespace berth::volume {

void check_subpath(const std::string& subpath) {
  const auto fail = [&](const std::string& why) {
    throw Error(fmt::format("subpath \"{}\": {}", subpath, why));
  };
  if (subpath.empty() || subpath.starts_with("/")) fail("must be a relative path in the volume");
  for (const std::string_view part : split(subpath, '/')) {
    if (part == "..") fail("must not leave the volume");
  }
}

void stage_subpath(const std::string& volume, const std::string& data_path,
                   const std::string& subpath, const std::string& staging) {
  const auto fail = [&](const std::string& why) {
    throw Error(fmt::format("volume {}: subpath \"{}\": {}", volume, subpath, why));
  };
  try {
    check_subpath(subpath);
  } catch (const Error& e) {
    wrap(e, "volume " + volume);
  }
  const Fd data(::open(data_path.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!data) fail(fmt::format("{}: {}", data_path, std::strerror(errno)));
  const Fd target = open_beneath(data.get(), subpath, O_PATH | O_NOFOLLOW);
  if (!target) {
    if (errno == ELOOP || errno == EXDEV) fail("a symlink is on the way; berth does not follow it");
    fail(std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(target.get(), &st) != 0) fail(std::strerror(errno));
  if (S_ISLNK(st.st_mode)) fail("is a symlink; berth does not follow it");

  std::error_code ignored;
  std::filesystem::create_directories(std::filesystem::path(staging).parent_path(), ignored);
  remove_staging(staging);
  if (S_ISDIR(st.st_mode)) {
    if (::mkdir(staging.c_str(), 0700) != 0) fail(staging + ": " + std::strerror(errno));
  } else {
    const int file = ::open(staging.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (file < 0) fail(staging + ": " + std::strerror(errno));
    ::close(file);
  }
  // The magic link names the inode opened above, whatever its path has become since.
  const std::string source = "/proc/self/fd/" + std::to_string(target.get());
  if (::mount(source.c_str(), staging.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
    const int error = errno;
    if (::rmdir(staging.c_str()) != 0) ::unlink(staging.c_str());
    fail(fmt::format("bind to {}: {}", staging, std::strerror(error)));
  }
}

void remove_staging(const std::string& staging) {
  while (::umount2(staging.c_str(), MNT_DETACH) == 0) {
  }
  if (::rmdir(staging.c_str()) != 0 && errno == ENOTDIR) ::unlink(staging.c_str());
}

}  // namespace berth::volume
