#include "orchestrator/containers/state_watch.h"

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

namespace berth::containers {

StateWatch::StateWatch(const std::string& run_dir) {
  m_fd = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (m_fd >= 0) {
    ::inotify_add_watch(m_fd, run_dir.c_str(),
                        IN_MOVED_TO | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE_SELF);
  }
}

StateWatch::~StateWatch() {
  if (m_fd >= 0) ::close(m_fd);
}

void StateWatch::wait(std::chrono::milliseconds limit) {
  if (m_fd < 0) {
    std::this_thread::sleep_for(std::min(limit, std::chrono::milliseconds(20)));
    return;
  }
  pollfd descriptor{m_fd, POLLIN, 0};
  if (::poll(&descriptor, 1, static_cast<int>(limit.count())) > 0) {
    char events[4096];
    while (::read(m_fd, events, sizeof events) > 0) {
    }
  }
}

bool watch_state(const ContainerStore& store, const std::string& id,
                 const std::function<bool(const ContainerStore::LiveState&)>& done,
                 std::chrono::steady_clock::time_point deadline) {
  using namespace std::chrono;
  StateWatch watch(store.paths(id).run_dir);
  for (;;) {
    if (done(store.live_state(id))) return true;
    const auto left = duration_cast<milliseconds>(deadline - steady_clock::now());
    if (left.count() <= 0) return false;
    watch.wait(std::min(left, milliseconds(500)));
  }
}

}  // namespace berth::containers
