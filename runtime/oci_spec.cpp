#include "runtime/oci_spec.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>
#include <set>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "runtime/command_line.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strings.h"

namespace berth::runtime {
namespace {

using nlohmann::json;

constexpr const char* k_default_path_env =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
constexpr std::int64_t k_default_shm_size = 64 * 1024 * 1024;
constexpr std::int64_t k_min_memory = 6 * 1024 * 1024;  // Docker's minimum
constexpr std::int64_t k_cpu_period = 100'000;          // microseconds, Docker's for --cpus
constexpr std::int64_t k_max_id = 2147483647;
constexpr std::uint64_t k_unlimited = std::numeric_limits<std::uint64_t>::max();

// ---- small helpers --------------------------------------------------------------------------

std::string in_quotes(std::string_view text) {
  return fmt::format("\"{}\"", text);
}

/// `path` lexically cleaned; throws "invalid <what> "<path>": must be absolute".
std::string absolute_path(const std::string& path, std::string_view what) {
  if (path.empty() || path.front() != '/') {
    throw Error(fmt::format("invalid {} {}: must be absolute", what, in_quotes(path)));
  }
  return fs::absolute(path, "/");
}

/// A whole-string decimal integer, or nullopt.
std::optional<std::int64_t> parse_int(std::string_view text) {
  std::int64_t value = 0;
  const char* end = text.data() + text.size();
  if (!text.empty() && text.front() == '+') {
    text.remove_prefix(1);
  }
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) {
    return std::nullopt;
  }
  return value;
}

bool contains(const std::vector<std::string>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

void append_unique(std::vector<std::string>& list, const std::string& item) {
  if (!contains(list, item)) {
    list.push_back(item);
  }
}

// ---- capabilities ---------------------------------------------------------------------------

/// Every capability by number (linux/capability.h), as the OCI spec names them.
constexpr std::array<const char*, 41> k_capabilities{
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

/// Docker's default set (moby oci/caps), in its order.
constexpr std::array<const char*, 14> k_default_capabilities{
    "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
    "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
    "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
    "CAP_KILL",    "CAP_AUDIT_WRITE",
};

std::optional<std::size_t> capability_number(std::string_view name) {
  for (std::size_t i = 0; i < k_capabilities.size(); ++i) {
    if (name == k_capabilities[i]) {
      return i;
    }
  }
  return std::nullopt;
}

bool host_has(std::uint64_t bounding_caps, std::string_view name) {
  const auto number = capability_number(name);
  return number && ((bounding_caps >> *number) & 1) != 0;
}

/// "net_admin" -> "CAP_NET_ADMIN"; "all" -> "ALL"; throws for an unknown name.
std::string normalise_capability(const std::string& name, std::string_view field) {
  std::string upper = name;
  for (char& c : upper) {
    if (c >= 'a' && c <= 'z') {
      c = static_cast<char>(c - 'a' + 'A');
    }
  }
  if (upper == "ALL") {
    return upper;
  }
  if (!upper.starts_with("CAP_")) {
    upper = "CAP_" + upper;
  }
  if (!capability_number(upper)) {
    throw Error(fmt::format("invalid {} {}: unknown capability", field, in_quotes(name)));
  }
  return upper;
}

std::vector<std::string> host_capabilities(std::uint64_t bounding_caps) {
  std::vector<std::string> caps;
  for (const char* name : k_capabilities) {
    if (host_has(bounding_caps, name)) {
      caps.emplace_back(name);
    }
  }
  return caps;
}

// ---- users and groups -----------------------------------------------------------------------

struct PasswdEntry {
  std::string name;
  std::int64_t uid = 0;
  std::int64_t gid = 0;
};

struct GroupEntry {
  std::string name;
  std::int64_t gid = 0;
  std::vector<std::string> members;
};

/// The lines of an /etc/passwd or /etc/group file split at ':', comments and blanks skipped.
std::vector<std::vector<std::string_view>> colon_records(std::string_view text) {
  std::vector<std::vector<std::string_view>> records;
  for (std::string_view line : split(text, '\n')) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
      line.remove_suffix(1);
    }
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
      line.remove_prefix(1);
    }
    if (line.empty() || line.front() == '#') {
      continue;
    }
    records.push_back(split(line, ':'));
  }
  return records;
}

std::vector<PasswdEntry> parse_passwd(std::string_view text) {
  std::vector<PasswdEntry> entries;
  for (const auto& fields : colon_records(text)) {
    if (fields.size() < 4) {
      continue;
    }
    const auto uid = parse_int(fields[2]);
    const auto gid = parse_int(fields[3]);
    if (uid && gid) {
      entries.push_back({std::string(fields[0]), *uid, *gid});
    }
  }
  return entries;
}

