#include "orchestrator/containers/copy_view.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <thread>

#include <fmt/format.h>

#include "orchestrator/containers/copy_paths.h"
#include "orchestrator/containers/copy_unpack.h"
#include "orchestrator/containers/volumes.h"
#include "runtime/rootfs.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/safe_open.h"
#include "volume/local_mount.h"

namespace berth::containers {

namespace {

using runtime::MountSpec;

[[noreturn]] void fail(const std::string& what) {
  throw Error(fmt::format("{}: {}", what, std::strerror(errno)));
}

/// Whether something is mounted at `path` (in this thread's namespace, which
/// /proc/self/mountinfo, the main thread's, would not show).
bool is_mount_root(const std::string& path) {
  struct statx stx {};
  if (::statx(AT_FDCWD, path.c_str(), AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) != 0) {
    return false;
  }
  return (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) != 0 &&
         (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
}

/// What the mount shows: the bind's source, or the volume's directory (its driver options'
/// mount made first, in this namespace alone) or subpath. Invalid when it is gone (a bind
/// source that a never-started container would have made).
Fd mount_source(const volume::VolumeStore& volumes, const MountSpec& mount) {
  if (mount.type == MountSpec::Type::bind) {
    return Fd(::open(mount.source.c_str(), O_PATH | O_CLOEXEC));
  }
  const auto found = volumes.find(mount.source);
  if (!found) return Fd();
  const std::string data = volumes.data_path(found->name);
  if (const auto local = volume::local_mount_of(found->options)) {
    volume::mount_local(found->name, *local, data);
  }
  Fd data_fd(::open(data.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!data_fd || mount.subpath.empty()) return data_fd;
  // As at start (volume/subpath.h): nothing in the volume may lead the path out of it.
  return open_beneath(data_fd.get(), mount.subpath, O_PATH);
}

/// The mount's target in the container, made (a directory, or an empty file for a file
/// source) when missing, as the runtime would make it at start.
Fd mount_target(int root, const std::string& target, bool directory) {
  Fd found = open_in_root(root, target, O_PATH);
  if (found || errno != ENOENT) return found;
  const auto [parent, base] = split_dir_entry(target);
  const DirectoryOpener in_root = [&](const std::string& relative) {
    return open_in_root(root, "/" + relative, O_PATH | O_DIRECTORY);
  };
  const Fd dir = open_making_directories(in_root, clean_path(parent).substr(1), "");
  const int made = directory ? ::mkdirat(dir.get(), base.c_str(), 0755)
                             : ::openat(dir.get(), base.c_str(),
                                        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (made < 0 && errno != EEXIST) return Fd();
  if (!directory && made >= 0) ::close(made);
  return open_in_root(root, target, O_PATH);
}

void set_read_only(int mount_fd, unsigned int flags, const std::string& what) {
  mount_attr attributes{};
  attributes.attr_set = MOUNT_ATTR_RDONLY;
  if (::mount_setattr(mount_fd, "", AT_EMPTY_PATH | flags, &attributes, sizeof attributes) != 0) {
    fail(what);
  }
}

/// A copy of `mount`'s source attached at its target below `root`, shallow targets first so
/// that a mount inside another lands on top of it.
void attach_mounts(const ContainerStore& store, const ContainerRecord& record, int root) {
  // The generated /etc/hostname, /etc/hosts and /etc/resolv.conf of its last start too, as
  // Docker's cp shows its network files, unless the container mounts its own there.
  std::vector<MountSpec> etc_files;
  for (const char* name : {"hostname", "hosts", "resolv.conf"}) {
    MountSpec file;
    file.source = store.paths(record.id).etc() + "/" + name;
    file.target = std::string("/etc/") + name;
    if (fs::is_file(file.source) && covering_mount(record.spec.mounts, file.target) == nullptr) {
      etc_files.push_back(std::move(file));
    }
  }
  std::vector<const MountSpec*> mounts;
  for (const auto& mount : record.spec.mounts) {
    if (mount.type != MountSpec::Type::tmpfs && clean_path(mount.target) != "/") {
      mounts.push_back(&mount);
    }
  }
  for (const auto& file : etc_files) mounts.push_back(&file);
  const auto depth = [](const MountSpec* mount) {
    const std::string target = clean_path(mount->target);
    return std::count(target.begin(), target.end(), '/');
  };
  std::stable_sort(mounts.begin(), mounts.end(),
                   [&](const auto* a, const auto* b) { return depth(a) < depth(b); });
  const volume::VolumeStore volumes = volume_store(store);
  for (const MountSpec* mount : mounts) {
    const Fd source = mount_source(volumes, *mount);
    struct stat st {};
    if (!source || ::fstat(source.get(), &st) != 0) continue;
    const std::string what = fmt::format("mount {} at {}", mount->source, mount->target);
    const Fd tree(::open_tree(source.get(), "",
                              OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE));
    if (!tree) fail(what);
    if (mount_is_read_only(*mount)) set_read_only(tree.get(), AT_RECURSIVE, what);
    const Fd target = mount_target(root, mount->target, S_ISDIR(st.st_mode));
    if (!target) fail(what);
    if (::move_mount(tree.get(), "", target.get(), "",
                     MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0) {
      fail(what);
    }
  }
}

void assemble_and_run(const ContainerStore& store, const ContainerRecord& record,
                      const std::function<void(int root)>& work) {
  // A namespace of this thread alone (CLONE_FS too: the kernel wants it unshared with it).
  if (::unshare(CLONE_FS | CLONE_NEWNS) != 0) fail("unshare(CLONE_NEWNS)");
  // Private all the way down: nothing mounted here may propagate to the host.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    fail("mount --make-rprivate /");
  const ContainerPaths paths = store.paths(record.id);
  // A running container's overlay is there already; a stopped one's is mounted again, from
  // the same layers and writable layer, for as long as this namespace lives.
  if (!is_mount_root(paths.rootfs())) {
    for (const auto& dir : record.lower_dirs) {
      if (!fs::is_directory(dir)) {
        throw Error("the image " + record.image + " of container " + record.name +
                    " is gone from the store (layer " + dir + ")");
      }
    }
    runtime::mount_overlay(record.lower_dirs, paths.upper(), paths.work(), paths.rootfs(),
                           paths.links());
  }
  const Fd root(::open(paths.rootfs().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) fail(paths.rootfs());
  attach_mounts(store, record, root.get());
  if (record.spec.read_only) set_read_only(root.get(), 0, "read-only root of " + record.name);
  work(root.get());
}

}  // namespace

void with_container_view(const ContainerStore& store, const ContainerRecord& record,
                         const std::function<void(int root)>& work) {
  std::exception_ptr failure;
  // The namespace dies with the thread, and every mount made in it with the namespace.
  std::thread([&] {
    try {
      assemble_and_run(store, record, work);
    } catch (...) {
      failure = std::current_exception();
    }
  }).join();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace berth::containers
