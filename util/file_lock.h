// A flock(2) held for the lifetime of an object, exclusive unless asked to be shared. The lock dies
// with the process, so a crash never leaves anything locked.
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
  struct Shared {};
  /// A shared lock: any number of holders at once, none while an exclusive one is held.
  FileLock(const std::string& path, Shared);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  bool held() const { return m_fd >= 0; }

 private:
  int m_fd = -1;
};

}  // namespace berth
