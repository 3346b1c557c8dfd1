#include "runtime/oci_spec.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "runtime/cgroups.h"
#include "tests/support/busybox_image.h"
#include "tests/support/error_of.h"
#include "tests/support/run_berth.h"
#include "util/fs.h"

namespace berth::runtime {
namespace {

/// A mount as the tests write one: the fields in MountSpec's order, the volume ones left out.
MountSpec mount(MountSpec::Type type, std::string source, std::string target, bool read_only,
                std::vector<std::string> options = {}, std::optional<std::int64_t> size = {},
                std::optional<std::uint32_t> mode = {}) {
  MountSpec spec;
  spec.type = type;
  spec.source = std::move(source);
  spec.target = std::move(target);
  spec.read_only = read_only;
  spec.options = std::move(options);
  spec.tmpfs_size = size;
  spec.tmpfs_mode = mode;
  return spec;
}

using nlohmann::json;
using testing::error_of;
using testing::TempDir;
using Strings = std::vector<std::string>;

// This host's bounding set: everything up to CAP_CHECKPOINT_RESTORE (40) but SYS_RESOURCE (24).
constexpr std::uint64_t k_host_caps = 0x000001fffeffffffULL;

const std::string k_id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

const char* const k_passwd =
    "root:x:0:0:root:/root:/bin/sh\n"
    "# a comment\n"
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    "alice:x:1000:1000:Alice:/home/alice:/bin/sh\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";

const char* const k_group =
    "root:x:0:\n"
    "daemon:x:1:\n"
    "staff:x:50:alice,bob\n"
    "audio:x:29:alice\n"
    "alice:x:1000:\n"
    "video:x:44:\n"
    "nogroup:x:65534:\n";

SpecContext test_context() {
  SpecContext context;
  context.container_id = k_id;
  context.rootfs = "/run/berth/containers/" + k_id + "/rootfs";
  context.cgroups_path = "/berth/proj/web-1";
  context.etc_dir = "/run/berth/containers/" + k_id + "/etc";
  context.image_passwd = k_passwd;
  context.image_group = k_group;
  context.init_path = "/usr/bin/catatonit";
  context.cgroup_v1 = true;
  context.host.bounding_caps = k_host_caps;
  context.host.hard_limits = {{"nofile", 20000}};
  context.host.kernel_release = "6.18.44-fc-v769";
  return context;
}

ContainerSpec test_spec() {
  ContainerSpec spec;
  spec.name = "web-1";
  spec.image = "busybox";
  spec.command = Strings{"sh", "-c", "echo ok"};
  return spec;
}

json build(const ContainerSpec& spec, const json& image_config = json::object(),
           const SpecContext& context = test_context()) {
  return build_oci_spec(spec, image_config, context);
}

std::string build_error(const ContainerSpec& spec, const json& image_config = json::object(),
                        const SpecContext& context = test_context()) {
  return error_of([&] { build_oci_spec(spec, image_config, context); });
}

Strings destinations(const json& oci) {
  Strings result;
  for (const auto& mount : oci["mounts"]) {
    result.push_back(mount["destination"]);
  }
  return result;
}

json mount_at(const json& oci, const std::string& destination) {
  for (const auto& mount : oci["mounts"]) {
    if (mount["destination"] == destination) {
      return mount;
    }
  }
  return nullptr;
}

bool has_key(const json& object, const char* key) {
  return object.is_object() && object.contains(key);
}

// ---- the basics ---------------------------------------------------------------------------

TEST(OciSpec, Basics) {
  const json oci = build(test_spec());
  EXPECT_EQ(oci["ociVersion"], "1.0.2");
  EXPECT_EQ(oci["process"]["terminal"], false);
  EXPECT_EQ(oci["process"]["args"], json::array({"sh", "-c", "echo ok"}));
  EXPECT_EQ(oci["process"]["cwd"], "/");
  EXPECT_EQ(oci["process"]["noNewPrivileges"], false);
  EXPECT_FALSE(has_key(oci["process"], "rlimits"));
  EXPECT_EQ(oci["root"],
            json({{"path", "/run/berth/containers/" + k_id + "/rootfs"}, {"readonly", false}}));
  EXPECT_EQ(oci["hostname"], "0123456789ab");
  EXPECT_EQ(oci["linux"]["cgroupsPath"], "/berth/proj/web-1");
}

TEST(OciSpec, TtyAndReadOnlyAndHostname) {
  ContainerSpec spec = test_spec();
  spec.tty = true;
  spec.read_only = true;
  spec.hostname = "web";
  const json oci = build(spec);
  EXPECT_EQ(oci["process"]["terminal"], true);
  EXPECT_EQ(oci["root"]["readonly"], true);
  EXPECT_EQ(oci["hostname"], "web");
}

TEST(OciSpec, WorkingDirectory) {
  ContainerSpec spec = test_spec();
  EXPECT_EQ(build(spec, {{"WorkingDir", "/app"}})["process"]["cwd"], "/app");
  spec.working_dir = "/srv//data/";
  EXPECT_EQ(build(spec, {{"WorkingDir", "/app"}})["process"]["cwd"], "/srv/data");
  spec.working_dir = "srv";
  EXPECT_EQ(build_error(spec), "invalid working_dir \"srv\": must be absolute");
}

TEST(OciSpec, CommandComesFromTheImage) {
  ContainerSpec spec = test_spec();
  spec.command.reset();
  const json image{{"Entrypoint", {"/docker-entrypoint.sh"}}, {"Cmd", {"nginx", "-g", "x"}}};
  EXPECT_EQ(build(spec, image)["process"]["args"],
            json::array({"/docker-entrypoint.sh", "nginx", "-g", "x"}));
  EXPECT_EQ(build_error(spec, json::object()), "no command specified");
}

TEST(OciSpec, RelativeRootfsIsRefused) {
  SpecContext context = test_context();
  context.rootfs = "rootfs";
  EXPECT_EQ(build_error(test_spec(), json::object(), context),
            "invalid rootfs \"rootfs\": must be absolute");
}

// ---- environment --------------------------------------------------------------------------

TEST(OciSpecEnv, DefaultsWithoutImageEnv) {
  EXPECT_EQ(build(test_spec())["process"]["env"],
            json::array({"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                         "HOSTNAME=0123456789ab"}));
}

TEST(OciSpecEnv, ImageThenUserLaterWinsByKey) {
  ContainerSpec spec = test_spec();
  spec.tty = true;
  spec.env = {"B=user", "C=3", "PATH=/user/bin"};
  const json image{{"Env", {"PATH=/image/bin", "A=1", "B=image"}}};
  // Docker's order: its defaults (replaced in place), the user's, then the image's rest.
  EXPECT_EQ(build(spec, image)["process"]["env"],
            json::array(
                {"PATH=/user/bin", "HOSTNAME=0123456789ab", "TERM=xterm", "B=user", "C=3", "A=1"}));
}

TEST(OciSpecEnv, ImagePathReplacesTheDefault) {
  const json image{{"Env", {"PATH=/image/bin", "LANG=C.UTF-8"}}};
  EXPECT_EQ(build(test_spec(), image)["process"]["env"],
            json::array({"PATH=/image/bin", "HOSTNAME=0123456789ab", "LANG=C.UTF-8"}));
}

TEST(OciSpecEnv, UserMayOverrideHostnameAndTermAndUnsetAKey) {
  ContainerSpec spec = test_spec();
  spec.tty = true;
  spec.env = {"HOSTNAME=mine", "TERM=dumb", "A", "PATH"};
  const json image{{"Env", {"A=1", "B=2"}}};
  EXPECT_EQ(build(spec, image)["process"]["env"],
            json::array({"HOSTNAME=mine", "TERM=dumb", "B=2"}));
}

TEST(OciSpecEnv, EmptyNameIsRefused) {
  ContainerSpec spec = test_spec();
  spec.env = {"=x"};
  EXPECT_EQ(build_error(spec), "invalid env \"=x\": empty variable name");
}

// ---- users --------------------------------------------------------------------------------

struct UserCase {
  std::string user;
  std::uint32_t uid;
  std::uint32_t gid;
  std::vector<std::uint32_t> additional;
};

TEST(OciSpecUser, ResolutionTable) {
  const std::vector<UserCase> cases{
      {"", 0, 0, {}},
      {"root", 0, 0, {}},
      {"0", 0, 0, {}},
      {"alice", 1000, 1000, {50, 29}},  // member of staff and audio
      {"1000", 1000, 1000, {50, 29}},   // a uid in passwd counts as that user
      {"nobody", 65534, 65534, {}},
      {"1234", 1234, 0, {}},  // a uid not in passwd is fine; its gid is 0
      {"1234:5678", 1234, 5678, {}},
      {"alice:staff", 1000, 50, {}},  // an explicit group: no supplementary groups
      {"alice:44", 1000, 44, {}},
      {"1000:video", 1000, 44, {}},
      {"daemon:4321", 1, 4321, {}},
  };
  for (const UserCase& c : cases) {
    const ProcessUser user = resolve_user(c.user, {}, k_passwd, k_group);
    EXPECT_EQ(user.uid, c.uid) << c.user;
    EXPECT_EQ(user.gid, c.gid) << c.user;
    EXPECT_EQ(user.additional_gids, c.additional) << c.user;
  }
}

TEST(OciSpecUser, GroupAdd) {
  const ProcessUser user = resolve_user("alice", {"video", "777", "staff"}, k_passwd, k_group);
  EXPECT_EQ(user.additional_gids, (std::vector<std::uint32_t>{50, 29, 44, 777}));
}

TEST(OciSpecUser, Errors) {
  EXPECT_EQ(error_of([] { resolve_user("bob", {}, k_passwd, k_group); }),
            "unable to find user bob: no matching entries in passwd file");
  EXPECT_EQ(error_of([] { resolve_user("bob:staff", {}, k_passwd, k_group); }),
            "unable to find user bob: no matching entries in passwd file");
  EXPECT_EQ(error_of([] { resolve_user("alice:wheel", {}, k_passwd, k_group); }),
            "unable to find group wheel: no matching entries in group file");
  EXPECT_EQ(error_of([] { resolve_user("alice", {"wheel"}, k_passwd, k_group); }),
            "unable to find group wheel: no matching entries in group file");
  EXPECT_EQ(error_of([] { resolve_user("-1", {}, k_passwd, k_group); }),
            "invalid user \"-1\": uids and gids must be in range 0-2147483647");
  EXPECT_EQ(error_of([] { resolve_user("1:2147483648", {}, k_passwd, k_group); }),
            "invalid user \"1:2147483648\": uids and gids must be in range 0-2147483647");
}

TEST(OciSpecUser, ImageWithoutPasswdFile) {
  EXPECT_EQ(resolve_user("", {}, "", "").uid, 0U);
  const ProcessUser numeric = resolve_user("1000:1000", {}, "", "");
  EXPECT_EQ(numeric.uid, 1000U);
  EXPECT_EQ(numeric.gid, 1000U);
  EXPECT_EQ(error_of([] { resolve_user("alice", {}, "", ""); }),
            "unable to find user alice: no matching entries in passwd file");
}

TEST(OciSpecUser, SpecUserWinsOverImageUser) {
  ContainerSpec spec = test_spec();
  const json image{{"User", "nobody"}};
  EXPECT_EQ(build(spec, image)["process"]["user"], json({{"uid", 65534}, {"gid", 65534}}));
  spec.user = "alice";
  spec.group_add = {"video"};
  EXPECT_EQ(build(spec, image)["process"]["user"],
            json({{"uid", 1000}, {"gid", 1000}, {"additionalGids", {50, 29, 44}}}));
  spec.user = "mallory";
  EXPECT_EQ(build_error(spec, image),
            "unable to find user mallory: no matching entries in passwd file");
}

// ---- capabilities -------------------------------------------------------------------------

const Strings k_docker_default_caps{
    "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
    "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
    "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
    "CAP_KILL",    "CAP_AUDIT_WRITE"};

Strings caps_of(const Strings& add, const Strings& drop, bool privileged = false) {
  ContainerSpec spec = test_spec();
  spec.cap_add = add;
  spec.cap_drop = drop;
  spec.privileged = privileged;
  return container_capabilities(spec, k_host_caps);
}

TEST(OciSpecCaps, DockerDefaultsInAllThreeSets) {
  EXPECT_EQ(caps_of({}, {}), k_docker_default_caps);
  const json caps = build(test_spec())["process"]["capabilities"];
  EXPECT_EQ(caps["bounding"], k_docker_default_caps);
  EXPECT_EQ(caps["effective"], k_docker_default_caps);
  EXPECT_EQ(caps["permitted"], k_docker_default_caps);
  EXPECT_FALSE(has_key(caps, "inheritable"));
  EXPECT_FALSE(has_key(caps, "ambient"));
}

TEST(OciSpecCaps, AddAndDropWithOrWithoutPrefix) {
  const Strings caps = caps_of({"NET_ADMIN", "cap_sys_time", "CHOWN"}, {"CAP_NET_RAW", "mknod"});
  Strings expected = k_docker_default_caps;
  std::erase(expected, "CAP_NET_RAW");
  std::erase(expected, "CAP_MKNOD");
  expected.push_back("CAP_NET_ADMIN");
  expected.push_back("CAP_SYS_TIME");
  EXPECT_EQ(caps, expected);
}

TEST(OciSpecCaps, DropAllThenAdd) {
  EXPECT_EQ(caps_of({"NET_BIND_SERVICE"}, {"ALL"}), Strings{"CAP_NET_BIND_SERVICE"});
  EXPECT_EQ(caps_of({}, {"all"}), Strings{});
}

TEST(OciSpecCaps, AddAllIsEveryHostCapabilityLessTheDropped) {
  const Strings caps = caps_of({"ALL"}, {"SYS_ADMIN"});
  EXPECT_EQ(caps.size(), 39U);  // 41 known, less SYS_RESOURCE (not on this host), SYS_ADMIN
  EXPECT_EQ(std::count(caps.begin(), caps.end(), "CAP_SYS_ADMIN"), 0);
  EXPECT_EQ(std::count(caps.begin(), caps.end(), "CAP_SYS_RESOURCE"), 0);
  EXPECT_EQ(caps.front(), "CAP_CHOWN");
  EXPECT_EQ(caps.back(), "CAP_CHECKPOINT_RESTORE");
}

TEST(OciSpecCaps, PrivilegedIsTheHostBoundingSet) {
  const Strings caps = caps_of({}, {"NET_RAW"}, true);
  EXPECT_EQ(caps.size(), 40U);
  EXPECT_EQ(std::count(caps.begin(), caps.end(), "CAP_SYS_RESOURCE"), 0);
  EXPECT_EQ(std::count(caps.begin(), caps.end(), "CAP_NET_RAW"), 1);
}

TEST(OciSpecCaps, Errors) {
  EXPECT_EQ(error_of([] { caps_of({"NET_FOO"}, {}); }),
            "invalid cap_add \"NET_FOO\": unknown capability");
  EXPECT_EQ(error_of([] { caps_of({}, {"CAP_BAR"}); }),
            "invalid cap_drop \"CAP_BAR\": unknown capability");
  EXPECT_EQ(error_of([] { caps_of({"SYS_RESOURCE"}, {}); }),
            "invalid cap_add \"SYS_RESOURCE\": this host's bounding set lacks CAP_SYS_RESOURCE");
}

// ---- privileged ---------------------------------------------------------------------------

TEST(OciSpecPrivileged, NoConfinement) {
  ContainerSpec spec = test_spec();
  spec.privileged = true;
  SpecContext context = test_context();
  context.seccomp_profile = R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": []})";
  const json oci = build(spec, json::object(), context);
  EXPECT_FALSE(has_key(oci["linux"], "seccomp"));
  EXPECT_FALSE(has_key(oci["linux"], "maskedPaths"));
  EXPECT_FALSE(has_key(oci["linux"], "readonlyPaths"));
  EXPECT_EQ(mount_at(oci, "/sys")["options"], json::array({"nosuid", "noexec", "nodev"}));
  EXPECT_EQ(mount_at(oci, "/sys/fs/cgroup")["options"], json::array({"nosuid", "noexec", "nodev"}));
  EXPECT_EQ(oci["linux"]["resources"]["devices"],
            json::array({{{"allow", true}, {"access", "rwm"}}}));
  EXPECT_EQ(oci["process"]["capabilities"]["bounding"].size(), 40U);
  // The host's devices are all there, as with Docker.
  bool has_null = false;
  for (const auto& device : oci["linux"]["devices"]) {
    if (device["path"] == "/dev/null") {
      has_null = device["type"] == "c" && device["major"] == 1 && device["minor"] == 3;
    }
  }
  EXPECT_TRUE(has_null);
}

// ---- mounts -------------------------------------------------------------------------------

TEST(OciSpecMounts, DockerDefaultsInDockersOrderThenTheEtcFiles) {
  const json oci = build(test_spec());
  EXPECT_EQ(destinations(oci),
            (Strings{"/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/dev/mqueue",
                     "/dev/shm", "/etc/resolv.conf", "/etc/hostname", "/etc/hosts"}));
  EXPECT_EQ(mount_at(oci, "/proc"), json({{"destination", "/proc"},
                                          {"type", "proc"},
                                          {"source", "proc"},
                                          {"options", {"nosuid", "noexec", "nodev"}}}));
  EXPECT_EQ(mount_at(oci, "/dev/shm"),
            json({{"destination", "/dev/shm"},
                  {"type", "tmpfs"},
                  {"source", "shm"},
                  {"options", {"nosuid", "noexec", "nodev", "mode=1777", "size=67108864"}}}));
  EXPECT_EQ(mount_at(oci, "/sys")["options"], json::array({"nosuid", "noexec", "nodev", "ro"}));
  EXPECT_EQ(mount_at(oci, "/sys/fs/cgroup")["type"], "cgroup");
  EXPECT_EQ(mount_at(oci, "/etc/hosts"),
            json({{"destination", "/etc/hosts"},
                  {"type", "bind"},
                  {"source", "/run/berth/containers/" + k_id + "/etc/hosts"},
                  {"options", {"rbind", "rprivate"}}}));
}

TEST(OciSpecMounts, NoEtcDirMountsNoEtcFiles) {
  SpecContext context = test_context();
  context.etc_dir.clear();
  EXPECT_EQ(destinations(build(test_spec(), json::object(), context)).size(), 7U);
}

TEST(OciSpecMounts, ShmSize) {
  ContainerSpec spec = test_spec();
  spec.shm_size = 128 * 1024 * 1024;
  EXPECT_EQ(mount_at(build(spec), "/dev/shm")["options"].back(), "size=134217728");
  spec.shm_size = -1;
  EXPECT_EQ(build_error(spec), "invalid shm_size -1: must not be negative");
}

TEST(OciSpecMounts, UserBindsAndVolumesSortedParentsFirst) {
  ContainerSpec spec = test_spec();
  spec.mounts = {
      mount(MountSpec::Type::bind, "/srv/conf", "/data/conf", true, {}, {}, {}),
      mount(MountSpec::Type::volume, "/var/lib/berth/volumes/p_data", "/data", false, {}, {}, {}),
      mount(MountSpec::Type::bind, "/srv/x", "/x", false, {"rshared", "nosuid"}, {}, {}),
      mount(MountSpec::Type::bind, "/srv/y", "/y", false, {"bind", "ro"}, {}, {}),
  };
  const json oci = build(spec);
  const Strings all = destinations(oci);
  EXPECT_EQ(Strings(all.begin() + 7, all.end()),
            (Strings{"/data", "/x", "/y", "/data/conf", "/etc/resolv.conf", "/etc/hostname",
                     "/etc/hosts"}));
  EXPECT_EQ(mount_at(oci, "/data/conf"), json({{"destination", "/data/conf"},
                                               {"type", "bind"},
                                               {"source", "/srv/conf"},
                                               {"options", {"rbind", "ro", "rprivate"}}}));
  EXPECT_EQ(mount_at(oci, "/data")["source"], "/var/lib/berth/volumes/p_data");
  EXPECT_EQ(mount_at(oci, "/data")["options"], json::array({"rbind", "rprivate"}));
  EXPECT_EQ(mount_at(oci, "/x")["options"], json::array({"rbind", "rshared", "nosuid"}));
  EXPECT_EQ(mount_at(oci, "/y")["options"], json::array({"bind", "ro", "rprivate"}));
}

TEST(OciSpecMounts, Tmpfs) {
  ContainerSpec spec = test_spec();
  MountSpec run = mount(MountSpec::Type::tmpfs, "", "/run", false, {}, 64 * 1024 * 1024, 01777);
  MountSpec cache =
      mount(MountSpec::Type::tmpfs, "", "/cache", true, {"exec", "uid=1000"}, 1000, {});
  spec.mounts = {run, cache};
  const json oci = build(spec);
  EXPECT_EQ(
      mount_at(oci, "/run"),
      json({{"destination", "/run"},
            {"type", "tmpfs"},
            {"source", "tmpfs"},
            {"options", {"noexec", "nosuid", "nodev", "rprivate", "size=64m", "mode=1777"}}}));
  EXPECT_EQ(mount_at(oci, "/cache")["options"],
            json::array({"exec", "nosuid", "nodev", "rprivate", "uid=1000", "ro", "size=1000"}));
}

TEST(OciSpecMounts, UserMountReplacesADefaultAndTheEtcFile) {
  ContainerSpec spec = test_spec();
  spec.mounts = {mount(MountSpec::Type::tmpfs, "", "/dev/shm", false, {}, 1 << 20, {}),
                 mount(MountSpec::Type::bind, "/srv/hosts", "/etc/hosts", true, {}, {}, {})};
  const json oci = build(spec);
  const Strings all = destinations(oci);
  EXPECT_EQ(std::count(all.begin(), all.end(), "/dev/shm"), 1);
  EXPECT_EQ(std::count(all.begin(), all.end(), "/etc/hosts"), 1);
  EXPECT_EQ(mount_at(oci, "/dev/shm")["source"], "tmpfs");
  EXPECT_EQ(mount_at(oci, "/etc/hosts")["source"], "/srv/hosts");
}

TEST(OciSpecMounts, UserDevReplacesEverythingUnderDev) {
  ContainerSpec spec = test_spec();
  spec.mounts = {mount(MountSpec::Type::bind, "/dev", "/dev", false, {}, {}, {})};
  SpecContext context = test_context();
  context.etc_dir.clear();
  EXPECT_EQ(destinations(build(spec, json::object(), context)),
            (Strings{"/proc", "/sys", "/sys/fs/cgroup", "/dev"}));
}

TEST(OciSpecMounts, ReadOnlyRootMakesTheEtcFilesReadOnly) {
  ContainerSpec spec = test_spec();
  spec.read_only = true;
  const json oci = build(spec);
  EXPECT_EQ(mount_at(oci, "/etc/hosts")["options"], json::array({"rbind", "ro", "rprivate"}));
  EXPECT_EQ(mount_at(oci, "/dev/shm")["options"],
            json::array({"nosuid", "noexec", "nodev", "mode=1777", "size=67108864"}));
  EXPECT_EQ(mount_at(oci, "/sys/fs/cgroup")["options"],
            json::array({"ro", "nosuid", "noexec", "nodev"}));
}

TEST(OciSpecMounts, Errors) {
  const auto error = [](MountSpec mount) {
    ContainerSpec spec = test_spec();
    spec.mounts = {std::move(mount)};
    return build_error(spec);
  };
  EXPECT_EQ(error(mount(MountSpec::Type::bind, "/srv", "data", false, {}, {}, {})),
            "invalid mount target \"data\": must be absolute");
  EXPECT_EQ(error(mount(MountSpec::Type::bind, "srv", "/data", false, {}, {}, {})),
            "invalid mount source \"srv\": must be absolute");
  EXPECT_EQ(error(mount(MountSpec::Type::volume, "", "/data", false, {}, {}, {})),
            "invalid mount source \"\": must be absolute");
  EXPECT_EQ(error(mount(MountSpec::Type::bind, "/srv", "/", false, {}, {}, {})),
            "invalid mount target \"/\": cannot mount over the root");
  EXPECT_EQ(error(mount(MountSpec::Type::tmpfs, "", "/t", false, {}, 0, {})),
            "invalid tmpfs size 0 for \"/t\": must be positive");
  EXPECT_EQ(error(mount(MountSpec::Type::tmpfs, "", "/t", false, {}, {}, 010000)),
            "invalid tmpfs mode 10000 for \"/t\": above 7777");
  EXPECT_EQ(error(mount(MountSpec::Type::bind, "/srv", "/t", false, {}, 4096, {})),
            "invalid mount \"/t\": tmpfs size and mode need a tmpfs mount");

  ContainerSpec spec = test_spec();
  spec.mounts = {mount(MountSpec::Type::bind, "/a", "/data", false, {}, {}, {}),
                 mount(MountSpec::Type::bind, "/b", "/data/", false, {}, {}, {})};
  EXPECT_EQ(build_error(spec), "duplicate mount target \"/data\"");
}

// ---- init ---------------------------------------------------------------------------------

TEST(OciSpecInit, CatatonitRunsTheCommand) {
  ContainerSpec spec = test_spec();
  spec.init = true;
  const json oci = build(spec);
  EXPECT_EQ(oci["process"]["args"],
            json::array({"/sbin/docker-init", "--", "sh", "-c", "echo ok"}));
  EXPECT_EQ(mount_at(oci, "/sbin/docker-init"), json({{"destination", "/sbin/docker-init"},
                                                      {"type", "bind"},
                                                      {"source", "/usr/bin/catatonit"},
                                                      {"options", {"bind", "ro"}}}));
  EXPECT_EQ(destinations(oci)[7], "/sbin/docker-init");  // after the defaults, as Docker

  SpecContext context = test_context();
  context.init_path.clear();
  EXPECT_EQ(build_error(spec, json::object(), context),
            "init requested but no init binary: install catatonit (/usr/bin/catatonit)");
}

// ---- namespaces ---------------------------------------------------------------------------

Strings namespace_types(const json& oci) {
  Strings types;
  for (const auto& ns : oci["linux"]["namespaces"]) {
    types.push_back(ns["type"]);
  }
  return types;
}

TEST(OciSpecNamespaces, Network) {
  ContainerSpec spec = test_spec();
  EXPECT_EQ(namespace_types(build(spec)), (Strings{"mount", "network", "uts", "pid", "ipc"}));
  spec.network = "host";
  EXPECT_EQ(namespace_types(build(spec)), (Strings{"mount", "uts", "pid", "ipc"}));
  spec.network = "/run/berth/netns/abc";
  EXPECT_EQ(build(spec)["linux"]["namespaces"][1],
            json({{"type", "network"}, {"path", "/run/berth/netns/abc"}}));
  spec.network = "bridge";
  EXPECT_EQ(build_error(spec),
            "invalid network \"bridge\": must be \"none\", \"host\" or the "
            "path of a network namespace");
}

TEST(OciSpecNamespaces, CgroupNamespaceOnlyOnCgroupV2) {
  SpecContext context = test_context();
  context.cgroup_v1 = false;
  EXPECT_EQ(namespace_types(build(test_spec(), json::object(), context)).back(), "cgroup");
}

// ---- resources ----------------------------------------------------------------------------

TEST(OciSpecResources, CgroupV1Fields) {
  ContainerSpec spec = test_spec();
  spec.memory = 64 * 1024 * 1024;
  spec.cpus = 1.5;
  spec.cpu_shares = 512;
  spec.pids_limit = 100;
  const json resources = build(spec)["linux"]["resources"];
  EXPECT_EQ(resources["memory"], json({{"limit", 67108864}, {"swap", 134217728}}));
  EXPECT_EQ(resources["cpu"], json({{"quota", 150000}, {"period", 100000}, {"shares", 512}}));
  EXPECT_EQ(resources["pids"], json({{"limit", 100}}));
  EXPECT_FALSE(has_key(resources, "unified"));
}

TEST(OciSpecResources, NothingAskedNothingSet) {
  const json resources = build(test_spec())["linux"]["resources"];
  EXPECT_FALSE(has_key(resources, "memory"));
  EXPECT_FALSE(has_key(resources, "cpu"));
  EXPECT_FALSE(has_key(resources, "pids"));
  EXPECT_FALSE(has_key(resources, "unified"));
}

TEST(OciSpecResources, SwapAndPidsEdges) {
  ContainerSpec spec = test_spec();
  spec.memory = 32 * 1024 * 1024;
  spec.memory_swap = -1;
  spec.pids_limit = -1;
  const json resources = build(spec)["linux"]["resources"];
  EXPECT_EQ(resources["memory"]["swap"], -1);
  EXPECT_FALSE(has_key(resources, "pids"));
  spec.memory_swap = 48 * 1024 * 1024;
  EXPECT_EQ(build(spec)["linux"]["resources"]["memory"]["swap"], 50331648);
}

TEST(OciSpecResources, DefaultDeviceRules) {
  const json rules = build(test_spec())["linux"]["resources"]["devices"];
  ASSERT_EQ(rules.size(), 8U);
  EXPECT_EQ(rules[0], json({{"allow", false}, {"access", "rwm"}}));
  EXPECT_EQ(rules[2],
            json({{"allow", true}, {"access", "rwm"}, {"type", "c"}, {"major", 1}, {"minor", 3}}));
  EXPECT_EQ(
      rules[7],
      json({{"allow", false}, {"access", "rwm"}, {"type", "c"}, {"major", 10}, {"minor", 229}}));
}

TEST(OciSpecResources, Errors) {
  ContainerSpec spec = test_spec();
  spec.memory = 1000;
  EXPECT_EQ(build_error(spec), "invalid memory 1000: the minimum is 6MB");
  spec.memory.reset();
  spec.memory_swap = 100 * 1024 * 1024;
  EXPECT_EQ(build_error(spec), "invalid memory_swap 104857600: needs a memory limit");
  spec.memory = 200 * 1024 * 1024;
  EXPECT_EQ(build_error(spec), "invalid memory_swap 104857600: below the memory limit 209715200");
  spec = test_spec();
  spec.cpus = 0;
  EXPECT_EQ(build_error(spec), "invalid cpus 0: the minimum is 0.01");
}

// ---- devices ------------------------------------------------------------------------------

TEST(OciSpecDevices, HostDeviceWithItsNumbers) {
  ContainerSpec spec = test_spec();
  spec.devices = {{"/dev/null", "/dev/mynull", "rw"}, {"/dev/zero", "", ""}};
  const json oci = build(spec);
  struct stat st {};
  ASSERT_EQ(::stat("/dev/null", &st), 0);
  EXPECT_EQ(oci["linux"]["devices"][0], json({{"path", "/dev/mynull"},
                                              {"type", "c"},
                                              {"major", 1},
                                              {"minor", 3},
                                              {"fileMode", st.st_mode & 07777},
                                              // The host node's owner (not always root:
                                              // one CI host's /dev/null is 1000:1000).
                                              {"uid", st.st_uid},
                                              {"gid", st.st_gid}}));
  EXPECT_EQ(oci["linux"]["devices"][1]["path"], "/dev/zero");
  const json rules = oci["linux"]["resources"]["devices"];
  EXPECT_EQ(rules[8],
            json({{"allow", true}, {"access", "rw"}, {"type", "c"}, {"major", 1}, {"minor", 3}}));
  EXPECT_EQ(rules[9]["access"], "rwm");
}

TEST(OciSpecDevices, Errors) {
  TempDir dir;
  const std::string file = dir.write("plain", "x");
  const auto error = [](DeviceSpec device) {
    ContainerSpec spec = test_spec();
    spec.devices = {std::move(device)};
    return build_error(spec);
  };
  EXPECT_EQ(error({"/dev/berth-no-such-device", "", "rwm"}),
            "invalid device \"/dev/berth-no-such-device\": No such file or directory");
  EXPECT_EQ(error({file, "", "rwm"}), "invalid device \"" + file + "\": not a device node");
  EXPECT_EQ(error({"/dev/null", "", "rwx"}),
            "invalid device \"/dev/null\": permissions \"rwx\" are not a combination of r, w "
            "and m");
  EXPECT_EQ(error({"/dev/null", "null", "rw"}),
            "invalid device \"/dev/null\": the container path \"null\" must be absolute");
  EXPECT_EQ(error({"null", "", "rw"}), "invalid device \"null\": must be absolute");
}

// ---- rlimits ------------------------------------------------------------------------------

TEST(OciSpecRlimits, ClampedToTheHostHardLimit) {
  ContainerSpec spec = test_spec();
  spec.ulimits = {{"nofile", 1048576, 1048576}, {"nproc", 100, 200}, {"core", -1, -1}};
  EXPECT_EQ(build(spec)["process"]["rlimits"],
            json::array({{{"type", "RLIMIT_NOFILE"}, {"hard", 20000}, {"soft", 20000}},
                         {{"type", "RLIMIT_NPROC"}, {"hard", 200}, {"soft", 100}},
                         {{"type", "RLIMIT_CORE"},
                          {"hard", 18446744073709551615ULL},
                          {"soft", 18446744073709551615ULL}}}));
}

TEST(OciSpecRlimits, LaterEntryForTheSameNameWins) {
  ContainerSpec spec = test_spec();
  spec.ulimits = {{"nofile", 10, 20}, {"nofile", 30, 40}};
  EXPECT_EQ(build(spec)["process"]["rlimits"],
            json::array({{{"type", "RLIMIT_NOFILE"}, {"hard", 40}, {"soft", 30}}}));
}

TEST(OciSpecRlimits, Errors) {
  ContainerSpec spec = test_spec();
  spec.ulimits = {{"files", 1, 1}};
  EXPECT_EQ(build_error(spec), "invalid ulimit \"files\": unknown name");
  spec.ulimits = {{"nofile", 20, 10}};
  EXPECT_EQ(build_error(spec),
            "invalid ulimit \"nofile\": soft limit 20 is above the hard limit 10");
  spec.ulimits = {{"nofile", -2, 10}};
  EXPECT_EQ(build_error(spec), "invalid ulimit \"nofile\": negative limit -2");
}

// ---- sysctls ------------------------------------------------------------------------------

TEST(OciSpecSysctls, DockerDefaultsAndNamespacedOnes) {
  ContainerSpec spec = test_spec();
  spec.sysctls = {{"net.core.somaxconn", "1024"},
                  {"kernel.shmmax", "1"},
                  {"fs.mqueue.msg_max", "20"},
                  {"net.ipv4.ip_unprivileged_port_start", "1024"}};
  spec.domainname = "example.org";
  EXPECT_EQ(build(spec)["linux"]["sysctl"], json({{"net.ipv4.ping_group_range", "0 2147483647"},
                                                  {"net.ipv4.ip_unprivileged_port_start", "1024"},
                                                  {"net.core.somaxconn", "1024"},
                                                  {"kernel.shmmax", "1"},
                                                  {"fs.mqueue.msg_max", "20"},
                                                  {"kernel.domainname", "example.org"}}));
}

TEST(OciSpecSysctls, HostNetworkGetsNoNetworkSysctls) {
  ContainerSpec spec = test_spec();
  spec.network = "host";
  EXPECT_EQ(build(spec)["linux"]["sysctl"], json::object());
  spec.sysctls = {{"net.core.somaxconn", "1024"}};
  EXPECT_EQ(build_error(spec),
            "invalid sysctl \"net.core.somaxconn\": not allowed with the host network");
}

TEST(OciSpecSysctls, NotNamespaced) {
  ContainerSpec spec = test_spec();
  spec.sysctls = {{"kernel.foo", "1"}};
  EXPECT_EQ(build_error(spec), "invalid sysctl \"kernel.foo\": not namespaced");
  spec.sysctls = {{"vm.swappiness", "1"}};
  EXPECT_EQ(build_error(spec), "invalid sysctl \"vm.swappiness\": not namespaced");
}

// ---- security options, masked paths -------------------------------------------------------

TEST(OciSpecSecurity, MaskedAndReadonlyPathsAsDocker) {
  const json oci = build(test_spec());
  EXPECT_EQ(oci["linux"]["maskedPaths"],
            json::array({"/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore",
                         "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
                         "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
                         "/sys/devices/virtual/powercap"}));
  EXPECT_EQ(oci["linux"]["readonlyPaths"], json::array({"/proc/bus", "/proc/fs", "/proc/irq",
                                                        "/proc/sys", "/proc/sysrq-trigger"}));
  ContainerSpec spec = test_spec();
  spec.security_opt = {"systempaths=unconfined"};
  EXPECT_FALSE(has_key(build(spec)["linux"], "maskedPaths"));
}

TEST(OciSpecSecurity, NoNewPrivileges) {
  ContainerSpec spec = test_spec();
  spec.no_new_privileges = true;
  EXPECT_EQ(build(spec)["process"]["noNewPrivileges"], true);
  spec.no_new_privileges = false;
  for (const char* option :
       {"no-new-privileges", "no-new-privileges:true", "no-new-privileges=true"}) {
    spec.security_opt = {option};
    EXPECT_EQ(build(spec)["process"]["noNewPrivileges"], true) << option;
  }
  spec.security_opt = {"no-new-privileges=false"};
  EXPECT_EQ(build(spec)["process"]["noNewPrivileges"], false);
}

TEST(OciSpecSecurity, Errors) {
  ContainerSpec spec = test_spec();
  spec.security_opt = {"no-new-privileges=maybe"};
  EXPECT_EQ(build_error(spec),
            "invalid security_opt \"no-new-privileges=maybe\": expected true or false");
  spec.security_opt = {"seccomp=profile.json"};
  EXPECT_EQ(build_error(spec),
            "invalid security_opt \"seccomp=profile.json\": expected "
            "unconfined or an absolute profile path");
  spec.security_opt = {"foo=bar"};
  EXPECT_EQ(build_error(spec), "invalid security_opt \"foo=bar\": unknown option");
}

// ---- seccomp ------------------------------------------------------------------------------

/// The rules naming `syscall`.
std::vector<json> rules_for(const json& seccomp, const std::string& syscall) {
  std::vector<json> rules;
  for (const auto& rule : seccomp["syscalls"]) {
    const auto& names = rule["names"];
    if (std::find(names.begin(), names.end(), syscall) != names.end()) {
      rules.push_back(rule);
    }
  }
  return rules;
}

class OciSpecSeccomp : public ::testing::Test {
 protected:
  void SetUp() override {
    auto profile = fs::read_file_if_exists(k_seccomp_profile_path);
    if (!profile) {
      GTEST_SKIP() << k_seccomp_profile_path << " is missing (golang-github-containers-common)";
    }
    m_context.seccomp_profile = std::move(*profile);
  }

  json seccomp_of(const ContainerSpec& spec) {
    const json oci = build(spec, json::object(), m_context);
    return oci["linux"].value("seccomp", json());
  }

  SpecContext m_context = test_context();
};

TEST_F(OciSpecSeccomp, DefaultProfileConverted) {
  const json seccomp = seccomp_of(test_spec());
  ASSERT_TRUE(seccomp.is_object());
  EXPECT_EQ(seccomp["defaultAction"], "SCMP_ACT_ERRNO");
  EXPECT_EQ(seccomp["defaultErrnoRet"], 38);  // ENOSYS
  EXPECT_EQ(seccomp["architectures"],
            json::array({"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}));
  for (const auto& rule : seccomp["syscalls"]) {
    for (const char* docker_only : {"includes", "excludes", "comment", "errno"}) {
      EXPECT_FALSE(rule.contains(docker_only)) << rule.dump();
    }
  }
  // ptrace itself is allowed by this profile; kcmp is what needs CAP_SYS_PTRACE.
  ASSERT_EQ(rules_for(seccomp, "ptrace").size(), 1U);
  EXPECT_EQ(rules_for(seccomp, "ptrace")[0]["action"], "SCMP_ACT_ALLOW");
  const auto kcmp = rules_for(seccomp, "kcmp");
  ASSERT_EQ(kcmp.size(), 1U);
  EXPECT_EQ(kcmp[0]["action"], "SCMP_ACT_ERRNO");
  EXPECT_EQ(kcmp[0]["errnoRet"], 1);  // EPERM
  // Arch-specific rules: amd64's are in, s390's are out.
  EXPECT_EQ(rules_for(seccomp, "arch_prctl").size(), 1U);
  EXPECT_TRUE(rules_for(seccomp, "s390_runtime_instr").empty());
  // With AUDIT_WRITE (a default), socket() is allowed outright.
  ASSERT_EQ(rules_for(seccomp, "socket").size(), 1U);
  EXPECT_FALSE(rules_for(seccomp, "socket")[0].contains("args"));
}

TEST_F(OciSpecSeccomp, ArgumentConditionsSurvive) {
  // Without AUDIT_WRITE, netlink audit sockets fail with EINVAL: rules on the arguments.
  ContainerSpec spec = test_spec();
  spec.cap_drop = {"AUDIT_WRITE"};
  const auto socket = rules_for(seccomp_of(spec), "socket");
  ASSERT_EQ(socket.size(), 4U);
  EXPECT_EQ(socket[0],
            json({{"names", {"socket"}},
                  {"action", "SCMP_ACT_ERRNO"},
                  {"errnoRet", 22},
                  {"args",
                   {{{"index", 0}, {"value", 16}, {"valueTwo", 0}, {"op", "SCMP_CMP_EQ"}},
                    {{"index", 2}, {"value", 9}, {"valueTwo", 0}, {"op", "SCMP_CMP_EQ"}}}}}));
}

TEST_F(OciSpecSeccomp, CapabilityConditionsFollowTheContainersCaps) {
  ContainerSpec spec = test_spec();
  spec.cap_add = {"SYS_PTRACE"};
  const auto kcmp = rules_for(seccomp_of(spec), "kcmp");
  ASSERT_EQ(kcmp.size(), 1U);
  EXPECT_EQ(kcmp[0]["action"], "SCMP_ACT_ALLOW");
  spec.cap_add.clear();
  spec.cap_drop = {"SYS_CHROOT"};
  const auto chroot = rules_for(seccomp_of(spec), "chroot");
  ASSERT_EQ(chroot.size(), 1U);
  EXPECT_EQ(chroot[0]["action"], "SCMP_ACT_ERRNO");
}

TEST_F(OciSpecSeccomp, UnconfinedAndMissingProfile) {
  ContainerSpec spec = test_spec();
  spec.security_opt = {"seccomp=unconfined"};
  EXPECT_TRUE(seccomp_of(spec).is_null());
  spec.security_opt.clear();
  m_context.seccomp_profile.clear();
  EXPECT_TRUE(seccomp_of(spec).is_null());
}

TEST_F(OciSpecSeccomp, ProfileFromSecurityOpt) {
  TempDir dir;
  const std::string path =
      dir.write("p.json", R"({"defaultAction": "SCMP_ACT_LOG", "syscalls": []})");
  ContainerSpec spec = test_spec();
  spec.security_opt = {"seccomp=" + path};
  EXPECT_EQ(seccomp_of(spec),
            json({{"defaultAction", "SCMP_ACT_LOG"}, {"syscalls", json::array()}}));
}

TEST(OciSpecSeccompConversion, KernelNameAndArchConditions) {
  const std::string profile = R"({
    "defaultAction": "SCMP_ACT_ERRNO",
    "architectures": ["SCMP_ARCH_X86_64"],
    "flags": ["SECCOMP_FILTER_FLAG_LOG"],
    "syscalls": [
      {"name": "old", "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8"}},
      {"names": ["future"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "7.1"}},
      {"names": ["legacy"], "action": "SCMP_ACT_ALLOW", "excludes": {"minKernel": "5.0"}},
      {"names": ["notamd"], "action": "SCMP_ACT_ALLOW", "excludes": {"arches": ["amd64"]}},
      {"names": ["both"], "action": "SCMP_ACT_ALLOW",
       "includes": {"caps": ["CAP_KILL", "CAP_SYS_ADMIN"]}}
    ]})";
  const json seccomp = seccomp_from_profile(profile, {"CAP_KILL"}, "6.18.44-fc-v769");
  EXPECT_EQ(seccomp, json({{"defaultAction", "SCMP_ACT_ERRNO"},
                           {"architectures", {"SCMP_ARCH_X86_64"}},
                           {"flags", {"SECCOMP_FILTER_FLAG_LOG"}},
                           {"syscalls", {{{"names", {"old"}}, {"action", "SCMP_ACT_ALLOW"}}}}}));
}

TEST(OciSpecSeccompConversion, Errors) {
  EXPECT_EQ(
      error_of([] { seccomp_from_profile("{", {}, ""); }).rfind("invalid seccomp profile: ", 0),
      0U);
  EXPECT_EQ(error_of([] {
              seccomp_from_profile(R"({"defaultAction": "SCMP_ACT_ERRNO",
                 "architectures": ["SCMP_ARCH_X86_64"],
                 "archMap": [{"architecture": "SCMP_ARCH_X86_64"}]})",
                                   {}, "");
            }),
            "invalid seccomp profile: both architectures and archMap are given");
  EXPECT_EQ(error_of([] {
              seccomp_from_profile(R"({"defaultAction": "SCMP_ACT_ERRNO",
                 "syscalls": [{"name": "a", "names": ["b"], "action": "SCMP_ACT_ALLOW"}]})",
                                   {}, "");
            }),
            "invalid seccomp profile: an entry has both name and names");
  EXPECT_TRUE(seccomp_from_profile("{}", {}, "").is_null());
}

// ---- host facts ---------------------------------------------------------------------------

TEST(OciSpecHostFacts, ReadsThisHost) {
  const HostFacts facts = read_host_facts();
  EXPECT_NE(facts.bounding_caps, 0U);
  EXPECT_FALSE(facts.kernel_release.empty());
  struct rlimit limit {};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
  if (limit.rlim_max != RLIM_INFINITY) {
    EXPECT_EQ(facts.hard_limits.at("nofile"), limit.rlim_max);
  }
}

// ---- end to end: the spec runs under real crun --------------------------------------------

std::string random_hex(std::size_t digits) {
  static std::mt19937_64 engine{std::random_device{}()};
  std::string text;
  while (text.size() < digits) {
    text += fmt::format("{:016x}", engine());
  }
  return text.substr(0, digits);
}

struct CrunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

/// A busybox bundle run by crun with berth's spec; deletes the container and its cgroup on
/// the way out, whatever happened.
class OciSpecCrun : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) {
      GTEST_SKIP() << "running crun needs root";
    }
    if (::access("/usr/bin/crun", X_OK) != 0) {
      GTEST_SKIP() << "crun is not installed";
    }
    if (!berth::testing::have_static_busybox()) {
      GTEST_SKIP() << "busybox-static is not installed";
    }
    if (const auto blocker = crun_blocker()) {
      GTEST_SKIP() << *blocker;
    }
    const std::string tar = m_dir.path() + "/rootfs.tar";
    berth::testing::make_busybox_rootfs_tar(tar);
    std::filesystem::create_directories(rootfs());
    ASSERT_EQ(std::system(("tar -xf '" + tar + "' -C '" + rootfs() + "'").c_str()), 0);
    m_dir.write("etc/hosts", "127.0.0.1 localhost\n");
    m_dir.write("etc/hostname", "box\n");
    m_dir.write("etc/resolv.conf", "nameserver 127.0.0.1\n");
    std::filesystem::create_directories(m_dir.path() + "/bundle");

    m_id = random_hex(64);
    m_context.container_id = m_id;
    m_context.rootfs = rootfs();
    m_context.cgroups_path = "/berth-test-" + random_hex(16);
    m_context.etc_dir = m_dir.path() + "/etc";
    m_context.image_passwd = fs::read_file(rootfs() + "/etc/passwd");
    m_context.image_group = fs::read_file(rootfs() + "/etc/group");
    m_context.seccomp_profile = fs::read_file_if_exists(k_seccomp_profile_path).value_or("");
    m_context.init_path = ::access(k_host_init_path, X_OK) == 0 ? k_host_init_path : "";
    m_context.cgroup_v1 = cgroup_v1_host();
    m_context.host = read_host_facts();
    m_started = true;
  }

  void TearDown() override {
    if (!m_started) {
      return;
    }
    std::system(fmt::format("{} delete -f {} >/dev/null 2>&1", crun(), m_id).c_str());
    try {
      remove_cgroup(m_context.cgroups_path);
    } catch (const Error& e) {
      ADD_FAILURE() << e.what();
    }
    EXPECT_TRUE(cgroup_dirs(m_context.cgroups_path).empty());
  }

  std::string rootfs() const { return m_dir.path() + "/rootfs"; }
  std::string crun() const {
    return fmt::format("timeout 60 crun --root '{}/crun' --cgroup-manager=cgroupfs", m_dir.path());
  }

  CrunResult run(const ContainerSpec& spec) {
    const json oci = build_oci_spec(spec, json::object(), m_context);
    std::ofstream(m_dir.path() + "/bundle/config.json") << oci.dump(2);
    const std::string out = m_dir.path() + "/out";
    const std::string err = m_dir.path() + "/err";
    const int status =
        std::system(fmt::format("{} run --bundle '{}/bundle' {} </dev/null >'{}' 2>'{}'", crun(),
                                m_dir.path(), m_id, out, err)
                        .c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, fs::read_file(out), fs::read_file(err)};
  }

  static ContainerSpec shell(const std::string& script) {
    ContainerSpec spec;
    spec.command = Strings{"sh", "-c", script};
    return spec;
  }

  TempDir m_dir;
  std::string m_id;
  SpecContext m_context;
  bool m_started = false;
};

