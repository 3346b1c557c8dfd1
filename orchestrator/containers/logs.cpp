#include "orchestrator/containers/logs.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cstring>
#include <deque>
#include <functional>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/error.h"

namespace berth::containers {

namespace {

std::optional<LogLine> parse_line(std::string_view raw) {
  const auto value = nlohmann::json::parse(raw, nullptr, false);
  if (value.is_discarded() || !value.is_object()) return std::nullopt;  // a torn tail line
  return LogLine{value.value("stream", "stdout"), value.value("time", ""), value.value("log", "")};
}

/// RFC 3339 times in UTC with fixed-width nanoseconds compare as strings; shorter ones (no
/// fraction) are padded so "2026-01-01T00:00:00Z" sorts before any time within that second.
std::string comparable(std::string time) {
  if (time.ends_with('Z') && time.find('.') == std::string::npos)
    time.insert(time.size() - 1, ".000000000");
  return time;
}

bool active(const ContainerStore& store, const ContainerRecord& record) {
  const auto status = store.live_state(record.id).state.status;
  return status == "running" || status == "restarting" || status == "paused";
}

}  // namespace

void read_logs(const ContainerStore& store, const ContainerRecord& record,
               const LogOptions& options, const std::function<void(const LogLine&)>& each,
               const std::function<bool()>& stop) {
  const ContainerPaths paths = store.paths(record.id);
  const std::string since = options.since.empty() ? "" : comparable(options.since);
  const std::string until = options.until.empty() ? "" : comparable(options.until);
  auto print = [&](const LogLine& line) {
    if (!since.empty() && comparable(line.time) < since) return;
    if (!until.empty() && comparable(line.time) >= until) return;
    each(line);
  };

  // The monitor creates the log with the container's first line; until then there is none.
  int fd = ::open(paths.log().c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno != ENOENT) throw Error(paths.log() + ": " + std::strerror(errno));
  std::string pending;  // bytes after the last newline read
  auto read_available = [&](const std::function<void(std::string_view)>& each) {
    if (fd < 0) fd = ::open(paths.log().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    char buffer[65536];
    for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;) {
      pending.append(buffer, static_cast<std::size_t>(n));
      std::size_t start = 0;
      for (std::size_t newline; (newline = pending.find('\n', start)) != std::string::npos;
           start = newline + 1) {
        each(std::string_view(pending).substr(start, newline - start));
      }
      pending.erase(0, start);
    }
  };

  if (options.tail) {
    std::deque<LogLine> last;
    read_available([&](std::string_view raw) {
      if (auto line = parse_line(raw)) {
        last.push_back(std::move(*line));
        if (static_cast<std::int64_t>(last.size()) > *options.tail) last.pop_front();
      }
    });
    for (const auto& line : last) print(line);
  } else {
    read_available([&](std::string_view raw) {
      if (auto line = parse_line(raw)) print(*line);
    });
  }

  if (options.follow) {
    // Woken by the monitor appending to the log or replacing state.json; a timeout covers a
    // monitor that died without a last word.
    const int watch = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (watch >= 0) {
      ::inotify_add_watch(watch, paths.record_dir.c_str(), IN_MODIFY | IN_CREATE);
      ::inotify_add_watch(watch, paths.run_dir.c_str(), IN_MOVED_TO | IN_CLOSE_WRITE);
    }
    for (;;) {
      const bool still_active = active(store, record);
      read_available([&](std::string_view raw) {
        if (auto line = parse_line(raw)) print(*line);
      });
      if (!still_active || (stop && stop())) break;
      pollfd descriptor{watch, POLLIN, 0};
      if (watch >= 0 && ::poll(&descriptor, 1, 200) > 0) {
        char events[4096];
        while (::read(watch, events, sizeof events) > 0) {
        }
      } else if (watch < 0) {
        ::usleep(50'000);
      }
    }
    if (watch >= 0) ::close(watch);
  }
  if (fd >= 0) ::close(fd);
}

void print_logs(const ContainerStore& store, const ContainerRecord& record,
                const LogOptions& options, std::ostream& out, std::ostream& err) {
  read_logs(store, record, options, [&](const LogLine& line) {
    std::ostream& stream = line.stream == "stderr" ? err : out;
    if (options.timestamps) stream << line.time << " ";
    stream << line.text;
    // Followed output appears as it comes.
    if (options.follow) stream.flush();
  });
  out.flush();
  err.flush();
}

}  // namespace berth::containers
