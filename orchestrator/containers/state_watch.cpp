#include "orchestrator/containers/state_watch.h"

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>

#include "util/unique_fd.h"

namespace berth::containers {

bool watch_state(const ContainerStore& store, const std::string& id,
                 const std::function<bool(const ContainerStore::LiveState&)>& done,
                 std::chrono::steady_clock::time_point deadline) {
  using namespace std::chrono;
  const Fd watch(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (watch.get() >= 0) {
    ::inotify_add_watch(watch.get(), store.paths(id).run_dir.c_str(),
                        IN_MOVED_TO | IN_CLOSE_WRITE | IN_CREATE);
  }
  for (;;) {
    if (done(store.live_state(id))) return true;
    const auto left = duration_cast<milliseconds>(deadline - steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd descriptor{watch.get(), POLLIN, 0};
    const int wait_ms = static_cast<int>(std::min<long>(left.count(), 500));
    if (watch.get() >= 0 && ::poll(&descriptor, 1, wait_ms) > 0) {
      char events[4096];
      while (::read(watch.get(), events, sizeof events) > 0) {
      }
    } else if (watch.get() < 0) {
      ::usleep(50'000);
    }
  }
}

}  // namespace berth::containers
