// Following the output of many containers at once (`logs -f`, attached `up`): a thread per
// container reads its log as it grows and hands each line on, then says how it ended.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "orchestrator/containers/container_store.h"
#include "orchestrator/containers/logs.h"

namespace berth::containers {

class LogFollowers {
 public:
  struct Sink {
    /// A line of a container's output; called from the container's thread.
    std::function<void(const ContainerRecord&, const LogLine&)> line;
    /// The container has stopped for good (not restarting); its last state.
    std::function<void(const ContainerRecord&, const ContainerStore::LiveState&)> ended;
  };

  /// `options` apply to every container (follow is implied).
  LogFollowers(const ContainerStore& store, LogOptions options, Sink sink);
  /// Stops following and joins the threads.
  ~LogFollowers();
  LogFollowers(const LogFollowers&) = delete;
  LogFollowers& operator=(const LogFollowers&) = delete;

  /// Follows `record` from `since` (RFC 3339; empty: the options' window, from the start).
  void follow(const ContainerRecord& record, const std::string& since = "");
  /// Blocks until every container followed so far has stopped, or stop() was called.
  void wait();
  /// Makes every thread return soon, whatever its container does.
  void stop() { m_stop = true; }

 private:
  void run(const ContainerRecord& record, LogOptions options);

  const ContainerStore& m_store;
  LogOptions m_options;
  Sink m_sink;
  std::atomic<bool> m_stop{false};
  std::mutex m_mutex;  // guards m_threads
  std::vector<std::thread> m_threads;
};

}  // namespace berth::containers
