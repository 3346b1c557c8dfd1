// Docker's restart policies as users write them: `--restart` and compose's `restart:`.
#pragma once

#include <string>

#include "runtime/container_spec.h"

namespace berth::runtime {

/// "no", "always", "unless-stopped", "on-failure[:max-retries]" ("" is "no"). berth::Error
/// `invalid restart policy "x": ...` naming what is wrong.
RestartPolicy restart_policy_of(const std::string& text);

}  // namespace berth::runtime
