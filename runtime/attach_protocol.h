// The attach channel between a container's monitor and the berth command attached to it
// (`run` without -d, `start -a`): a SOCK_SEQPACKET socket pair made by the command, whose
// other end the monitor gets at its start. One message per packet; its first byte says what
// it carries. Packets keep their boundaries, so neither side needs framing of its own.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace berth::runtime::attach {

enum class Kind : char {
  // monitor -> command
  stdout_data = 'o',  // the container's output (a terminal's output too)
  stderr_data = 'e',
  failure = 'f',  // the runtime's reason when the container could not run; before `exit`
  exit = 'x',     // decimal exit code: the container ended (and, with --rm, is removed)
  // command -> monitor
  stdin_data = 'i',
  stdin_end = 'c',  // the command's input ended
  resize = 'w',     // "<rows> <columns>": the terminal's new size
};

/// The largest packet either side sends or expects (payload plus kind).
constexpr std::size_t k_max_packet = 32 * 1024;

inline std::string packet(Kind kind, std::string_view payload) {
  std::string out;
  out.reserve(payload.size() + 1);
  out.push_back(static_cast<char>(kind));
  out.append(payload);
  return out;
}

}  // namespace berth::runtime::attach
