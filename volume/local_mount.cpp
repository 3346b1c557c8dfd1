#include "volume/local_mount.h"

#include <sys/mount.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "util/error.h"
#include "util/strings.h"

namespace berth::volume {

namespace {

struct FlagOption {
  std::string_view name;
  bool clear;  // "rw" clears MS_RDONLY, "suid" clears MS_NOSUID, ...
  unsigned long flag;
};

// mount(8)'s flag words; everything else in `o` is the filesystem's (size=, uid=, addr=).
constexpr std::array k_flag_options{
    FlagOption{"ro", false, MS_RDONLY},
    FlagOption{"rw", true, MS_RDONLY},
    FlagOption{"nosuid", false, MS_NOSUID},
    FlagOption{"suid", true, MS_NOSUID},
    FlagOption{"nodev", false, MS_NODEV},
    FlagOption{"dev", true, MS_NODEV},
    FlagOption{"noexec", false, MS_NOEXEC},
    FlagOption{"exec", true, MS_NOEXEC},
    FlagOption{"sync", false, MS_SYNCHRONOUS},
    FlagOption{"async", true, MS_SYNCHRONOUS},
    FlagOption{"noatime", false, MS_NOATIME},
    FlagOption{"atime", true, MS_NOATIME},
    FlagOption{"nodiratime", false, MS_NODIRATIME},
    FlagOption{"diratime", true, MS_NODIRATIME},
    FlagOption{"relatime", false, MS_RELATIME},
    FlagOption{"norelatime", true, MS_RELATIME},
    FlagOption{"strictatime", false, MS_STRICTATIME},
    FlagOption{"bind", false, MS_BIND},
    FlagOption{"rbind", false, MS_BIND | MS_REC},
    FlagOption{"defaults", false, 0},
};

/// "\040" and the other octal escapes of /proc/self/mountinfo.
std::string unescape_mountinfo(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 3 < text.size()) {
      const std::string_view digits = text.substr(i + 1, 3);
      if (digits.find_first_not_of("01234567") == std::string_view::npos) {
        out +=
            static_cast<char>((digits[0] - '0') * 64 + (digits[1] - '0') * 8 + (digits[2] - '0'));
        i += 3;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

}  // namespace

std::optional<LocalMount> local_mount_of(const std::map<std::string, std::string>& options) {
  for (const auto& [key, value] : options) {
    if (key != "type" && key != "device" && key != "o") {
      throw Error(fmt::format("invalid option: \"{}\"", key));
    }
  }
  const auto type = options.find("type");
  const auto device = options.find("device");
  if (type == options.end() && device == options.end()) {
    if (options.contains("o")) throw Error("missing required option: \"type\"");
    return std::nullopt;
  }
  if (type == options.end()) throw Error("missing required option: \"type\"");
  if (device == options.end()) throw Error("missing required option: \"device\"");
  LocalMount mount;
  mount.type = type->second;
  mount.device = device->second;
  if (const auto o = options.find("o"); o != options.end()) {
    for (const std::string_view word : split(o->second, ',')) {
      if (word.empty()) continue;
      bool known = false;
      for (const FlagOption& option : k_flag_options) {
        if (word == option.name) {
          mount.flags = option.clear ? (mount.flags & ~option.flag) : (mount.flags | option.flag);
          known = true;
        }
      }
      if (!known) {
        if (!mount.data.empty()) mount.data += ',';
        mount.data += word;
      }
    }
  }
  if ((mount.flags & MS_BIND) && !mount.device.starts_with("/")) {
    throw Error(fmt::format("bind device \"{}\" is not an absolute path", mount.device));
  }
  return mount;
}

void mount_local(const std::string& volume, const LocalMount& mount, const std::string& data_path) {
  if (is_mount_point(data_path)) return;
  const char* type = mount.type == "none" ? nullptr : mount.type.c_str();
  const unsigned long first_flags =
      (mount.flags & MS_BIND) ? (mount.flags & (MS_BIND | MS_REC)) : mount.flags;
  if (::mount(mount.device.c_str(), data_path.c_str(), type, first_flags,
              mount.data.empty() ? nullptr : mount.data.c_str()) != 0) {
    throw Error(fmt::format("volume {}: mount {} ({}) on {}: {}", volume, mount.device, mount.type,
                            data_path, std::strerror(errno)));
  }
  // A bind takes its other flags (ro, nosuid, ...) only from a remount of the bind.
  const unsigned long rest = mount.flags & ~(MS_BIND | MS_REC);
  if ((mount.flags & MS_BIND) && rest != 0 &&
      ::mount(nullptr, data_path.c_str(), nullptr, MS_REMOUNT | MS_BIND | rest, nullptr) != 0) {
    const int error = errno;
    ::umount2(data_path.c_str(), MNT_DETACH);
    throw Error(fmt::format("volume {}: remount {} with its options: {}", volume, data_path,
                            std::strerror(error)));
  }
}

void unmount_local(const std::string& data_path) {
  while (is_mount_point(data_path)) {
    if (::umount2(data_path.c_str(), MNT_DETACH) != 0) {
      if (errno == EINVAL || errno == ENOENT) return;
      throw Error(fmt::format("unmount {}: {}", data_path, std::strerror(errno)));
    }
  }
}

/// The mount points of /proc/self/mountinfo (field 5), unescaped.
std::vector<std::string> mount_points() {
  std::vector<std::string> points;
  std::ifstream mountinfo("/proc/self/mountinfo");
  for (std::string line; std::getline(mountinfo, line);) {
    // id parent major:minor root mount-point ...
    std::size_t start = 0;
    for (int field = 0; field < 4 && start != std::string::npos; ++field) {
      start = line.find(' ', start);
      if (start != std::string::npos) ++start;
    }
    if (start == std::string::npos) continue;
    const std::size_t end = line.find(' ', start);
    points.push_back(unescape_mountinfo(std::string_view(line).substr(
        start, end == std::string::npos ? std::string::npos : end - start)));
  }
  return points;
}

bool is_mount_point(const std::string& path) {
  const auto points = mount_points();
  return std::find(points.begin(), points.end(), path) != points.end();
}

bool has_mount_under(const std::string& dir) {
  for (const std::string& point : mount_points()) {
    if (point == dir ||
        (point.starts_with(dir) && point.size() > dir.size() && point[dir.size()] == '/')) {
      return true;
    }
  }
  return false;
}

}  // namespace berth::volume
