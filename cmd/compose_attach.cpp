#include "cmd/compose_attach.h"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "orchestrator/compose/validate.h"
#include "orchestrator/containers/lifecycle.h"
#include "orchestrator/containers/log_followers.h"
#include "orchestrator/containers/project_containers.h"
#include "orchestrator/containers/project_support.h"
#include "orchestrator/service_spec.h"

namespace berth::cmd {

namespace {

/// SIGINT and SIGTERM blocked in this thread and every thread it starts, so that only the
/// session's signal thread sees them (sigtimedwait); restored at the end.
class BlockedSignals {
 public:
  BlockedSignals() {
    sigemptyset(&m_set);
    sigaddset(&m_set, SIGINT);
    sigaddset(&m_set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &m_set, &m_saved);
  }
  ~BlockedSignals() {
    // A signal that came after the session ended would otherwise fire on unblocking.
    const timespec none{0, 0};
    while (sigtimedwait(&m_set, nullptr, &none) > 0) {
    }
    pthread_sigmask(SIG_SETMASK, &m_saved, nullptr);
  }
  const sigset_t& set() const { return m_set; }

 private:
  sigset_t m_set;
  sigset_t m_saved;
};

class AttachedSession {
 public:
  AttachedSession(const containers::ContainerStore& store, const compose::Project& project,
                  const containers::UpOptions& up, const AttachedUpOptions& options)
      : m_store(store),
        m_project(project),
        m_up(up),
        m_options(options),
        m_printer(expected_names(), options.printer),
        m_followers(store, {}, sink()) {}

  ~AttachedSession() {
    m_done = true;
    if (m_signals.joinable()) m_signals.join();
    for (auto& thread : m_stoppers) thread.join();
  }

  int run(const image::ImageStore& images, const BlockedSignals& blocked) {
    m_signals = std::thread([this, &blocked] { handle_signals(blocked.set()); });
    std::vector<std::string> names;
    for (const auto& name : expected_names()) names.push_back(name);
    m_printer.notice("Attaching to " + join(names));
    containers::UpOptions up = m_up;
    up.on_running = [this](const containers::ContainerRecord& record, const std::string& since) {
      if (m_options.attach.contains(containers::service_of(record))) {
        m_followers.follow(record, since);
      }
    };
    try {
      containers::up_project(m_store, images, m_project, up);
    } catch (...) {
      m_followers.stop();
      m_followers.wait();
      throw;
    }
    m_followers.wait();
    m_done = true;
    return m_exit_code;
  }

 private:
  /// The names the attached services' containers will have, for the prefixes' width.
  std::vector<std::string> expected_names() const {
    std::vector<std::string> names;
    for (const auto& service : m_project.start_order) {
      if (!m_options.attach.contains(service)) continue;
      const long replicas = containers::wanted_replicas(m_project, m_up, service);
      for (long n = 1; n <= replicas; ++n) {
        names.push_back(
            log_name(orchestrator::container_name(m_project, service, int(n)), m_project.name));
      }
    }
    return names;
  }

  static std::string join(const std::vector<std::string>& names) {
    std::string text;
    for (const auto& name : names) text += (text.empty() ? "" : ", ") + name;
    return text;
  }

  containers::LogFollowers::Sink sink() {
    containers::LogFollowers::Sink sink;
    sink.line = [this](const containers::ContainerRecord& record, const containers::LogLine& line) {
      m_printer.line(log_name(record.name, m_project.name), line);
    };
    sink.ended = [this](const containers::ContainerRecord& record,
                        const containers::ContainerStore::LiveState& live) {
      const int code = live.state.exit_code;
      m_printer.status(log_name(record.name, m_project.name),
                       fmt::format("exited with code {}", code));
      on_exit(containers::service_of(record), code);
    };
    return sink;
  }

  /// Compose's rules: the first exit (the first failure, with --abort-on-container-failure)
  /// sets the exit code and stops the project; --exit-code-from's service has the last word.
  void on_exit(const std::string& service, int code) {
    const std::lock_guard lock(m_mutex);
    const bool aborts = m_options.abort_on_exit || (m_options.abort_on_failure && code != 0);
    if (aborts && !m_aborted) {
      m_aborted = true;
      m_exit_code = code;
      m_printer.notice("Aborting on container exit...");
      stop_project(false);
    }
    if (!m_options.exit_code_from.empty() && service == m_options.exit_code_from && !m_captured) {
      m_captured = true;
      m_exit_code = code;
    }
  }

  void handle_signals(const sigset_t& set) {
    int received = 0;
    while (!m_done) {
      const timespec tick{0, 100'000'000};
      if (sigtimedwait(&set, nullptr, &tick) <= 0) continue;
      const std::lock_guard lock(m_mutex);
      if (received++ == 0) {
        m_printer.notice("Gracefully stopping... (press Ctrl+C again to force)");
        stop_project(false);
      } else {
        stop_project(true);
      }
    }
  }

  /// Stops (or kills) the project's containers of the selected services on a thread of its
  /// own, so that the caller (a log thread, the signal thread) goes on. Holds m_mutex.
  void stop_project(bool kill) {
    m_stoppers.emplace_back([this, kill] {
      try {
        const auto records =
            containers::project_containers(m_store, m_project.name, {m_up.services, false});
        if (kill) {
          for (const auto& record : records) {
            try {
              containers::kill_container(m_store, record, SIGKILL);
            } catch (const std::exception&) {
              // Already stopped: nothing to kill.
            }
          }
          return;
        }
        containers::stop_in_order(m_store, compose::service_graph(m_project.model), records,
                                  m_options.timeout, m_up.progress);
      } catch (const std::exception& e) {
        m_up.progress(std::string("error: ") + e.what());
      }
    });
  }

  const containers::ContainerStore& m_store;
  const compose::Project& m_project;
  const containers::UpOptions& m_up;
  const AttachedUpOptions& m_options;
  LogPrinter m_printer;
  std::mutex m_mutex;  // guards the exit code, the abort and the stopper threads
  int m_exit_code = 0;
  bool m_aborted = false;
  bool m_captured = false;
  std::vector<std::thread> m_stoppers;
  std::atomic<bool> m_done{false};
  std::thread m_signals;
  containers::LogFollowers m_followers;  // last: its threads end before what they use goes
};

}  // namespace

int run_attached_up(const containers::ContainerStore& store, const image::ImageStore& images,
                    const compose::Project& project, containers::UpOptions up,
                    const AttachedUpOptions& options) {
  const BlockedSignals blocked;
  AttachedSession session(store, project, up, options);
  return session.run(images, blocked);
}

}  // namespace berth::cmd
