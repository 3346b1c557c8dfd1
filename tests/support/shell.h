// Shell commands for tests that look at the host as a user would (`ip`, `iptables-save`).
#pragma once

#include <string>

namespace berth::testing {

struct ShellOutput {
  int status = -1;   // the exit status; -1 when the command did not exit normally
  std::string text;  // what it printed on standard output
};

/// Runs `command` through /bin/sh. Append " 2>&1" to capture standard error too.
ShellOutput shell(const std::string& command);

}  // namespace berth::testing
