// Test support: the message of the berth::Error an action throws.
#pragma once

#include <functional>
#include <string>

#include "util/error.h"

namespace berth::testing {

/// What `action` throws as berth::Error, or "(no error)".
inline std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace berth::testing
