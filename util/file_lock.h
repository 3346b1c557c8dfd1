// An exclusive flock(2) held for the lifetime of an object. The lock dies with the process,
// so a crash never leaves anything locked.
#pragma once

#include <string>

namespace berth {

class FileLock {
 public:
  /// Locks `path`, creating it when missing; a directory is locked as it is (nothing is
  /// created). Waits for the lock. Throws berth::Error "<path>: cannot lock: <reason>".
  explicit FileLock(const std::string& path);
  struct TryOnly {};
  /// Takes the lock only when nobody holds it; held() says whether it did.
  FileLock(const std::string& path, TryOnly);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  bool held() const { return m_fd >= 0; }

 private:
  int m_fd = -1;
};

}  // namespace berth
