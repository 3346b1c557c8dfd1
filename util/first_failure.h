// Best-effort steps that report the first failure: a cleanup goes on through every step (one
// failed step must not leave the rest undone) and then says what went wrong first.
#pragma once

#include <exception>
#include <string>

#include "util/error.h"

namespace berth {

class FirstFailure {
 public:
  /// Runs `step`; an exception it throws is remembered (the first one only), not passed on.
  template <typename Step>
  void attempt(Step&& step) {
    try {
      step();
    } catch (const std::exception& e) {
      if (m_message.empty()) m_message = e.what();
    }
  }
  /// Throws berth::Error with the first failure's message, when a step failed.
  void throw_first() const {
    if (!m_message.empty()) throw Error(m_message);
  }

 private:
  std::string m_message;
};

}  // namespace berth
