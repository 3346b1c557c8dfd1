#include "runtime/event_follower.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "util/error.h"
#include "util/fs.h"
#include "util/time_parse.h"
#include "util/unique_fd.h"

namespace berth::runtime {

namespace {

using Clock = std::chrono::system_clock;

/// One file of the journal, read a complete line at a time from where the last read ended.
class Generation {
 public:
  /// False when there is no such file (nothing held then).
  bool open(const std::string& path) {
    m_fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    m_partial.clear();
    if (m_fd && ::fstat(m_fd.get(), &m_stat) != 0) m_fd.reset();
    return is_open();
  }
  void close() { m_fd.reset(); }
  bool is_open() const { return static_cast<bool>(m_fd); }
  bool is(const struct stat& other) const {
    return is_open() && m_stat.st_dev == other.st_dev && m_stat.st_ino == other.st_ino;
  }
  bool is(const Generation& other) const { return other.is_open() && is(other.m_stat); }
  /// From now on only what is appended after this call is read.
  void skip_to_end() { ::lseek(m_fd.get(), 0, SEEK_END); }

  /// Reads to the end, calling `line` with each complete line; a line still being written
  /// waits for the next read.
  void read(const std::function<void(std::string_view)>& line) {
    if (!is_open()) return;
    char buffer[65536];
    for (ssize_t n; (n = ::read(m_fd.get(), buffer, sizeof buffer)) != 0;) {
      if (n < 0) {
        if (errno == EINTR) continue;
        throw Error(std::string("events journal: ") + std::strerror(errno));
      }
      m_partial.append(buffer, static_cast<std::size_t>(n));
      std::size_t begin = 0;
      for (std::size_t end; (end = m_partial.find('\n', begin)) != std::string::npos;
           begin = end + 1) {
        line(std::string_view(m_partial).substr(begin, end - begin));
      }
      m_partial.erase(0, begin);
    }
  }

 private:
  Fd m_fd;
  struct stat m_stat {};
  std::string m_partial;
};

/// The time poll may wait before `until`, or -1 without one; 0 once it has passed.
int poll_timeout(const std::optional<Clock::time_point>& until) {
  if (!until) return -1;
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(*until - Clock::now());
  return static_cast<int>(std::clamp<long long>(left.count(), 0, INT_MAX));
}

}  // namespace

void follow_journal(const std::string& path, const FollowOptions& options,
                    const std::function<void(const JournalEvent&)>& sink) {
  // The directory is watched, not the file: the file is renamed away and made anew.
  Fd watch(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  const std::string dir = fs::dirname(path);
  if (!watch ||
      ::inotify_add_watch(watch.get(), dir.c_str(),
                          IN_CREATE | IN_MODIFY | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE) < 0) {
    throw Error(dir + ": cannot watch for events: " + std::strerror(errno));
  }

  bool ended = false;  // an event past `until` was seen
  const auto deliver = [&](std::string_view line) {
    if (ended) return;
    const auto event = parse_journal_line(line);
    if (!event) return;
    const auto time = parse_time(event->time);
    if (!time || (options.since && *time < *options.since)) return;
    if (options.until && *time > *options.until) {
      ended = true;
      return;
    }
    sink(*event);
  };

  Generation current;
  current.open(path);
  if (options.since) {
    // Opened after the current file: were the current one rotated in between, this would
    // be that same file, read below.
    Generation previous;
    if (previous.open(path + std::string(k_journal_previous_suffix)) && !previous.is(current)) {
      previous.read(deliver);
    }
    current.read(deliver);
  } else if (current.is_open()) {
    current.skip_to_end();
  }

  for (;;) {
    if (ended) return;
    const int timeout = poll_timeout(options.until);
    if (timeout == 0) return;
    pollfd fds[] = {{watch.get(), POLLIN, 0}, {options.stop_fd, POLLIN, 0}};
    if (::poll(fds, options.stop_fd >= 0 ? 2 : 1, timeout) < 0) {
      if (errno == EINTR) continue;
      throw Error(std::string("poll: ") + std::strerror(errno));
    }
    if (options.stop_fd >= 0 && fds[1].revents != 0) return;
    // Which change woke us does not matter: the file is read to its end and its name looked
    // at again either way, which costs two syscalls.
    char drained[4096];
    while (::read(watch.get(), drained, sizeof drained) > 0) {
    }
    current.read(deliver);
    struct stat named {};
    const bool exists = ::stat(path.c_str(), &named) == 0;
    if (exists && current.is(named)) continue;
    // Rotated (or made for the first time). A writer renames under the journal's lock after
    // its own line, so whatever the old file got before its name moved is in it now: read
    // it to the end once more, then take the new file from its start. (A second rotation
    // between the stat and the open would lose one generation's worth: megabytes of events
    // in microseconds.)
    current.read(deliver);
    if (exists && current.open(path)) {
      current.read(deliver);
    } else {
      current.close();
    }
  }
}

}  // namespace berth::runtime
