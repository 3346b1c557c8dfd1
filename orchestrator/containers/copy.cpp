#include "orchestrator/containers/copy.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <filesystem>
#include <functional>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "image/tar_reader.h"
#include "orchestrator/containers/copy_pack.h"
#include "orchestrator/containers/copy_paths.h"
#include "orchestrator/containers/copy_unpack.h"
#include "orchestrator/containers/copy_view.h"
#include "util/error.h"
#include "util/safe_open.h"

namespace berth::containers {

namespace {

using runtime::MountSpec;

constexpr std::string_view k_stream = "-";

/// What is copied, opened (O_PATH), and the name its top entry takes in the archive.
struct Source {
  Fd fd;
  bool is_dir = false;
  std::string name;  // its base name, or "." for a directory's contents
};

std::string working_directory() {
  std::error_code error;
  const auto cwd = std::filesystem::current_path(error);
  if (error) throw Error("the working directory: " + error.message());
  return cwd.string();
}

std::string readlink_at(int dir, const std::string& name) {
  std::vector<char> target(PATH_MAX + 1);
  const ssize_t length = ::readlinkat(dir, name.c_str(), target.data(), target.size());
  return length < 0 ? "" : std::string(target.data(), static_cast<std::size_t>(length));
}

/// Opens `path` the way Docker reads a source: its directory resolved, its last element not
/// followed (the link itself is copied), unless -L or a trailing "/" or "/." asks to follow.
/// `open_path` resolves a path (in the container's root, or on the host).
Fd open_source(const std::string& path, bool follow,
               const std::function<Fd(const std::string&, int)>& open_path) {
  if (follow || asserts_directory(path)) {
    return open_path(path, O_PATH | (asserts_directory(path) ? O_DIRECTORY : 0));
  }
  const auto [dir, base] = split_dir_entry(path);
  const Fd parent = open_path(dir, O_PATH | O_DIRECTORY);
  if (!parent) return Fd();
  return Fd(::openat(parent.get(), base.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
}

/// The rest of Source once `fd` is open: `-L` with the archive on standard output names the
/// top entry after what the link leads to, as Docker's daemon does; otherwise after `path`.
Source describe_source(Fd fd, const std::string& path, bool name_after_target) {
  Source source;
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw Error(fmt::format("{}: {}", path, std::strerror(errno)));
  source.is_dir = S_ISDIR(st.st_mode);
  source.name = split_dir_entry(path).second;
  if (name_after_target && source.name != ".") {
    const std::string resolved = readlink_at(AT_FDCWD, fmt::format("/proc/self/fd/{}", fd.get()));
    if (!resolved.empty()) source.name = split_dir_entry(resolved).second;
  }
  source.fd = std::move(fd);
  return source;
}

/// lstat in the container's root: the path's directory resolved inside it.
PathStatFn container_lstat(int root) {
  return [root](const std::string& path) -> std::optional<PathStat> {
    const auto [dir, base] = split_dir_entry(path);
    const Fd parent = open_in_root(root, dir, O_PATH | O_DIRECTORY);
    struct stat st {};
    if (!parent || ::fstatat(parent.get(), base.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return std::nullopt;
    }
    PathStat found;
    found.is_dir = S_ISDIR(st.st_mode);
    found.is_symlink = S_ISLNK(st.st_mode);
    if (found.is_symlink) found.link_target = readlink_at(parent.get(), base);
    return found;
  };
}

std::optional<PathStat> host_lstat(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return std::nullopt;
  PathStat found;
  found.is_dir = S_ISDIR(st.st_mode);
  found.is_symlink = S_ISLNK(st.st_mode);
  if (found.is_symlink) found.link_target = readlink_at(AT_FDCWD, path);
  return found;
}

/// Runs `produce` (which writes a tar to the descriptor it gets) on a thread of its own while
/// `consume` reads that tar from the path it gets. The error reported is the first cause:
/// the producer's, unless it only saw the consumer give up.
void stream_archive(const std::function<void(int out_fd)>& produce,
                    const std::function<void(const std::string& in_path)>& consume) {
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0) throw Error(std::string("pipe: ") + std::strerror(errno));
  Fd read_end(ends[0]);
  Fd write_end(ends[1]);
  std::exception_ptr produced;
  std::thread producer([&] {
    // A consumer that fails closes the pipe: EPIPE for this thread, not a SIGPIPE for berth.
    sigset_t pipe_signal;
    sigemptyset(&pipe_signal);
    sigaddset(&pipe_signal, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_signal, nullptr);
    try {
      produce(write_end.get());
    } catch (const ReaderGone&) {
    } catch (...) {
      produced = std::current_exception();
    }
    write_end.reset();
  });
  std::exception_ptr consumed;
  try {
    consume(fmt::format("/proc/self/fd/{}", read_end.get()));
  } catch (...) {
    consumed = std::current_exception();
  }
  read_end.reset();
  producer.join();
  if (produced) std::rethrow_exception(produced);
  if (consumed) std::rethrow_exception(consumed);
}

/// Docker's checks before it extracts into `path` of the container.
void check_writable(const ContainerRecord& record, const std::string& path) {
  const MountSpec* mount = covering_mount(record.spec.mounts, path);
  if (mount != nullptr && mount_is_read_only(*mount))
    throw Error("mounted volume is marked read-only");
  if (mount == nullptr && record.spec.read_only) {
    throw Error("container rootfs is marked read-only");
  }
}

}  // namespace

void copy_from_container(const ContainerStore& store, const ContainerRecord& record,
                         const std::string& label, const std::string& source,
                         const std::string& destination, const CopyOptions& options) {
  const std::string source_path = absolute_copy_path(source, "/");
  const bool to_stream = destination == k_stream;
  const std::string dest_path =
      to_stream ? "" : absolute_copy_path(destination, working_directory());
  if (!to_stream) {
    // Docker's ValidateOutputPath, before anything is read.
    const std::string parent = split_dir_entry(clean_path(dest_path)).first;
    struct stat st {};
    if (::stat(parent.c_str(), &st) != 0 && errno == ENOENT) {
      throw Error(fmt::format("invalid output path: directory \"{}\" does not exist", parent));
    }
    if (::stat(dest_path.c_str(), &st) == 0 && !S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
      throw Error(fmt::format("invalid output path: \"{}\" must be a directory or a regular file",
                              destination));
    }
  }
  with_container_view(store, record, [&](int root) {
    const auto in_root = [root](const std::string& path, int flags) {
      return open_in_root(root, path, flags);
    };
    Fd opened = open_source(source_path, options.follow_link, in_root);
    if (!opened) {
      if (errno == ENOENT) {
        throw Error(fmt::format("Could not find the file {} in container {}", source, label));
      }
      throw Error(fmt::format("{} in container {}: {}", source, label, std::strerror(errno)));
    }
    const Source from =
        describe_source(std::move(opened), source_path, options.follow_link && to_stream);
    const std::string where = fmt::format("{}:{}", label, source);
    if (to_stream) {
      pack_archive(from.fd.get(), from.name, STDOUT_FILENO, where);
      return;
    }
    const CopyPlan plan =
        plan_copy(from.name, from.is_dir, resolve_destination(dest_path, host_lstat));
    // The archive comes out of the container: below the destination, nothing it holds is
    // ever followed (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS).
    const Fd extract_dir(::open(plan.extract_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!extract_dir) {
      throw Error(fmt::format("{}: {}", plan.extract_dir, std::strerror(errno)));
    }
    UnpackTarget target;
    target.open_dir = [&](const std::string& relative) {
      return open_beneath(extract_dir.get(), relative, O_PATH | O_DIRECTORY);
    };
    target.label = plan.extract_dir;
    target.owner.mode = options.archive ? Ownership::Mode::archive : Ownership::Mode::caller;
    stream_archive([&](int out) { pack_archive(from.fd.get(), plan.top_name, out, where); },
                   [&](const std::string& in) {
                     image::TarStream tar(in, "archive of " + where);
                     unpack_archive(tar, target);
                   });
  });
}

void copy_to_container(const ContainerStore& store, const ContainerRecord& record,
                       const std::string& label, const std::string& source,
                       const std::string& destination, const CopyOptions& options) {
  const std::string dest_path = absolute_copy_path(destination, "/");
  const bool from_stream = source == k_stream;
  const std::string source_path =
      from_stream ? "" : absolute_copy_path(source, working_directory());
  with_container_view(store, record, [&](int root) {
    const PathInfo dest = resolve_destination(dest_path, container_lstat(root));
    std::optional<Source> from;
    std::string extract_dir;
    std::string top_name;
    if (from_stream) {
      if (!dest.exists || !dest.is_dir) {
        throw Error(fmt::format("destination \"{}:{}\" must be a directory", label, destination));
      }
      extract_dir = dest.path;
    } else {
      const auto on_host = [](const std::string& path, int flags) {
        return Fd(::open(path.c_str(), flags | O_CLOEXEC));
      };
      Fd opened = open_source(source_path, options.follow_link, on_host);
      if (!opened) {
        throw Error(fmt::format("lstat {}: {}", clean_path(source_path), std::strerror(errno)));
      }
      from = describe_source(std::move(opened), source_path, false);
      CopyPlan plan = plan_copy(from->name, from->is_dir, dest);
      extract_dir = std::move(plan.extract_dir);
      top_name = std::move(plan.top_name);
    }
    check_writable(record, extract_dir);
    if (!open_in_root(root, extract_dir, O_PATH | O_DIRECTORY)) {
      if (errno == ENOTDIR) throw Error("extraction point is not a directory");
      throw Error(fmt::format("Could not find the file {} in container {}", extract_dir, label));
    }
    // Every directory below the extraction point is resolved inside the container's root:
    // its symlinks, absolute or "../..", stay in it.
    UnpackTarget target;
    target.open_dir = [&](const std::string& relative) {
      return open_in_root(root, relative.empty() ? extract_dir : extract_dir + "/" + relative,
                          O_PATH | O_DIRECTORY);
    };
    target.label = fmt::format("{}:{}", label, extract_dir);
    target.owner.mode = options.archive ? Ownership::Mode::archive : Ownership::Mode::fixed;
    if (from_stream) {
      image::TarStream tar("-", "standard input");
      unpack_archive(tar, target);
      return;
    }
    stream_archive(
        [&](int out) { pack_archive(from->fd.get(), top_name, out, clean_path(source_path)); },
        [&](const std::string& in) {
          image::TarStream tar(in, "archive of " + source);
          unpack_archive(tar, target);
        });
  });
}

}  // namespace berth::containers
