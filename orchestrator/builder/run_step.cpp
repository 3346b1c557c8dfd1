#include "orchestrator/builder/run_step.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <functional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "orchestrator/containers/lifecycle.h"
#include "runtime/attach_protocol.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/random.h"
#include "util/unique_fd.h"

namespace berth::builder {

namespace stdfs = std::filesystem;
namespace attach = runtime::attach;

std::string init_layer(const containers::ContainerStore& store) {
  const std::string dir = store.root() + "/builder/init";
  if (fs::is_directory(dir)) return dir;
  const std::string tmp = fmt::format("{}.{}", dir, random_hex(8));
  stdfs::create_directories(tmp + "/etc");
  for (const char* name : {"proc", "sys", "dev"}) stdfs::create_directories(tmp + "/" + name);
  for (const char* name : {"etc/hosts", "etc/hostname", "etc/resolv.conf"}) {
    fs::write_file_atomic(tmp + "/" + name, "");
  }
  // Another build may have made it meanwhile: theirs serves as well as ours.
  if (::rename(tmp.c_str(), dir.c_str()) != 0) stdfs::remove_all(tmp);
  return dir;
}

namespace {

/// The exit code the monitor reports on the attach channel, the output relayed to `vertex`.
/// `on_cancel` runs once when `cancel` fires (it kills the container, whose end then comes).
int relay_until_exit(int socket, BuildOutput::Vertex& vertex, std::string& failure,
                     const BuildCancel& cancel, const std::function<void()>& on_cancel) {
  std::string buffer(attach::k_max_packet, '\0');
  bool cancel_seen = false;
  for (;;) {
    pollfd fds[] = {{socket, POLLIN, 0}, {cancel_seen ? -1 : cancel.fd(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (fds[1].revents != 0) {
      cancel_seen = true;
      on_cancel();
    }
    if (fds[0].revents == 0) continue;
    const ssize_t got = ::recv(socket, buffer.data(), buffer.size(), MSG_DONTWAIT);
    // ECONNRESET: reported once, before packets still queued (the exit code among them).
    if (got < 0 && (errno == EAGAIN || errno == EINTR || errno == ECONNRESET)) continue;
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return -1;  // the monitor went away: the record says the rest
    const auto kind = static_cast<attach::Kind>(buffer[0]);
    const std::string_view payload(buffer.data() + 1, static_cast<std::size_t>(got) - 1);
    switch (kind) {
      case attach::Kind::stdout_data:
      case attach::Kind::stderr_data: vertex.output(payload); break;
      case attach::Kind::failure: failure = std::string(payload); break;
      case attach::Kind::exit: return std::stoi(std::string(payload));
      default: break;
    }
  }
}

runtime::ContainerSpec container_spec(const RunStep& step) {
  runtime::ContainerSpec spec;
  spec.image = "berth-build-step";
  spec.entrypoint = std::vector<std::string>{};
  spec.command = step.argv;
  spec.env = step.env;
  spec.user = step.user;
  spec.working_dir = step.working_dir.empty() ? "/" : step.working_dir;
  spec.mounts = step.mounts;
  spec.shm_size = step.shm_size;
  spec.network = step.network == "default" ? "bridge" : step.network;
  spec.labels["berth.build"] = "step";
  return spec;
}

}  // namespace

std::optional<image::CommittedLayer> run_step(const image::ImageStore& images,
                                              const containers::ContainerStore& store,
                                              const BuildOptions& options, const BuildState& state,
                                              const RunStep& step, const BuildCancel& cancel,
                                              BuildOutput::Vertex& vertex) {
  containers::CreateOptions create;
  create.runtime = options.runtime;
  containers::ResolvedImage resolved;
  resolved.id = "sha256:" + state.cache_id;
  resolved.lower_dirs = state.lower_dirs(images);
  resolved.lower_dirs.insert(resolved.lower_dirs.begin(), init_layer(store));
  resolved.config = state.config();
  // The step's own Env, User and WorkingDir are given explicitly; the image's must not add
  // to them (an ENV unset by nothing, but an ARG of the same name wins in RUN).
  resolved.config.erase("Env");
  resolved.config.erase("Healthcheck");
  create.image = std::move(resolved);

  const containers::ContainerRecord record =
      containers::create_container(images, store, container_spec(step), create);
  try {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
      throw Error(std::string("socketpair: ") + std::strerror(errno));
    }
    const Fd ours(pair[0]);
    Fd theirs(pair[1]);
    containers::StartOptions start;
    start.attach_fd = theirs.get();
    containers::start_container(store, record, options.berth_executable, start);
    theirs.reset();  // the monitor has its own; ours must see its end

    std::string failure;
    int code = relay_until_exit(ours.get(), vertex, failure, cancel, [&] {
      try {
        containers::kill_container(store, record, SIGKILL);
      } catch (const Error&) {
        // It has just ended by itself.
      }
    });
    if (code < 0) code = containers::wait_container(store, record);
    // The monitor unmounts the root once the process has ended; the upper directory is
    // only read after that.
    containers::finish_stopped_container(store, record);
    cancel.check();
    if (!failure.empty()) throw Error(failure);
    if (code != 0) {
      throw Error(fmt::format("process \"{}\" did not complete successfully: exit code: {}",
                              fmt::join(step.argv, " "), code));
    }
    const std::string upper = store.paths(record.id).upper();
    std::optional<image::CommittedLayer> layer;
    if (!image::upper_is_empty(upper)) {
      layer = image::commit_upper_dir(images, upper, state.top_chain());
    }
    containers::remove_container(store, record, true);
    return layer;
  } catch (...) {
    try {
      containers::remove_container(store, record, true);
    } catch (const std::exception&) {
    }
    throw;
  }
}

}  // namespace berth::builder
