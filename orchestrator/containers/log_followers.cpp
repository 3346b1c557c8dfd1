#include "orchestrator/containers/log_followers.h"

#include <chrono>

#include "orchestrator/containers/project_containers.h"
#include "orchestrator/containers/state_watch.h"

namespace berth::containers {

LogFollowers::LogFollowers(const ContainerStore& store, LogOptions options, Sink sink)
    : m_store(store), m_options(std::move(options)), m_sink(std::move(sink)) {
  m_options.follow = true;
}

LogFollowers::~LogFollowers() {
  stop();
  wait();
}

void LogFollowers::follow(const ContainerRecord& record, const std::string& since) {
  LogOptions options = m_options;
  if (!since.empty()) options.since = since;
  const std::lock_guard lock(m_mutex);
  m_threads.emplace_back([this, record, options] { run(record, options); });
}

void LogFollowers::wait() {
  // Threads may be added while waiting (a container started late): join until none is left.
  for (;;) {
    std::vector<std::thread> threads;
    {
      const std::lock_guard lock(m_mutex);
      threads.swap(m_threads);
    }
    if (threads.empty()) return;
    for (auto& thread : threads) thread.join();
  }
}

void LogFollowers::run(const ContainerRecord& record, LogOptions options) {
  read_logs(
      m_store, record, options,
      [&](const LogLine& line) {
        if (m_sink.line) m_sink.line(record, line);
      },
      [this] { return m_stop.load(); });
  if (m_stop || !m_sink.ended) return;
  // The log ends a moment before the monitor records the exit code.
  ContainerStore::LiveState last;
  watch_state(
      m_store, record.id,
      [&](const ContainerStore::LiveState& live) {
        last = live;
        return !is_active(live.state.status) || live.monitor_lost;
      },
      std::chrono::steady_clock::now() + std::chrono::seconds(5));
  m_sink.ended(record, last);
}

}  // namespace berth::containers