std::vector<GroupEntry> parse_group(std::string_view text) {
  std::vector<GroupEntry> entries;
  for (const auto& fields : colon_records(text)) {
    if (fields.size() < 3) {
      continue;
    }
    const auto gid = parse_int(fields[2]);
    if (!gid) {
      continue;
    }
    GroupEntry entry{std::string(fields[0]), *gid, {}};
    if (fields.size() > 3) {
      for (std::string_view member : split(fields[3], ',')) {
        if (!member.empty()) {
          entry.members.emplace_back(member);
        }
      }
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

/// A numeric id in Docker's range, or nullopt for a name; throws "invalid <what>: ..." when
/// out of range (`what` names the field and its value).
std::optional<std::int64_t> numeric_id(std::string_view text, const std::string& what) {
  const auto id = parse_int(text);
  if (id && (*id < 0 || *id > k_max_id)) {
    throw Error(fmt::format("invalid {}: uids and gids must be in range 0-{}", what, k_max_id));
  }
  return id;
}

/// The group named (or numbered) `name`: the entry's gid, or the number itself.
std::uint32_t lookup_group(const std::string& name, const std::vector<GroupEntry>& groups,
                           const std::string& what) {
  const auto gid = numeric_id(name, what);
  for (const GroupEntry& entry : groups) {
    if (gid ? entry.gid == *gid : entry.name == name) {
      return static_cast<std::uint32_t>(entry.gid);
    }
  }
  if (!gid) {
    throw Error(fmt::format("unable to find group {}: no matching entries in group file", name));
  }
  return static_cast<std::uint32_t>(*gid);
}

// ---- environment ----------------------------------------------------------------------------

std::string env_key(std::string_view entry) {
  return std::string(entry.substr(0, entry.find('=')));
}

/// Docker's container environment: PATH, HOSTNAME and (with a tty) TERM first, then the
/// user's variables, then the image's that the user did not set. A later value for a key
/// replaces the earlier one in place; a user entry without '=' removes the key.
std::vector<std::string> container_environment(const ContainerSpec& spec,
                                               const nlohmann::json& image_config,
                                               const std::string& hostname) {
  std::vector<std::string> image_env;
  if (image_config.is_object() && image_config.contains("Env") && image_config["Env"].is_array()) {
    for (const auto& item : image_config["Env"]) {
      if (item.is_string()) {
        image_env.push_back(item.get<std::string>());
      }
    }
  }
  for (const std::string& entry : spec.env) {
    if (entry.empty() || entry.front() == '=') {
      throw Error(fmt::format("invalid env {}: empty variable name", in_quotes(entry)));
    }
  }
  std::vector<std::string> overrides = spec.env;
  std::set<std::string> user_keys;
  for (const std::string& entry : spec.env) {
    user_keys.insert(env_key(entry));
  }
  for (const std::string& entry : image_env) {
    if (!user_keys.contains(env_key(entry))) {
      overrides.push_back(entry);
    }
  }

  std::vector<std::optional<std::string>> env{std::string(k_default_path_env),
                                              "HOSTNAME=" + hostname};
  if (spec.tty) {
    env.emplace_back("TERM=xterm");
  }
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < env.size(); ++i) {
    index[env_key(*env[i])] = i;
  }
  for (const std::string& entry : overrides) {
    const std::string key = env_key(entry);
    const auto found = index.find(key);
    if (entry.find('=') == std::string::npos) {
      if (found != index.end()) {
        env[found->second].reset();
      }
      continue;
    }
    if (found != index.end()) {
      env[found->second] = entry;
    } else {
      index[key] = env.size();
      env.emplace_back(entry);
    }
  }
  std::vector<std::string> result;
  for (auto& entry : env) {
    if (entry) {
      result.push_back(std::move(*entry));
    }
  }
  return result;
}

// ---- security options -----------------------------------------------------------------------

struct SecurityOptions {
  bool seccomp_unconfined = false;
  std::string seccomp_profile_path;  // seccomp=<path>: a profile of the user's
  bool no_new_privileges = false;
  bool system_paths_unconfined = false;  // systempaths=unconfined: no masked/readonly paths
};

SecurityOptions parse_security_options(const std::vector<std::string>& options) {
  SecurityOptions parsed;
  for (const std::string& option : options) {
    // Docker accepts "key=value" and the older "key:value".
    const std::size_t at = option.find_first_of("=:");
    const std::string key = option.substr(0, at);
    const std::string value = at == std::string::npos ? "" : option.substr(at + 1);
    const auto invalid = [&](std::string_view why) {
      return Error(fmt::format("invalid security_opt {}: {}", in_quotes(option), why));
    };
    if (key == "no-new-privileges") {
      if (value.empty() || value == "true") {
        parsed.no_new_privileges = true;
      } else if (value == "false") {
        parsed.no_new_privileges = false;
      } else {
        throw invalid("expected true or false");
      }
    } else if (key == "seccomp") {
      if (value == "unconfined") {
        parsed.seccomp_unconfined = true;
      } else if (value == "builtin" || value.empty()) {
        parsed.seccomp_profile_path.clear();
      } else if (value.front() == '/') {
        parsed.seccomp_profile_path = value;
      } else {
        throw invalid("expected unconfined or an absolute profile path");
      }
    } else if (key == "systempaths") {
      if (value != "unconfined") {
        throw invalid("expected systempaths=unconfined");
      }
      parsed.system_paths_unconfined = true;
    } else if (key == "apparmor" || key == "label") {
      // No LSM is in use on berth's hosts; Docker too ignores these when it has none.
    } else {
      throw invalid("unknown option");
    }
  }
  return parsed;
}

// ---- seccomp --------------------------------------------------------------------------------

#if defined(__x86_64__)
constexpr const char* k_native_scmp_arch = "SCMP_ARCH_X86_64";
constexpr const char* k_native_go_arch = "amd64";  // the profile's includes/excludes arches
#elif defined(__aarch64__)
constexpr const char* k_native_scmp_arch = "SCMP_ARCH_AARCH64";
constexpr const char* k_native_go_arch = "arm64";
#else
constexpr const char* k_native_scmp_arch = "";
constexpr const char* k_native_go_arch = "";
#endif

/// "6.18.44-fc" -> {6, 18}; {0, 0} when unknown.
std::pair<int, int> kernel_version(std::string_view release) {
  int major = 0;
  int minor = 0;
  const char* end = release.data() + release.size();
  auto [ptr, ec] = std::from_chars(release.data(), end, major);
  if (ec == std::errc() && ptr != end && *ptr == '.') {
    std::from_chars(ptr + 1, end, minor);
  }
  return {major, minor};
}

bool kernel_at_least(const std::string& kernel_release, const json& min_kernel) {
  if (!min_kernel.is_string()) {
    throw Error("invalid seccomp profile: minKernel must be a string like \"4.8\"");
  }
  if (kernel_release.empty()) {
    return false;
  }
  return kernel_version(kernel_release) >= kernel_version(min_kernel.get<std::string>());
}

std::vector<std::string> string_list(const json& object, const char* key) {
  std::vector<std::string> values;
  if (object.is_object() && object.contains(key) && object[key].is_array()) {
    for (const auto& item : object[key]) {
      if (item.is_string()) {
        values.push_back(item.get<std::string>());
      }
    }
  }
  return values;
}

/// Whether a profile rule applies to this architecture, these capabilities and this kernel
/// (Docker's includes/excludes semantics: all included caps needed, any excluded cap skips).
bool rule_applies(const json& rule, const std::vector<std::string>& capabilities,
                  const std::string& kernel_release) {
  const json none = json::object();
  const json& excludes =
      rule.contains("excludes") && rule["excludes"].is_object() ? rule["excludes"] : none;
  const json& includes =
      rule.contains("includes") && rule["includes"].is_object() ? rule["includes"] : none;
  if (contains(string_list(excludes, "arches"), k_native_go_arch)) {
    return false;
  }
  for (const std::string& cap : string_list(excludes, "caps")) {
    if (contains(capabilities, cap)) {
      return false;
    }
  }
  if (excludes.contains("minKernel") && !excludes["minKernel"].is_null() &&
      kernel_at_least(kernel_release, excludes["minKernel"])) {
    return false;
  }
  const auto arches = string_list(includes, "arches");
  if (!arches.empty() && !contains(arches, k_native_go_arch)) {
    return false;
  }
  for (const std::string& cap : string_list(includes, "caps")) {
    if (!contains(capabilities, cap)) {
      return false;
    }
  }
  if (includes.contains("minKernel") && !includes["minKernel"].is_null() &&
      !kernel_at_least(kernel_release, includes["minKernel"])) {
    return false;
  }
  return true;
}

// ---- mounts ---------------------------------------------------------------------------------

json make_mount(const std::string& destination, const std::string& type, const std::string& source,
                std::vector<std::string> options) {
  return {{"destination", destination},
          {"type", type},
          {"source", source},
          {"options", std::move(options)}};
}

/// Docker's defaults (oci/defaults.go), in its order; /dev/shm gets its size.
std::vector<json> default_mounts(std::int64_t shm_size) {
  return {
      make_mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}),
      make_mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      make_mount("/dev/pts", "devpts", "devpts",
                 {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
      make_mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
      make_mount("/sys/fs/cgroup", "cgroup", "cgroup", {"ro", "nosuid", "noexec", "nodev"}),
      make_mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
      make_mount("/dev/shm", "tmpfs", "shm",
                 {"nosuid", "noexec", "nodev", "mode=1777", fmt::format("size={}", shm_size)}),
  };
}

bool is_propagation(std::string_view option) {
  static const std::array<std::string_view, 6> k_modes{"private", "rprivate", "shared",
                                                       "rshared", "slave",    "rslave"};
  return std::find(k_modes.begin(), k_modes.end(), option) != k_modes.end();
}

/// The family a mount option belongs to, so that a later option replaces an earlier one of
/// the same family (Docker's MergeTmpfsOptions: "exec" replaces "noexec").
std::string option_family(std::string_view option) {
  if (is_propagation(option)) {
    return "propagation";
  }
  if (option == "ro" || option == "rw") {
    return "ro";
  }
  for (std::string_view flag : {"exec", "suid", "dev", "atime", "diratime"}) {
    if (option == flag || (option.starts_with("no") && option.substr(2) == flag)) {
      return std::string(flag);
    }
  }
  const std::size_t equals = option.find('=');
  return std::string(equals == std::string_view::npos ? option : option.substr(0, equals + 1));
}

void merge_option(std::vector<std::string>& options, const std::string& option) {
  const std::string family = option_family(option);
  for (std::string& existing : options) {
    if (option_family(existing) == family) {
      existing = option;
      return;
    }
  }
  options.push_back(option);
}

/// "size=64m" the way Docker writes a tmpfs size: the largest unit that divides it.
std::string tmpfs_size_option(std::int64_t bytes) {
  for (const auto& [suffix, divisor] :
       {std::pair{"g", std::int64_t{1} << 30}, std::pair{"m", std::int64_t{1} << 20},
        std::pair{"k", std::int64_t{1} << 10}}) {
    if (bytes % divisor == 0) {
      return fmt::format("size={}{}", bytes / divisor, suffix);
    }
  }
  return fmt::format("size={}", bytes);
}

json user_mount(const MountSpec& mount, const std::string& target) {
  const bool read_only = mount.read_only || contains(mount.options, "ro");
  if (mount.type == MountSpec::Type::tmpfs) {
    std::vector<std::string> options{"noexec", "nosuid", "nodev", "rprivate"};
    for (const std::string& option : mount.options) {
      merge_option(options, option);
    }
    if (read_only) {
      merge_option(options, "ro");
    }
    if (mount.tmpfs_size) {
      if (*mount.tmpfs_size <= 0) {
        throw Error(fmt::format("invalid tmpfs size {} for {}: must be positive", *mount.tmpfs_size,
                                in_quotes(target)));
      }
      merge_option(options, tmpfs_size_option(*mount.tmpfs_size));
    }
    if (mount.tmpfs_mode) {
      if (*mount.tmpfs_mode > 07777) {
        throw Error(fmt::format("invalid tmpfs mode {:o} for {}: above 7777", *mount.tmpfs_mode,
                                in_quotes(target)));
      }
      merge_option(options, fmt::format("mode={:o}", *mount.tmpfs_mode));
    }
    return make_mount(target, "tmpfs", "tmpfs", std::move(options));
  }

  if (mount.tmpfs_size || mount.tmpfs_mode) {
    throw Error(
        fmt::format("invalid mount {}: tmpfs size and mode need a tmpfs mount", in_quotes(target)));
  }
  const std::string source = absolute_path(mount.source, "mount source");
  std::vector<std::string> options{contains(mount.options, "bind") ? "bind" : "rbind"};
  if (read_only) {
    options.emplace_back("ro");
  }
  std::string propagation = "rprivate";
  std::vector<std::string> extra;
  for (const std::string& option : mount.options) {
    if (is_propagation(option)) {
      propagation = option;
    } else if (option != "bind" && option != "rbind" && option != "ro" && option != "rw") {
      extra.push_back(option);
    }
  }
  options.push_back(propagation);
  options.insert(options.end(), extra.begin(), extra.end());
  return make_mount(target, "bind", source, std::move(options));
}

std::size_t path_depth(const std::string& path) {
  return static_cast<std::size_t>(std::count(path.begin(), path.end(), '/'));
}

void remove_option(json& mount, std::string_view option) {
  json kept = json::array();
  for (const auto& existing : mount["options"]) {
    if (existing != option) {
      kept.push_back(existing);
    }
  }
  mount["options"] = std::move(kept);
}

/// Docker's mount list: its defaults (less those a user mount replaces, and all of /dev's
/// when the user mounts /dev), the init, then the user's mounts and the /etc files sorted
/// parents first.
json build_mounts(const ContainerSpec& spec, const SpecContext& context, bool privileged) {
  std::vector<std::pair<std::string, json>> ours;  // target -> mount; user and /etc files
  std::set<std::string> targets;
  for (const MountSpec& mount : spec.mounts) {
    const std::string target = absolute_path(mount.target, "mount target");
    if (target == "/") {
      throw Error(fmt::format("invalid mount target {}: cannot mount over the root",
                              in_quotes(mount.target)));
    }
    if (!targets.insert(target).second) {
      throw Error(fmt::format("duplicate mount target {}", in_quotes(target)));
    }
    ours.emplace_back(target, user_mount(mount, target));
  }
  if (!context.etc_dir.empty()) {
    for (const char* name : {"resolv.conf", "hostname", "hosts"}) {
      const std::string target = fmt::format("/etc/{}", name);
      if (targets.contains(target)) {
        continue;  // the user's own file wins, as in Docker
      }
      std::vector<std::string> options{"rbind"};
      if (spec.read_only) {
        options.emplace_back("ro");
      }
      options.emplace_back("rprivate");
      ours.emplace_back(
          target, make_mount(target, "bind", context.etc_dir + "/" + name, std::move(options)));
      targets.insert(target);
    }
  }
  std::stable_sort(ours.begin(), ours.end(), [](const auto& a, const auto& b) {
    return path_depth(a.first) < path_depth(b.first);
  });

  std::int64_t shm_size = spec.shm_size.value_or(0);
  if (shm_size < 0) {
    throw Error(fmt::format("invalid shm_size {}: must not be negative", shm_size));
  }
  if (shm_size == 0) {
    shm_size = k_default_shm_size;
  }
  json mounts = json::array();
  const bool user_dev = targets.contains("/dev");
  for (json& mount : default_mounts(shm_size)) {
    const std::string destination = mount["destination"];
    if (targets.contains(destination) || (user_dev && destination.starts_with("/dev/"))) {
      continue;
    }
    if (spec.read_only && destination != "/proc" && destination != "/dev" &&
        destination != "/dev/pts" && destination != "/dev/shm" && destination != "/dev/mqueue" &&
        !contains(mount["options"].get<std::vector<std::string>>(), "ro")) {
      mount["options"].push_back("ro");
    }
    if (privileged && (destination == "/sys" || destination == "/sys/fs/cgroup")) {
      remove_option(mount, "ro");
    }
    mounts.push_back(std::move(mount));
  }
  if (spec.init && !targets.contains(k_container_init_path)) {
    mounts.push_back(make_mount(k_container_init_path, "bind", context.init_path, {"bind", "ro"}));
  }
  for (auto& [target, mount] : ours) {
    mounts.push_back(std::move(mount));
  }
  return mounts;
}

// ---- devices --------------------------------------------------------------------------------

json device_entry(const std::string& container_path, const struct stat& st) {
  return {{"path", container_path},
          {"type", S_ISCHR(st.st_mode) ? "c" : "b"},
          {"major", static_cast<std::int64_t>(major(st.st_rdev))},
          {"minor", static_cast<std::int64_t>(minor(st.st_rdev))},
          {"fileMode", st.st_mode & 07777},
          {"uid", st.st_uid},
          {"gid", st.st_gid}};
}

json device_rule(bool allow, std::string_view access, std::string_view type = "",
                 std::optional<std::int64_t> major_number = std::nullopt,
                 std::optional<std::int64_t> minor_number = std::nullopt) {
  json rule{{"allow", allow}, {"access", access}};
  if (!type.empty()) {
    rule["type"] = type;
  }
  if (major_number) {
    rule["major"] = *major_number;
  }
  if (minor_number) {
    rule["minor"] = *minor_number;
  }
  return rule;
}

/// Docker's device cgroup: deny everything, then allow the standard character devices
/// (zero, null, urandom, random, tty, console) and deny fuse.
json default_device_rules() {
  return json::array({
      device_rule(false, "rwm"),
      device_rule(true, "rwm", "c", 1, 5),
      device_rule(true, "rwm", "c", 1, 3),
      device_rule(true, "rwm", "c", 1, 9),
      device_rule(true, "rwm", "c", 1, 8),
      device_rule(true, "rwm", "c", 5, 0),
      device_rule(true, "rwm", "c", 5, 1),
      device_rule(false, "rwm", "c", 10, 229),
  });
}

struct DeviceNode {
  std::string container_path;
  struct stat st {};
};

DeviceNode stat_device(const DeviceSpec& device) {
  const std::string host_path = absolute_path(device.host_path, "device");
  DeviceNode node;
  node.container_path = device.container_path.empty() ? host_path : device.container_path;
  if (node.container_path.front() != '/') {
    throw Error(fmt::format("invalid device {}: the container path {} must be absolute",
                            in_quotes(device.host_path), in_quotes(device.container_path)));
  }
  node.container_path = fs::absolute(node.container_path, "/");
  if (::stat(host_path.c_str(), &node.st) != 0) {
    throw Error(
        fmt::format("invalid device {}: {}", in_quotes(device.host_path), std::strerror(errno)));
  }
  if (!S_ISCHR(node.st.st_mode) && !S_ISBLK(node.st.st_mode)) {
    throw Error(fmt::format("invalid device {}: not a device node", in_quotes(device.host_path)));
  }
  return node;
}

/// Every device node under the host's /dev, the way runc's HostDevices() walks it.
std::vector<json> host_devices() {
  namespace stdfs = std::filesystem;
  static const std::set<std::string> k_skipped_dirs{"pts",  "shm",         "fd",   "mqueue",
                                                    ".lxc", ".lxd-mounts", ".udev"};
  std::vector<json> devices;
  std::error_code ec;
  stdfs::recursive_directory_iterator it("/dev", ec);
  for (; !ec && it != stdfs::recursive_directory_iterator(); it.increment(ec)) {
    const stdfs::path& path = it->path();
    const std::string name = path.filename().string();
    if (it->is_directory(ec) && !it->is_symlink(ec)) {
      if (k_skipped_dirs.contains(name)) {
        it.disable_recursion_pending();
      }
      continue;
    }
    struct stat st {};
    if (name == "console" || ::lstat(path.c_str(), &st) != 0 ||
        !(S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))) {
      continue;
    }
    devices.push_back(device_entry(path.string(), st));
  }
  return devices;
}

// ---- resources, rlimits, sysctls ------------------------------------------------------------

json build_resources(const ContainerSpec& spec, json device_rules) {
  json resources{{"devices", std::move(device_rules)}};
  const std::int64_t memory = spec.memory.value_or(0);
  const std::int64_t swap = spec.memory_swap.value_or(0);
  if (memory < 0 || (memory > 0 && memory < k_min_memory)) {
    throw Error(fmt::format("invalid memory {}: the minimum is 6MB", memory));
  }
  if (swap != 0 && swap != -1) {
    if (memory == 0) {
      throw Error(fmt::format("invalid memory_swap {}: needs a memory limit", swap));
    }
    if (swap < memory) {
      throw Error(fmt::format("invalid memory_swap {}: below the memory limit {}", swap, memory));
    }
  }
  if (memory > 0) {
    // memory_swap is memory plus swap; Docker's default allows as much swap as memory.
    resources["memory"] = {{"limit", memory}, {"swap", swap == 0 ? 2 * memory : swap}};
  }
  json cpu = json::object();
  if (spec.cpus) {
    if (!(*spec.cpus >= 0.01) || !std::isfinite(*spec.cpus)) {
      throw Error(fmt::format("invalid cpus {}: the minimum is 0.01", *spec.cpus));
    }
    cpu["quota"] = static_cast<std::int64_t>(std::llround(*spec.cpus * k_cpu_period));
    cpu["period"] = k_cpu_period;
  }
  if (spec.cpu_shares && *spec.cpu_shares != 0) {
    if (*spec.cpu_shares < 0) {
      throw Error(fmt::format("invalid cpu_shares {}: must not be negative", *spec.cpu_shares));
    }
    // The kernel's bounds on cgroup v1, which Docker clamps to as well.
    cpu["shares"] = std::clamp<std::int64_t>(*spec.cpu_shares, 2, 262144);
  }
  if (!cpu.empty()) {
    resources["cpu"] = std::move(cpu);
  }
  if (spec.pids_limit && *spec.pids_limit > 0) {
    resources["pids"] = {{"limit", *spec.pids_limit}};
  }
  return resources;
}

struct RlimitName {
  const char* docker;
  const char* oci;
};

constexpr std::array<RlimitName, 15> k_rlimits{{
    {"core", "RLIMIT_CORE"},
    {"cpu", "RLIMIT_CPU"},
    {"data", "RLIMIT_DATA"},
    {"fsize", "RLIMIT_FSIZE"},
    {"locks", "RLIMIT_LOCKS"},
    {"memlock", "RLIMIT_MEMLOCK"},
    {"msgqueue", "RLIMIT_MSGQUEUE"},
    {"nice", "RLIMIT_NICE"},
    {"nofile", "RLIMIT_NOFILE"},
    {"nproc", "RLIMIT_NPROC"},
    {"rss", "RLIMIT_RSS"},
    {"rtprio", "RLIMIT_RTPRIO"},
    {"rttime", "RLIMIT_RTTIME"},
    {"sigpending", "RLIMIT_SIGPENDING"},
    {"stack", "RLIMIT_STACK"},
}};

/// -1 is unlimited; other negatives are refused.
std::uint64_t rlimit_value(std::int64_t value, const Ulimit& ulimit) {
  if (value == -1) {
    return k_unlimited;
  }
  if (value < 0) {
    throw Error(fmt::format("invalid ulimit {}: negative limit {}", in_quotes(ulimit.name), value));
  }
  return static_cast<std::uint64_t>(value);
}

/// Only the ulimits asked for: the rest stay the runtime's own, so that no limit above the
/// host's hard one is ever requested (setrlimit fails without SYS_RESOURCE). Asked-for ones
/// are clamped to the host's hard limits for the same reason.
json build_rlimits(const std::vector<Ulimit>& ulimits, const HostFacts& host) {
  std::vector<std::pair<std::string, json>> by_type;
  for (const Ulimit& ulimit : ulimits) {
    const auto known = std::find_if(k_rlimits.begin(), k_rlimits.end(),
                                    [&](const auto& r) { return ulimit.name == r.docker; });
    if (known == k_rlimits.end()) {
      throw Error(fmt::format("invalid ulimit {}: unknown name", in_quotes(ulimit.name)));
    }
    std::uint64_t soft = rlimit_value(ulimit.soft, ulimit);
    std::uint64_t hard = rlimit_value(ulimit.hard, ulimit);
    if (soft > hard) {
      throw Error(fmt::format("invalid ulimit {}: soft limit {} is above the hard limit {}",
                              in_quotes(ulimit.name), ulimit.soft, ulimit.hard));
    }
    const auto host_hard = host.hard_limits.find(known->docker);
    if (host_hard != host.hard_limits.end()) {
      hard = std::min(hard, host_hard->second);
      soft = std::min(soft, hard);
    }
    json rlimit{{"type", known->oci}, {"hard", hard}, {"soft", soft}};
    const auto same = std::find_if(by_type.begin(), by_type.end(),
                                   [&](const auto& entry) { return entry.first == known->oci; });
    if (same != by_type.end()) {
      same->second = std::move(rlimit);
    } else {
      by_type.emplace_back(known->oci, std::move(rlimit));
    }
  }
  json rlimits = json::array();
  for (auto& [type, rlimit] : by_type) {
    rlimits.push_back(std::move(rlimit));
  }
  return rlimits;
}

/// Docker's rule: only sysctls that a container's own namespaces isolate.
void check_sysctl(const std::string& key, bool host_network) {
  static const std::set<std::string> k_ipc{
      "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
      "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"};
  if (key.starts_with("net.")) {
    if (host_network) {
      throw Error(
          fmt::format("invalid sysctl {}: not allowed with the host network", in_quotes(key)));
    }
    return;
  }
  if (k_ipc.contains(key) || key.starts_with("fs.mqueue.")) {
    return;
  }
  throw Error(fmt::format("invalid sysctl {}: not namespaced", in_quotes(key)));
}

json build_sysctls(const ContainerSpec& spec, bool host_network) {
  json sysctls = json::object();
  if (!host_network) {
    // Docker's defaults for a container's own network namespace: ping without NET_RAW and
    // low ports without NET_BIND_SERVICE.
    sysctls["net.ipv4.ping_group_range"] = "0 2147483647";
    sysctls["net.ipv4.ip_unprivileged_port_start"] = "0";
  }
  if (!spec.domainname.empty()) {
    // There is no OCI field for the NIS domain name; this sysctl has the same effect.
    sysctls["kernel.domainname"] = spec.domainname;
  }
  for (const auto& [key, value] : spec.sysctls) {
    check_sysctl(key, host_network);
    sysctls[key] = value;
  }
  return sysctls;
}

json build_namespaces(const ContainerSpec& spec, const SpecContext& context) {
  json namespaces = json::array();
  namespaces.push_back({{"type", "mount"}});
  if (spec.network == "none" || spec.network.empty()) {
    namespaces.push_back({{"type", "network"}});
  } else if (spec.network.front() == '/') {
    namespaces.push_back({{"type", "network"}, {"path", spec.network}});
  } else if (spec.network != "host") {
    throw Error(fmt::format(
        "invalid network {}: must be \"none\", \"host\" or the path of a network namespace",
        in_quotes(spec.network)));
  }
  namespaces.push_back({{"type", "uts"}});
  namespaces.push_back({{"type", "pid"}});
  namespaces.push_back({{"type", "ipc"}});
  if (!context.cgroup_v1) {
    namespaces.push_back({{"type", "cgroup"}});  // Docker's default on cgroup v2
  }
  return namespaces;
}

std::string working_dir(const ContainerSpec& spec, const nlohmann::json& image_config) {
  if (!spec.working_dir.empty()) {
    return absolute_path(spec.working_dir, "working_dir");
  }
  if (image_config.is_object() && image_config.contains("WorkingDir") &&
      image_config["WorkingDir"].is_string()) {
    const std::string image_dir = image_config["WorkingDir"];
    if (!image_dir.empty()) {
      return absolute_path(image_dir, "image WorkingDir");
    }
  }
  return "/";
}

}  // namespace

