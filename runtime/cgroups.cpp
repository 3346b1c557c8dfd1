#include "runtime/cgroups.h"

#include <dirent.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "util/error.h"
#include "util/fs.h"
#include "util/strings.h"

namespace berth::runtime {
namespace {

constexpr const char* k_crun_blocker =
    "crun cannot run on this host's hybrid cgroup layout until hugetlb is mounted as a cgroup "
    "v1 hierarchy: run \"mkdir -p /sys/fs/cgroup/hugetlb && mount -t cgroup -o hugetlb cgroup "
    "/sys/fs/cgroup/hugetlb\" as root (or use --runtime runc)";

struct CgroupMount {
  std::string path;
  std::string type;  // "cgroup" (v1) or "cgroup2"
  std::string options;
};

/// /proc/self/mounts escapes space, tab, newline and backslash as \ooo.
std::string unescape_mount_field(std::string_view field) {
  std::string out;
  for (std::size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      out += static_cast<char>((field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 +
                               (field[i + 3] - '0'));
      i += 3;
      continue;
    }
    out += field[i];
  }
  return out;
}

std::vector<CgroupMount> cgroup_mounts() {
  std::ifstream in("/proc/self/mounts");
  std::vector<CgroupMount> mounts;
  std::set<std::string> seen;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string source;
    std::string path;
    std::string type;
    std::string options;
    if (!(fields >> source >> path >> type >> options)) {
      continue;
    }
    if (type != "cgroup" && type != "cgroup2") {
      continue;
    }
    path = unescape_mount_field(path);
    // A hierarchy mounted twice at one place (or over itself) is still one directory tree.
    if (seen.insert(path).second) {
      mounts.push_back({path, type, options});
    }
  }
  return mounts;
}

/// The controllers the kernel knows (/proc/cgroups' first column).
std::set<std::string> kernel_controllers() {
  std::ifstream in("/proc/cgroups");
  std::set<std::string> names;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') {
      continue;
    }
    names.insert(line.substr(0, line.find_first_of(" \t")));
  }
  return names;
}

/// `cgroups_path` without its leading and trailing slashes; berth::Error when it names a
/// hierarchy's root or climbs out of it.
std::string relative_cgroup(const std::string& cgroups_path) {
  std::string relative;
  for (const std::string_view part : split(cgroups_path, '/')) {
    if (part.empty() || part == ".") {
      continue;
    }
    if (part == "..") {
      throw Error(fmt::format("invalid cgroup path \"{}\"", cgroups_path));
    }
    if (!relative.empty()) {
      relative += '/';
    }
    relative += part;
  }
  if (relative.empty()) {
    throw Error(fmt::format("invalid cgroup path \"{}\"", cgroups_path));
  }
  return relative;
}

/// rmdir(2) of `dir` after its child cgroups, depth first. 0 or the errno of the failure.
int remove_tree(const std::string& dir) {
  if (DIR* stream = ::opendir(dir.c_str())) {
    std::vector<std::string> children;
    while (const dirent* entry = ::readdir(stream)) {
      const std::string_view name = entry->d_name;
      if (entry->d_type == DT_DIR && name != "." && name != "..") {
        children.emplace_back(name);
      }
    }
    ::closedir(stream);
    for (const auto& child : children) {
      if (const int error = remove_tree(dir + "/" + child); error != 0 && error != ENOENT) {
        return error;
      }
    }
  }
  return ::rmdir(dir.c_str()) == 0 ? 0 : errno;
}

}  // namespace

std::optional<std::string> crun_blocker(const std::string& cgroup_root) {
  // crun (libcrun_cgroup_enter) refuses any layout where cgroup2 sits beside v1 hierarchies
  // and still has a controller; a pure cgroup2 host has no "unified" subdirectory.
  const auto controllers = fs::read_file_if_exists(cgroup_root + "/unified/cgroup.controllers");
  if (!controllers || controllers->find_first_not_of(" \t\n") == std::string::npos) {
    return std::nullopt;
  }
  return std::string(k_crun_blocker);
}

