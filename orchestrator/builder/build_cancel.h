// Ctrl-C during a build: SIGINT, SIGTERM and SIGHUP are taken from the default action (which
// would leave a RUN step's container running) and turned into a cancellation that every
// step sees; the steps stop their containers and remove what they made, and the build
// ends with "interrupted".
#pragma once

#include <signal.h>

#include <atomic>
#include <thread>

#include "util/unique_fd.h"

namespace berth::builder {

class BuildCancel {
 public:
  /// Blocks the signals in the calling thread, and so in every thread it starts from now
  /// on; a thread of its own waits for them.
  BuildCancel();
  /// Restores the signal mask; a signal that came is not acted upon again.
  ~BuildCancel();
  BuildCancel(const BuildCancel&) = delete;
  BuildCancel& operator=(const BuildCancel&) = delete;

  bool cancelled() const { return m_cancelled.load(); }
  /// Readable once cancelled (and from then on): for poll() beside a step's own descriptors.
  int fd() const { return m_event.get(); }
  /// berth::Error "interrupted" when cancelled.
  void check() const;

 private:
  sigset_t m_set;
  sigset_t m_saved;
  Fd m_event;    // written once the build is cancelled
  Fd m_signals;  // signalfd of m_set
  Fd m_stop;     // written by the destructor: the waiter ends at once
  std::atomic<bool> m_cancelled{false};
  std::thread m_waiter;
};

}  // namespace berth::builder
