// The OCI runtime spec (a bundle's config.json) for one container, as Docker would write it
// (moby's oci/defaults.go and daemon/oci_linux.go), within what crun and runc accept on
// berth's hosts (docs: RUNTIME-FACTS.md).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/container_spec.h"

namespace berth::runtime {

/// Where berth finds the seccomp profile it applies by default (Debian's
/// golang-github-containers-common package; Docker's profile format).
inline constexpr const char* k_seccomp_profile_path = "/usr/share/containers/seccomp.json";
/// The init berth runs as PID 1 for `--init` (Debian's catatonit package).
inline constexpr const char* k_host_init_path = "/usr/bin/catatonit";
/// Where the init appears in the container (Docker's path for its docker-init).
inline constexpr const char* k_container_init_path = "/sbin/docker-init";

/// What the spec builder needs to know of the host; read_host_facts() reads it.
struct HostFacts {
  /// The bounding capability set berth itself runs with (CapBnd in /proc/self/status): bit n
  /// set means capability n. A container never asks for more (this host lacks SYS_RESOURCE).
  std::uint64_t bounding_caps = ~std::uint64_t{0};
  /// Hard resource limits by Docker's ulimit name ("nofile"); a missing name is unlimited.
  /// Container rlimits are clamped to these, since raising one needs SYS_RESOURCE.
  std::map<std::string, std::uint64_t> hard_limits;
  /// `uname -r`, for the seccomp profile's minKernel conditions; "" satisfies none.
  std::string kernel_release;
};

/// This host's facts: CapBnd, getrlimit() hard values, the kernel release.
HostFacts read_host_facts();

/// Everything build_oci_spec() needs besides the user's spec and the image config. Plain
/// values, so that the builder itself reads no files (device nodes aside).
struct SpecContext {
  std::string container_id;  // 64 hex digits; the default hostname is its first 12
  std::string rootfs;        // absolute: the mounted overlay (root.path)
  std::string cgroups_path;  // linux.cgroupsPath, "/berth/<project>/<container>"
  /// A directory holding the container's `hosts`, `hostname` and `resolv.conf`, each
  /// bind-mounted onto /etc/<name> (rewrite them in place: a bind mount pins the inode).
  /// Empty: none are mounted.
  std::string etc_dir;
  std::string image_passwd;  // the image's /etc/passwd, "" when it has none
  std::string image_group;   // the image's /etc/group, "" when it has none
  /// The default seccomp profile's text (k_seccomp_profile_path); "" runs unconfined.
  std::string seccomp_profile;
  /// The host's init binary for `init: true` (k_host_init_path); "" when not installed.
  std::string init_path;
  /// v1 or hybrid cgroups (this host): no cgroup namespace; only v1 resource fields are ever
  /// written, never linux.resources.unified, which crun refuses on v1.
  bool cgroup_v1 = true;
  HostFacts host;
};

/// The process user: Docker's resolution of "name", "uid", "uid:gid", "name:group".
struct ProcessUser {
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::vector<std::uint32_t> additional_gids;
};

/// Resolves `user` (empty: root) against the image's passwd and group file contents the way
/// Docker (runc's libcontainer/user) does: a name must exist; a numeric uid need not, and
/// then its gid is 0; the groups naming the user as a member become additional gids unless a
/// group is given; `group_add` entries (names or gids) are appended. Throws berth::Error
/// "unable to find user <name>: no matching entries in passwd file" (or "group ...").
ProcessUser resolve_user(const std::string& user, const std::vector<std::string>& group_add,
                         const std::string& passwd, const std::string& group);

/// The container's capabilities ("CAP_CHOWN", ...): Docker's default 14, changed by
/// cap_add/cap_drop ("ALL" and names with or without "CAP_"), or with `privileged` every
/// capability in `bounding_caps`. Throws berth::Error naming an unknown capability, or one
/// that the host's bounding set lacks.
std::vector<std::string> container_capabilities(const ContainerSpec& spec,
                                                std::uint64_t bounding_caps);

/// Converts a seccomp profile in Docker's format (archMap, includes/excludes by caps, arches
/// and minKernel) to the OCI linux.seccomp object for this machine's architecture and the
/// container's `capabilities`. Throws berth::Error "invalid seccomp profile: <reason>".
nlohmann::json seccomp_from_profile(const std::string& profile,
                                    const std::vector<std::string>& capabilities,
                                    const std::string& kernel_release);

/// The OCI spec (config.json) for `spec`, running the image whose config's "config" object
/// is `image_config` (Env, Cmd, Entrypoint, WorkingDir, User; null or missing is fine).
/// Throws a one-line berth::Error naming the invalid field, e.g.
/// `invalid mount target "x": must be absolute`.
nlohmann::json build_oci_spec(const ContainerSpec& spec, const nlohmann::json& image_config,
                              const SpecContext& context);

}  // namespace berth::runtime
