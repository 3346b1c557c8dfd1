// RUN: a command in a berth container whose root is the stage's layers so far, its changes
// then committed as a layer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "image/layer_commit.h"
#include "orchestrator/builder/build.h"
#include "orchestrator/builder/build_cancel.h"
#include "orchestrator/builder/build_output.h"
#include "orchestrator/builder/build_state.h"
#include "runtime/container_spec.h"

namespace berth::builder {

struct RunStep {
  std::vector<std::string> argv;
  std::vector<std::string> env;  // KEY=VALUE: the image's Env, then the ARGs in scope
  std::string user;
  std::string working_dir;
  std::string network;  // "default", "host" or "none"
  std::vector<runtime::MountSpec> mounts;
  std::optional<std::int64_t> shm_size;
};

/// Runs `step` on `state`'s root filesystem, its output going to `vertex`. Returns the
/// layer of what it changed, nullopt when it changed nothing. berth::Error `process "<cmd>"
/// did not complete successfully: exit code: N` (BuildKit's words) when it fails. Once
/// `cancel` fires, the container is killed and the step fails with "interrupted". The
/// container is removed whatever happens.
std::optional<image::CommittedLayer> run_step(const image::ImageStore& images,
                                              const containers::ContainerStore& store,
                                              const BuildOptions& options, const BuildState& state,
                                              const RunStep& step, const BuildCancel& cancel,
                                              BuildOutput::Vertex& vertex);

/// The directory of empty mount points (/etc/hosts, /etc/resolv.conf, /etc/hostname,
/// /proc, /sys, /dev) laid over a step's root, as Docker's init layer: the runtime mounts
/// onto them, so a step's own layer never holds them. Made once under the store's root.
std::string init_layer(const containers::ContainerStore& store);

}  // namespace berth::builder