TEST_F(OciSpecCrun, RunsAsRoot) {
  const CrunResult result = run(shell("echo ok; id -u"));
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "ok\n0\n");
}

TEST_F(OciSpecCrun, RunsAsAnotherUser) {
  ContainerSpec spec = shell("echo ok; id -u; id -g");
  spec.user = "1000:1000";
  const CrunResult result = run(spec);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "ok\n1000\n1000\n");
}

TEST_F(OciSpecCrun, HostnameEnvAndExitCode) {
  ContainerSpec spec = shell("hostname; echo \"$HOSTNAME $FOO\"; exit 7");
  spec.env = {"FOO=bar"};
  const CrunResult result = run(spec);
  EXPECT_EQ(result.exit_code, 7) << result.err;
  EXPECT_EQ(result.out, m_id.substr(0, 12) + "\n" + m_id.substr(0, 12) + " bar\n");
}

TEST_F(OciSpecCrun, UlimitIsClampedToTheHostHardLimit) {
  ContainerSpec spec = shell("ulimit -n");
  spec.ulimits = {{"nofile", 1048576, 1048576}};
  const auto host_hard = m_context.host.hard_limits.find("nofile");
  const std::string expected =
      host_hard == m_context.host.hard_limits.end()
          ? "1048576"
          : std::to_string(std::min<std::uint64_t>(host_hard->second, 1048576));
  const CrunResult result = run(spec);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, expected + "\n");
}