// ---- public ---------------------------------------------------------------------------------

ProcessUser resolve_user(const std::string& user, const std::vector<std::string>& group_add,
                         const std::string& passwd, const std::string& group) {
  const std::size_t colon = user.find(':');
  const std::string user_arg = user.substr(0, colon);
  const std::string group_arg = colon == std::string::npos ? "" : user.substr(colon + 1);
  const std::string what = "user " + in_quotes(user);
  const auto uid_arg = numeric_id(user_arg, what);

  ProcessUser result;
  const PasswdEntry* matched = nullptr;
  const auto entries = parse_passwd(passwd);
  for (const PasswdEntry& entry : entries) {
    // An empty user is root: the entry with uid 0, if the image has one.
    const bool match = user_arg.empty()
                           ? entry.uid == 0
                           : (entry.name == user_arg || (uid_arg && entry.uid == *uid_arg));
    if (match) {
      matched = &entry;
      break;
    }
  }
  if (matched) {
    result.uid = static_cast<std::uint32_t>(matched->uid);
    result.gid = static_cast<std::uint32_t>(matched->gid);
  } else if (uid_arg) {
    result.uid = static_cast<std::uint32_t>(*uid_arg);
  } else if (!user_arg.empty()) {
    throw Error(
        fmt::format("unable to find user {}: no matching entries in passwd file", user_arg));
  }

  const auto groups = parse_group(group);
  std::vector<std::uint32_t> gids;
  if (!group_arg.empty()) {
    result.gid = lookup_group(group_arg, groups, what);
  } else if (matched) {
    // Without an explicit group, the groups listing the user as a member are supplementary.
    for (const GroupEntry& entry : groups) {
      if (contains(entry.members, matched->name)) {
        gids.push_back(static_cast<std::uint32_t>(entry.gid));
      }
    }
  }
  for (const std::string& name : group_add) {
    gids.push_back(lookup_group(name, groups, "group_add " + in_quotes(name)));
  }
  for (std::uint32_t gid : gids) {
    if (std::find(result.additional_gids.begin(), result.additional_gids.end(), gid) ==
        result.additional_gids.end()) {
      result.additional_gids.push_back(gid);
    }
  }
  return result;
}

