// `berth image build` and compose's `build:`: a Dockerfile built into an image of the store,
// each RUN in a berth container on top of the layers so far, with a layer cache.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "image/manifest.h"
#include "image/store.h"
#include "orchestrator/containers/container_store.h"

namespace berth::builder {

enum class ProgressMode { automatic, plain, tty, quiet };

class BuildCancel;

struct BuildOptions {
  std::string context_dir;  // the build context: a directory
  /// The Dockerfile: a path (relative ones from the current directory), "" for
  /// <context>/Dockerfile, or "-" for standard input.
  std::string dockerfile;
  /// The Dockerfile's text itself (compose's `dockerfile_inline`); wins over `dockerfile`.
  std::optional<std::string> dockerfile_inline;
  std::vector<std::string> tags;                  // -t, as typed ("web", "web:1")
  std::map<std::string, std::string> build_args;  // --build-arg
  std::map<std::string, std::string> labels;      // --label
  std::string target;                             // --target: the stage to build; "" the last
  /// RUN's network: "default" (berth's bridge network, with NAT), "host" or "none".
  std::string network = "default";
  std::optional<std::int64_t> shm_size;  // bytes, for RUN's /dev/shm
  bool no_cache = false;
  bool pull = false;    // --pull: pull every base image even when present
  std::string iidfile;  // written with the image id
  ProgressMode progress = ProgressMode::automatic;
  std::string runtime = "crun";  // runs the RUN steps
  std::string berth_executable;  // for the monitors of the RUN steps' containers
  /// Prefixes every progress line (compose: "web"), "" for none.
  std::string progress_prefix;
  /// Ctrl-C, shared by builds run side by side (compose); nullptr: the build takes the
  /// signals itself for its duration.
  const BuildCancel* cancel = nullptr;
};

struct BuildResult {
  image::Digest image_id;  // the config digest (`docker build`'s image id)
  image::Descriptor manifest;
};

/// Builds, names the image after every tag, and returns it. Progress goes to `out` in
/// BuildKit's plain format (`#3 [2/5] RUN make`, output lines, `#3 DONE 0.4s`, `#3 CACHED`).
/// Errors are berth::Error naming the Dockerfile line and step: `Dockerfile:7: RUN make:
/// exit code 2` (the step's output has been shown above it). What a failed build made is
/// removed: no container, mount or temporary layer is left; layers of the steps that
/// succeeded stay in the cache.
BuildResult build_image(const image::ImageStore& images, const containers::ContainerStore& store,
                        const BuildOptions& options, std::FILE* out);

}  // namespace berth::builder
