// Signals as users name them on the command line (`kill -s`): Docker's parser, shared by
// `berth container kill` and `berth kill`.
#pragma once

#include <string>

namespace berth::cmd {

/// "KILL", "SIGKILL", "sigterm", "9" -> the signal's number; berth::Error
/// `invalid signal "x"` otherwise.
int signal_number(const std::string& text);

}  // namespace berth::cmd