std::vector<std::string> container_capabilities(const ContainerSpec& spec,
                                                std::uint64_t bounding_caps) {
  std::vector<std::string> adds;
  std::vector<std::string> drops;
  for (const std::string& name : spec.cap_add) {
    adds.push_back(normalise_capability(name, "cap_add"));
  }
  for (const std::string& name : spec.cap_drop) {
    drops.push_back(normalise_capability(name, "cap_drop"));
  }
  if (spec.privileged) {
    return host_capabilities(bounding_caps);
  }
  // A capability the host itself lacks cannot be granted: capset() would fail.
  for (std::size_t i = 0; i < adds.size(); ++i) {
    if (adds[i] != "ALL" && !host_has(bounding_caps, adds[i])) {
      throw Error(fmt::format("invalid cap_add {}: this host's bounding set lacks {}",
                              in_quotes(spec.cap_add[i]), adds[i]));
    }
  }

  std::vector<std::string> caps;
  if (contains(adds, "ALL")) {
    for (const std::string& cap : host_capabilities(bounding_caps)) {
      if (!contains(drops, cap)) {
        caps.push_back(cap);
      }
    }
  } else if (contains(drops, "ALL")) {
    for (const std::string& cap : adds) {
      append_unique(caps, cap);
    }
  } else {
    for (const char* cap : k_default_capabilities) {
      if (!contains(drops, cap) && host_has(bounding_caps, cap)) {
        caps.emplace_back(cap);
      }
    }
    for (const std::string& cap : adds) {
      append_unique(caps, cap);
    }
  }
  return caps;
}

