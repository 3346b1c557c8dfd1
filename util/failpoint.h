// Named points where a test can have berth killed, to prove that what a berth killed at any
// step leaves behind is found and removed later (`network prune`, `down`). The environment
// variable BERTH_FAILPOINT names the point; reaching it sends SIGKILL to berth itself, which
// is the one way to die that runs no cleanup at all. Unset, a point costs one comparison.
#pragma once

#include <string_view>

namespace berth {

/// Kills the calling process with SIGKILL when BERTH_FAILPOINT equals `name`.
void failpoint(std::string_view name);

}  // namespace berth
