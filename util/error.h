// berth's one error type for fatal, user-facing failures.
//
// Low-level code throws berth::Error with a complete one-line message that names what
// failed (file:line:col, service, key). Callers may add context with wrap(); main()
// catches once and prints "berth: error: <what>".
#pragma once

#include <stdexcept>
#include <string>

namespace berth {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Rethrows `e` with "<context>: " in front of its message.
[[noreturn]] inline void wrap(const Error& e, const std::string& context) {
  throw Error(context + ": " + e.what());
}

}  // namespace berth