nlohmann::json seccomp_from_profile(const std::string& profile,
                                    const std::vector<std::string>& capabilities,
                                    const std::string& kernel_release) {
  json config;
  try {
    config = json::parse(profile);
  } catch (const json::exception& e) {
    throw Error(fmt::format("invalid seccomp profile: {}", e.what()));
  }
  if (!config.is_object()) {
    throw Error("invalid seccomp profile: not a JSON object");
  }
  const std::string default_action = config.value("defaultAction", "");
  if (default_action.empty() && (!config.contains("syscalls") || config["syscalls"].empty())) {
    return nullptr;  // Docker's reading: nothing asked, no filter
  }
  if (default_action.empty()) {
    throw Error("invalid seccomp profile: no defaultAction");
  }
  const bool has_architectures = config.contains("architectures") &&
                                 config["architectures"].is_array() &&
                                 !config["architectures"].empty();
  const bool has_arch_map =
      config.contains("archMap") && config["archMap"].is_array() && !config["archMap"].empty();
  if (has_architectures && has_arch_map) {
    throw Error("invalid seccomp profile: both architectures and archMap are given");
  }

  json result{{"defaultAction", default_action}};
  if (config.contains("defaultErrnoRet") && config["defaultErrnoRet"].is_number_unsigned()) {
    result["defaultErrnoRet"] = config["defaultErrnoRet"];
  }
  json architectures = json::array();
  if (has_architectures) {
    architectures = config["architectures"];
  } else if (has_arch_map) {
    for (const auto& entry : config["archMap"]) {
      if (entry.value("architecture", "") == k_native_scmp_arch) {
        architectures.push_back(entry["architecture"]);
        for (const std::string& sub : string_list(entry, "subArchitectures")) {
          architectures.push_back(sub);
        }
      }
    }
  }
  if (!architectures.empty()) {
    result["architectures"] = std::move(architectures);
  }
  for (const char* key : {"flags", "listenerPath", "listenerMetadata"}) {
    if (config.contains(key) && !config[key].is_null()) {
      result[key] = config[key];
    }
  }

  json syscalls = json::array();
  if (config.contains("syscalls") && config["syscalls"].is_array()) {
    for (const auto& rule : config["syscalls"]) {
      if (!rule.is_object()) {
        throw Error("invalid seccomp profile: a syscalls entry is not an object");
      }
      std::vector<std::string> names = string_list(rule, "names");
      if (rule.contains("name") && rule["name"].is_string()) {
        if (!names.empty()) {
          throw Error("invalid seccomp profile: an entry has both name and names");
        }
        names.push_back(rule["name"].get<std::string>());
      }
      if (names.empty() || !rule_applies(rule, capabilities, kernel_release)) {
        continue;
      }
      json call{{"names", names}, {"action", rule.value("action", "")}};
      if (rule.contains("errnoRet") && rule["errnoRet"].is_number_unsigned()) {
        call["errnoRet"] = rule["errnoRet"];
      }
      if (rule.contains("args") && rule["args"].is_array() && !rule["args"].empty()) {
        call["args"] = rule["args"];
      }
      syscalls.push_back(std::move(call));
    }
  }
  result["syscalls"] = std::move(syscalls);
  return result;
}

