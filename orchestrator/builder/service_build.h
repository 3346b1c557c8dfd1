// Compose's `build:`: the services' images built before `up` needs them (`berth build`,
// `up --build`, `pull_policy: build`), tagged `<project>-<service>` unless `image:` names them.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "orchestrator/builder/build.h"
#include "orchestrator/compose/project.h"

namespace berth::builder {

/// What every service's build shares: the command's flags.
struct ServiceBuildOptions {
  bool no_cache = false;
  bool pull = false;
  std::map<std::string, std::string> build_args;  // `berth build --build-arg`, over the file's
  ProgressMode progress = ProgressMode::plain;
  std::string runtime = "crun";
  std::string berth_executable;
};

/// The build options of `service`'s `build:` section. berth::Error naming the service and
/// key for what berth cannot build (a remote context, ssh, secrets, other platforms).
BuildOptions service_build_options(const compose::Project& project, const std::string& service,
                                   const ServiceBuildOptions& common);

/// Builds the images of `services` (those without `build:` are skipped), different images
/// at the same time, each progress line prefixed with its service. Every failure is
/// reported on `out`; the first is thrown: `service "web": Dockerfile:3: ...`.
void build_services(const image::ImageStore& images, const containers::ContainerStore& store,
                    const compose::Project& project, const std::vector<std::string>& services,
                    const ServiceBuildOptions& common, std::FILE* out);

}  // namespace berth::builder
