// The root filesystem of a COPY, ADD or WORKDIR step: the stage's layers mounted as an
// overlay whose upper directory collects the step's changes, in a mount namespace of the
// step's own thread, so that nothing is ever mounted on the host and a killed build leaves
// no mount behind.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace berth::builder {

/// What `work` gets: O_PATH descriptors of the step's root and of each read-only source
/// root asked for (another stage's or an image's filesystem, for --from), in order.
struct StepRoots {
  int root = -1;
  std::vector<int> sources;
};

/// Mounts `lower_dirs` (top first) with `scratch`/upper as the upper directory, and every
/// `source_roots` entry (a list of layers, top first) read-only, then runs `work` on a
/// thread of its own in a private mount namespace. Exceptions from `work` reach the caller.
/// The upper directory is `scratch` + "/upper", left for the caller to commit.
void with_step_root(const std::vector<std::string>& lower_dirs, const std::string& scratch,
                    const std::vector<std::vector<std::string>>& source_roots,
                    const std::function<void(const StepRoots&)>& work);

}  // namespace berth::builder