nlohmann::json build_oci_spec(const ContainerSpec& spec, const nlohmann::json& image_config,
                              const SpecContext& context) {
  const SecurityOptions security = parse_security_options(spec.security_opt);
  const bool host_network = spec.network == "host";
  const std::string hostname =
      !spec.hostname.empty() ? spec.hostname : context.container_id.substr(0, 12);

  std::vector<std::string> args = command_line(spec.entrypoint, spec.command, image_config);
  if (spec.init) {
    if (context.init_path.empty()) {
      throw Error(fmt::format("init requested but no init binary: install catatonit ({})",
                              k_host_init_path));
    }
    args.insert(args.begin(), {k_container_init_path, "--"});
  }

  std::string user = spec.user;
  if (user.empty() && image_config.is_object() && image_config.contains("User") &&
      image_config["User"].is_string()) {
    user = image_config["User"];
  }
  const ProcessUser process_user =
      resolve_user(user, spec.group_add, context.image_passwd, context.image_group);
  json user_json{{"uid", process_user.uid}, {"gid", process_user.gid}};
  if (!process_user.additional_gids.empty()) {
    user_json["additionalGids"] = process_user.additional_gids;
  }

  const std::vector<std::string> caps = container_capabilities(spec, context.host.bounding_caps);
  json process{
      {"terminal", spec.tty},
      {"user", std::move(user_json)},
      {"args", args},
      {"env", container_environment(spec, image_config, hostname)},
      {"cwd", working_dir(spec, image_config)},
      {"capabilities", {{"bounding", caps}, {"effective", caps}, {"permitted", caps}}},
      {"noNewPrivileges", spec.no_new_privileges || security.no_new_privileges},
  };
  json rlimits = build_rlimits(spec.ulimits, context.host);
  if (!rlimits.empty()) {
    process["rlimits"] = std::move(rlimits);
  }

  json linux_section{
      {"namespaces", build_namespaces(spec, context)},
      {"sysctl", build_sysctls(spec, host_network)},
      {"cgroupsPath", context.cgroups_path},
  };

  json devices = json::array();
  json device_rules = default_device_rules();
  if (spec.privileged) {
    for (json& device : host_devices()) {
      devices.push_back(std::move(device));
    }
    device_rules = json::array({device_rule(true, "rwm")});
  }
  for (const DeviceSpec& device : spec.devices) {
    const std::string& access = device.permissions.empty() ? "rwm" : device.permissions;
    if (access.find_first_not_of("rwm") != std::string::npos) {
      throw Error(
          fmt::format("invalid device {}: permissions {} are not a combination of r, w "
                      "and m",
                      in_quotes(device.host_path), in_quotes(access)));
    }
    const DeviceNode node = stat_device(device);
    if (spec.privileged && node.container_path == device.host_path) {
      continue;  // the whole of the host's /dev is there already
    }
    devices.push_back(device_entry(node.container_path, node.st));
    if (!spec.privileged) {
      device_rules.push_back(device_rule(true, access, S_ISCHR(node.st.st_mode) ? "c" : "b",
                                         major(node.st.st_rdev), minor(node.st.st_rdev)));
    }
  }
  if (!devices.empty()) {
    linux_section["devices"] = std::move(devices);
  }
  linux_section["resources"] = build_resources(spec, std::move(device_rules));

  if (!spec.privileged && !security.system_paths_unconfined) {
    linux_section["maskedPaths"] = json::array({
        "/proc/asound",
        "/proc/acpi",
        "/proc/interrupts",
        "/proc/kcore",
        "/proc/keys",
        "/proc/latency_stats",
        "/proc/timer_list",
        "/proc/timer_stats",
        "/proc/sched_debug",
        "/proc/scsi",
        "/sys/firmware",
        "/sys/devices/virtual/powercap",
    });
    linux_section["readonlyPaths"] =
        json::array({"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"});
  }

  if (!spec.privileged && !security.seccomp_unconfined) {
    const std::string profile = security.seccomp_profile_path.empty()
                                    ? context.seccomp_profile
                                    : fs::read_file(security.seccomp_profile_path);
    if (!profile.empty()) {
      json seccomp = seccomp_from_profile(profile, caps, context.host.kernel_release);
      if (!seccomp.is_null()) {
        linux_section["seccomp"] = std::move(seccomp);
      }
    }
  }

  json oci{
      {"ociVersion", "1.0.2"},
      {"process", std::move(process)},
      {"root", {{"path", absolute_path(context.rootfs, "rootfs")}, {"readonly", spec.read_only}}},
      {"hostname", hostname},
      {"mounts", build_mounts(spec, context, spec.privileged)},
      {"linux", std::move(linux_section)},
  };
  return oci;
}

