// Waiting on a container's state without polling it: the monitor replaces state.json on every
// change (start, health, exit), which inotify reports at once.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "orchestrator/containers/container_store.h"

namespace berth::containers {

/// Waits for the state file in `run_dir` to change (the monitor replaces it by rename) or a
/// time limit, whichever comes first.
class StateWatch {
 public:
  explicit StateWatch(const std::string& run_dir);
  ~StateWatch();
  StateWatch(const StateWatch&) = delete;
  StateWatch& operator=(const StateWatch&) = delete;

  void wait(std::chrono::milliseconds limit);

 private:
  int m_fd = -1;
};

/// Calls `done` with the container's live state now and whenever it may have changed, and at
/// least every half second (a monitor killed -9 says nothing), until `done` returns true
/// (then true) or `deadline` passes (then false).
bool watch_state(const ContainerStore& store, const std::string& id,
                 const std::function<bool(const ContainerStore::LiveState&)>& done,
                 std::chrono::steady_clock::time_point deadline);

}  // namespace berth::containers