bool cgroup_v1_host() {
  struct statfs root {};
  if (::statfs("/sys/fs/cgroup", &root) != 0 || root.f_type != TMPFS_MAGIC) {
    return false;
  }
  const auto controllers = kernel_controllers();
  for (const auto& mount : cgroup_mounts()) {
    if (mount.type != "cgroup") {
      continue;
    }
    // "name=systemd" hierarchies carry no controller: resource limits need a real one.
    for (const std::string_view option : split(mount.options, ',')) {
      if (controllers.contains(std::string(option))) {
        return true;
      }
    }
  }
  return false;
}

void remove_cgroup(const std::string& cgroups_path) {
  const std::string relative = relative_cgroup(cgroups_path);
  std::string failure;
  // Never while a runtime is between making a parent and its own cgroup below it.
  const FileLock no_creation = cgroup_creation_lock(true);
  for (const auto& mount : cgroup_mounts()) {
    const std::string dir = mount.path + "/" + relative;
    if (const int error = remove_tree(dir); error != 0 && error != ENOENT) {
      if (failure.empty()) {
        failure = fmt::format("remove cgroup {}: {}", dir, std::strerror(error));
      }
      continue;
    }
    // Parents go only while empty: another container of the project may still use them,
    // and then rmdir says EBUSY (or ENOTEMPTY), which ends the walk.
    for (std::string parent = relative; parent.find('/') != std::string::npos;) {
      parent.erase(parent.rfind('/'));
      const std::string parent_dir = mount.path + "/" + parent;
      if (::rmdir(parent_dir.c_str()) != 0 && errno != ENOENT) {
        break;
      }
    }
  }
  if (!failure.empty()) {
    throw Error(failure);
  }
}

FileLock cgroup_creation_lock(bool exclusive) {
  constexpr const char* k_lock_dir = "/sys/fs/cgroup";
  return exclusive ? FileLock(k_lock_dir) : FileLock(k_lock_dir, FileLock::Shared{});
}

std::vector<std::string> cgroup_dirs(const std::string& cgroups_path) {
  const std::string relative = relative_cgroup(cgroups_path);
  std::vector<std::string> dirs;
  for (const auto& mount : cgroup_mounts()) {
    std::string dir = mount.path + "/" + relative;
    if (fs::is_directory(dir)) {
      dirs.push_back(std::move(dir));
    }
  }
  return dirs;
}

namespace {

/// A cgroup file's content, or nullopt when the cgroup is gone or going: the kernel answers
/// ENODEV for the files of a cgroup being removed (a container that just exited).
std::optional<std::string> read_live_cgroup_file(const std::string& path) {
  try {
    return fs::read_file_if_exists(path);
  } catch (const Error&) {
    return std::nullopt;
  }
}

}  // namespace

bool cgroup_frozen(const std::string& cgroups_path) {
  const std::string relative = relative_cgroup(cgroups_path);
  bool frozen_in_v2 = false;
  // Read once per process: `ps` asks for every container, and the mount table is long.
  static const std::vector<CgroupMount> mounts = cgroup_mounts();
  for (const auto& mount : mounts) {
    if (mount.type == "cgroup") {
      const auto options = split(mount.options, ',');
      if (std::find(options.begin(), options.end(), "freezer") == options.end()) {
        continue;
      }
      // Where a v1 freezer is mounted, runtimes freeze through it and the cgroup2 directory
      // of a hybrid host never says frozen: this file alone decides.
      const auto state = read_live_cgroup_file(mount.path + "/" + relative + "/freezer.state");
      return state && state->starts_with("FROZEN");
    }
    if (mount.type == "cgroup2" && !frozen_in_v2) {
      const auto events = read_live_cgroup_file(mount.path + "/" + relative + "/cgroup.events");
      frozen_in_v2 = events && ("\n" + *events).find("\nfrozen 1") != std::string::npos;
    }
  }
  return frozen_in_v2;
}

}  // namespace berth::runtime