HostFacts read_host_facts() {
  HostFacts facts;
  const std::string status = fs::read_file("/proc/self/status");
  const std::size_t at = status.find("\nCapBnd:");
  if (at != std::string::npos) {
    std::string_view value(status);
    value.remove_prefix(at + 8);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
      value.remove_prefix(1);
    }
    std::uint64_t caps = 0;
    const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), caps, 16);
    if (ec == std::errc() && ptr != value.data()) {
      facts.bounding_caps = caps;
    }
  }
  static const std::array<std::pair<const char*, int>, 15> k_resources{{
      {"core", RLIMIT_CORE},
      {"cpu", RLIMIT_CPU},
      {"data", RLIMIT_DATA},
      {"fsize", RLIMIT_FSIZE},
      {"locks", RLIMIT_LOCKS},
      {"memlock", RLIMIT_MEMLOCK},
      {"msgqueue", RLIMIT_MSGQUEUE},
      {"nice", RLIMIT_NICE},
      {"nofile", RLIMIT_NOFILE},
      {"nproc", RLIMIT_NPROC},
      {"rss", RLIMIT_RSS},
      {"rtprio", RLIMIT_RTPRIO},
      {"rttime", RLIMIT_RTTIME},
      {"sigpending", RLIMIT_SIGPENDING},
      {"stack", RLIMIT_STACK},
  }};
  for (const auto& [name, resource] : k_resources) {
    struct rlimit limit {};
    if (::getrlimit(resource, &limit) == 0 && limit.rlim_max != RLIM_INFINITY) {
      facts.hard_limits[name] = limit.rlim_max;
    }
  }
  struct utsname uts {};
  if (::uname(&uts) == 0) {
    facts.kernel_release = uts.release;
  }
  return facts;
}

}  // namespace berth::runtime
