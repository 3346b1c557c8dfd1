#include "runtime/rootfs.h"

#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <thread>

#include <fmt/format.h>

#include "util/error.h"

namespace berth::runtime {
namespace {

namespace stdfs = std::filesystem;

[[noreturn]] void fail(const std::string& target, const std::string& reason) {
  throw Error(fmt::format("mount overlay on {}: {}", target, reason));
}

std::string absolute_path(const std::string& path, const std::string& target) {
  std::error_code error;
  const stdfs::path absolute = stdfs::absolute(path, error);
  if (error) {
    fail(target, fmt::format("{}: {}", path, error.message()));
  }
  return absolute.lexically_normal().string();
}

void create_directory(const std::string& dir, const std::string& target) {
  std::error_code error;
  stdfs::create_directories(dir, error);
  if (error) {
    fail(target, fmt::format("{}: {}", dir, error.message()));
  }
}

/// Makes `link` a symlink to `destination`, replacing a link to anything else atomically.
void place_link(const std::string& link, const std::string& destination,
                const std::string& target) {
  std::error_code error;
  if (stdfs::read_symlink(link, error) == destination) {
    return;
  }
  const std::string temporary = link + ".new";
  stdfs::remove(temporary, error);
  if (::symlink(destination.c_str(), temporary.c_str()) != 0 ||
      ::rename(temporary.c_str(), link.c_str()) != 0) {
    fail(target, fmt::format("{}: {}", link, std::strerror(errno)));
  }
}

/// Overlay splits its options at ',' and its lower dirs at ':'.
void check_option_path(const std::string& path, const std::string& target) {
  if (path.find_first_of(",:") != std::string::npos) {
    fail(target, fmt::format("{}: a path with ',' or ':' cannot be an overlay option", path));
  }
}

}  // namespace

void mount_overlay(const std::vector<std::string>& lower_dirs, const std::string& upper,
                   const std::string& work, const std::string& target_path,
                   const std::string& links_dir) {
  const std::string target = absolute_path(target_path, target_path);
  const std::string upper_dir = absolute_path(upper, target);
  const std::string work_dir = absolute_path(work, target);
  const std::string links = absolute_path(links_dir, target);
  check_option_path(upper_dir, target);
  check_option_path(work_dir, target);
  for (const auto& dir : {upper_dir, work_dir, target, links}) {
    create_directory(dir, target);
  }

  // Like Docker's overlay2: the lower dirs are named by short links relative to `links`
  // ("0:1:2"), because the mount data is limited to one page and 60 long layer paths do not
  // fit in it.
  std::string lowers;
  if (lower_dirs.empty()) {
    create_directory(links + "/empty", target);
    lowers = "empty";
  }
  for (std::size_t i = 0; i < lower_dirs.size(); ++i) {
    const std::string layer = absolute_path(lower_dirs[i], target);
    if (!stdfs::is_directory(layer)) {
      fail(target, fmt::format("layer {}: not a directory", layer));
    }
    const std::string name = std::to_string(i);
    place_link(links + "/" + name, layer, target);
    lowers += (i == 0 ? "" : ":") + name;
  }
  const std::string data =
      fmt::format("lowerdir={},upperdir={},workdir={}", lowers, upper_dir, work_dir);
  const auto page_size = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  if (data.size() >= page_size) {
    fail(target, fmt::format("the mount options take {} bytes, more than the kernel's {}",
                             data.size() + 1, page_size));
  }

  // mount(2) resolves relative lowerdir paths against the caller's working directory. The
  // working directory belongs to the whole process (threads share it through CLONE_FS), so
  // a plain chdir would move every other thread of berth too. A short-lived thread that
  // unshare(CLONE_FS)s first gets a private copy: its chdir and mount touch nothing else,
  // and the copy dies with the thread.
  int error = 0;
  const char* step = "";
  std::thread([&] {
    if (::unshare(CLONE_FS) != 0) {
      error = errno;
      step = "unshare(CLONE_FS): ";
    } else if (::chdir(links.c_str()) != 0) {
      error = errno;
      step = "chdir to the layer links: ";
    } else if (::mount("overlay", target.c_str(), "overlay", 0, data.c_str()) != 0) {
      error = errno;
    }
  }).join();
  if (error != 0) {
    fail(target, fmt::format("{}{}", step, std::strerror(error)));
  }
}

void unmount_rootfs(const std::string& target) {
  if (::umount2(target.c_str(), UMOUNT_NOFOLLOW) == 0) {
    return;
  }
  // EINVAL: not a mount point (already unmounted); ENOENT: no such directory at all.
  if (errno == EINVAL || errno == ENOENT) {
    return;
  }
  // Something still holds the mount (a process's cwd, an open file): detach it now, and the
  // kernel frees it when the last user lets go.
  if (errno == EBUSY && ::umount2(target.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) == 0) {
    return;
  }
  throw Error(fmt::format("unmount {}: {}", target, std::strerror(errno)));
}

}  // namespace berth::runtime
