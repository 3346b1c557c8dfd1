#include "orchestrator/builder/build_cancel.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "util/error.h"

namespace berth::builder {

BuildCancel::BuildCancel() : m_event(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!m_event) throw Error(std::string("eventfd: ") + std::strerror(errno));
  sigemptyset(&m_set);
  for (const int signal : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&m_set, signal);
  pthread_sigmask(SIG_BLOCK, &m_set, &m_saved);
  m_waiter = std::thread([this] {
    // A short timeout: the destructor ends the wait without a signal of its own.
    const timespec tick{0, 100'000'000};
    while (!m_done.load()) {
      if (sigtimedwait(&m_set, nullptr, &tick) > 0) {
        m_cancelled.store(true);
        const std::uint64_t one = 1;
        (void)::write(m_event.get(), &one, sizeof one);
      }
    }
  });
}

BuildCancel::~BuildCancel() {
  m_done.store(true);
  m_waiter.join();
  const timespec none{0, 0};
  while (sigtimedwait(&m_set, nullptr, &none) > 0) {
  }
  pthread_sigmask(SIG_SETMASK, &m_saved, nullptr);
}

void BuildCancel::check() const {
  if (cancelled()) throw Error("interrupted");
}

}  // namespace berth::builder
