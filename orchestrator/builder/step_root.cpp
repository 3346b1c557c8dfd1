#include "orchestrator/builder/step_root.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "runtime/rootfs.h"
#include "util/error.h"
#include "util/unique_fd.h"

namespace berth::builder {

namespace {

[[noreturn]] void fail(const std::string& what) {
  throw Error(fmt::format("{}: {}", what, std::strerror(errno)));
}

Fd open_root(const std::string& path) {
  Fd fd(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd) fail(path);
  return fd;
}

void mount_and_run(const std::vector<std::string>& lower_dirs, const std::string& scratch,
                   const std::vector<std::vector<std::string>>& source_roots,
                   const std::function<void(const StepRoots&)>& work) {
  // A namespace of this thread alone (CLONE_FS too: the kernel wants it unshared with it).
  if (::unshare(CLONE_FS | CLONE_NEWNS) != 0) fail("unshare(CLONE_NEWNS)");
  // Private all the way down: nothing mounted here may propagate to the host.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    fail("mount --make-rprivate /");
  }
  runtime::mount_overlay(lower_dirs, scratch + "/upper", scratch + "/work", scratch + "/root",
                         scratch + "/l");
  std::vector<Fd> sources;
  StepRoots roots;
  for (std::size_t i = 0; i < source_roots.size(); ++i) {
    // Read-only in effect: nothing writes through it, and its upper directory is thrown away.
    const std::string dir = fmt::format("{}/from{}", scratch, i);
    runtime::mount_overlay(source_roots[i], dir + "/upper", dir + "/work", dir + "/root",
                           dir + "/l");
    sources.push_back(open_root(dir + "/root"));
    roots.sources.push_back(sources.back().get());
  }
  const Fd root = open_root(scratch + "/root");
  roots.root = root.get();
  work(roots);
}

}  // namespace

void with_step_root(const std::vector<std::string>& lower_dirs, const std::string& scratch,
                    const std::vector<std::vector<std::string>>& source_roots,
                    const std::function<void(const StepRoots&)>& work) {
  std::filesystem::create_directories(scratch + "/root");
  std::exception_ptr failure;
  // The namespace dies with the thread, and every mount made in it with the namespace.
  std::thread([&] {
    try {
      mount_and_run(lower_dirs, scratch, source_roots, work);
    } catch (...) {
      failure = std::current_exception();
    }
  }).join();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace berth::builder