TEST_F(OciSpecCrun, LimitsMountsAndInit) {
  if (m_context.init_path.empty()) {
    GTEST_SKIP() << "catatonit is not installed";
  }
  ContainerSpec spec = shell(
      "echo $$; cat /etc/hosts; echo x > /tmp/w/f && cat /tmp/w/f; "
      "cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/memory/memory.limit_in_bytes "
      "/sys/fs/cgroup/cpu/cpu.cfs_quota_us; touch /ro 2>/dev/null || echo read-only");
  spec.init = true;
  spec.memory = 64 * 1024 * 1024;
  spec.pids_limit = 50;
  spec.cpus = 0.5;
  spec.read_only = true;
  spec.mounts = {mount(MountSpec::Type::tmpfs, "", "/tmp/w", false, {}, 1 << 20, 0755)};
  const CrunResult result = run(spec);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  // Under the init, the shell is PID 2; the v1 limits are the cgroup's.
  EXPECT_EQ(result.out, "2\n127.0.0.1 localhost\nx\n50\n67108864\n50000\nread-only\n");
}

TEST_F(OciSpecCrun, PrivilegedWithAHostDevice) {
  ContainerSpec spec = shell("echo x > /dev/mynull && echo wrote; ls /dev/zero");
  spec.privileged = true;
  spec.devices = {{"/dev/null", "/dev/mynull", "rwm"}};
  const CrunResult result = run(spec);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "wrote\n/dev/zero\n");
}

TEST_F(OciSpecCrun, DeviceWithoutWriteAccessIsRefusedByTheCgroup) {
  // loop-control is in no default allow list (Docker's, or the OCI default devices the
  // runtime adds); "r" gives no write access. Writing to it does nothing even if allowed.
  if (::access("/dev/loop-control", F_OK) != 0) {
    GTEST_SKIP() << "this host has no /dev/loop-control";
  }
  ContainerSpec spec = shell("(echo x > /dev/lc) 2>&1; ls /dev/lc");
  spec.devices = {{"/dev/loop-control", "/dev/lc", "r"}};
  const CrunResult result = run(spec);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "sh: can't create /dev/lc: Operation not permitted\n/dev/lc\n");
}

}  // namespace
}  // namespace berth::runtime
