#include "orchestrator/builder/build_cancel.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "util/error.h"

namespace berth::builder {

BuildCancel::BuildCancel()
    : m_event(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      m_stop(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!m_event || !m_stop) throw Error(std::string("eventfd: ") + std::strerror(errno));
  sigemptyset(&m_set);
  for (const int signal : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&m_set, signal);
  pthread_sigmask(SIG_BLOCK, &m_set, &m_saved);
  m_signals.reset(::signalfd(-1, &m_set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!m_signals) {
    pthread_sigmask(SIG_SETMASK, &m_saved, nullptr);
    throw Error(std::string("signalfd: ") + std::strerror(errno));
  }
  m_waiter = std::thread([this] {
    for (;;) {
      pollfd fds[] = {{m_signals.get(), POLLIN, 0}, {m_stop.get(), POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0 && errno != EINTR) return;
      if (fds[1].revents != 0) return;
      signalfd_siginfo info{};
      if (fds[0].revents != 0 && ::read(m_signals.get(), &info, sizeof info) > 0) {
        m_cancelled.store(true);
        const std::uint64_t one = 1;
        (void)::write(m_event.get(), &one, sizeof one);
      }
    }
  });
}

BuildCancel::~BuildCancel() {
  const std::uint64_t one = 1;
  (void)::write(m_stop.get(), &one, sizeof one);
  m_waiter.join();
  // A signal that came is not acted upon again once the mask is restored.
  signalfd_siginfo info{};
  while (::read(m_signals.get(), &info, sizeof info) > 0) {
  }
  pthread_sigmask(SIG_SETMASK, &m_saved, nullptr);
}

void BuildCancel::check() const {
  if (cancelled()) throw Error("interrupted");
}

}  // namespace berth::builder
