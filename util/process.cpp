#include "util/process.h"

#include <charconv>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "util/error.h"
#include "util/fs.h"

namespace berth {

namespace {

struct ProcessStat {
  char state = '?';
  std::uint64_t start_time = 0;
};

/// Fields 3 (state) and 22 (starttime) of /proc/<pid>/stat; nullopt when there is no such
/// process.
std::optional<ProcessStat> read_process_stat(int pid) {
  if (pid <= 0) {
    return std::nullopt;
  }
  std::optional<std::string> text;
  try {
    text = fs::read_file_if_exists(fmt::format("/proc/{}/stat", pid));
  } catch (const Error&) {
    return std::nullopt;  // ESRCH: the process went away between open and read
  }
  if (!text) {
    return std::nullopt;
  }
  // "pid (comm) state ppid ...": comm may hold spaces and ')' itself, so the fields start
  // after the last ')'. Field 3 is the first one there; field 22 the 20th.
  const auto paren = text->rfind(')');
  if (paren == std::string::npos) {
    return std::nullopt;
  }
  std::string_view rest = std::string_view(*text).substr(paren + 1);
  ProcessStat stat;
  for (int field = 3; field <= 22; ++field) {
    const auto begin = rest.find_first_not_of(' ');
    if (begin == std::string_view::npos) {
      return std::nullopt;
    }
    rest.remove_prefix(begin);
    const std::string_view value = rest.substr(0, rest.find(' '));
    rest.remove_prefix(value.size());
    if (field == 3) {
      stat.state = value.front();
    } else if (field == 22) {
      const auto [end, error] =
          std::from_chars(value.data(), value.data() + value.size(), stat.start_time);
      if (error != std::errc() || end != value.data() + value.size()) {
        return std::nullopt;
      }
    }
  }
  return stat;
}

}  // namespace

std::optional<std::uint64_t> process_start_time(int pid) {
  const auto stat = read_process_stat(pid);
  if (!stat) {
    return std::nullopt;
  }
  return stat->start_time;
}

bool same_process_alive(int pid, std::uint64_t start_time) {
  const auto stat = read_process_stat(pid);
  // A zombie has finished: it only waits for its parent to collect the status.
  return stat && stat->start_time == start_time && stat->state != 'Z' && stat->state != 'X';
}

}  // namespace berth
