// Compose's multiplexed log output: each line behind its container's `web-1  | ` prefix
// (padded to the longest name, in a colour of its own on a terminal), standard error's lines
// on standard error, and status lines such as `web-1 exited with code 0`.
#pragma once

#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "orchestrator/containers/logs.h"

namespace berth::cmd {

struct LogPrinterOptions {
  bool color = false;  // ANSI colours per container
  bool prefix = true;  // --no-log-prefix turns it off
  bool timestamps = false;
};

class LogPrinter {
 public:
  /// `names`: every container that may print, so that all prefixes have one width.
  LogPrinter(const std::vector<std::string>& names, LogPrinterOptions options);

  /// Safe to call from several threads: each line is written whole.
  void line(const std::string& name, const containers::LogLine& line);
  void status(const std::string& name, const std::string& message);
  /// A line of its own, no prefix (`Attaching to ...`, `Aborting on container exit...`).
  void notice(const std::string& text);

 private:
  const std::string& prefix_of(const std::string& name);

  LogPrinterOptions m_options;
  std::size_t m_width = 0;
  std::mutex m_mutex;
  std::map<std::string, std::string> m_prefixes;
  std::map<std::string, std::string> m_colors;
};

/// The container's name as Compose shows it in logs: without the `<project>-` in front.
std::string log_name(const std::string& container, const std::string& project);

/// True when `fd` is a terminal and NO_COLOR is not set.
bool wants_color(int fd);

}  // namespace berth::cmd
