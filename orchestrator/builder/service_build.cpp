#include "orchestrator/builder/service_build.h"

#include <map>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "orchestrator/builder/build_cancel.h"
#include "orchestrator/model_values.h"
#include "util/error.h"

namespace berth::builder {

using orchestrator::child;
using orchestrator::scalar;

namespace {

std::map<std::string, std::string> string_map(const YAML::Node& node) {
  std::map<std::string, std::string> out;
  if (!node || !node.IsMap()) return out;
  for (const auto& entry : node) {
    if (entry.second.IsScalar()) out[entry.first.Scalar()] = entry.second.Scalar();
  }
  return out;
}

bool is_true(const YAML::Node& node) {
  return node && node.IsScalar() && node.Scalar() == "true";
}

}  // namespace

BuildOptions service_build_options(const compose::Project& project, const std::string& service,
                                   const ServiceBuildOptions& common) {
  const YAML::Node build = child(child(child(project.model, "services"), service), "build");
  const auto fail = [&](const std::string& what) -> void {
    throw Error(fmt::format("service \"{}\": build.{}", service, what));
  };
  BuildOptions options;
  options.context_dir = scalar(child(build, "context"), ".");
  if (options.context_dir.find("://") != std::string::npos ||
      options.context_dir.starts_with("git@")) {
    fail(fmt::format("context {}: remote build contexts are not supported; clone it first",
                     options.context_dir));
  }
  for (const char* key : {"ssh", "secrets", "additional_contexts", "extra_hosts", "isolation",
                          "privileged", "ulimits", "entitlements"}) {
    if (child(build, key)) fail(fmt::format("{}: not supported by berth's builder", key));
  }
  if (const YAML::Node platforms = child(build, "platforms"); platforms && platforms.IsSequence()) {
    for (const auto& platform : platforms) {
      if (platform.Scalar() != image::Platform().str()) {
        fail(fmt::format("platforms: {}: berth builds for {} only", platform.Scalar(),
                         image::Platform().str()));
      }
    }
  }
  if (const YAML::Node inline_text = child(build, "dockerfile_inline")) {
    options.dockerfile_inline = scalar(inline_text);
  } else {
    const std::string dockerfile = scalar(child(build, "dockerfile"), "Dockerfile");
    // Compose takes the Dockerfile's path from the context.
    options.dockerfile =
        dockerfile.starts_with('/') ? dockerfile : options.context_dir + "/" + dockerfile;
  }
  // An arg without a value takes the variable of that name, when set (Compose's rule).
  if (const YAML::Node args = child(build, "args"); args && args.IsMap()) {
    for (const auto& entry : args) {
      const std::string& name = entry.first.Scalar();
      if (entry.second.IsScalar()) {
        options.build_args[name] = entry.second.Scalar();
      } else if (const auto found = project.environment.find(name);
                 found != project.environment.end()) {
        options.build_args[name] = found->second;
      }
    }
  }
  for (const auto& [name, value] : common.build_args) options.build_args[name] = value;
  options.labels = string_map(child(build, "labels"));
  options.target = scalar(child(build, "target"));
  options.network = scalar(child(build, "network"), "default");
  if (options.network != "default" && options.network != "host" && options.network != "none") {
    fail(fmt::format("network {}: expected default, host or none", options.network));
  }
  if (const YAML::Node shm = child(build, "shm_size"); shm && shm.IsScalar()) {
    options.shm_size = std::stoll(shm.Scalar());
  }
  options.tags.push_back(project.image_of(service));
  if (const YAML::Node tags = child(build, "tags"); tags && tags.IsSequence()) {
    for (const auto& tag : tags) options.tags.push_back(tag.Scalar());
  }
  options.no_cache = common.no_cache || is_true(child(build, "no_cache"));
  options.pull = common.pull || is_true(child(build, "pull"));
  options.progress = common.progress;
  options.runtime = common.runtime;
  options.berth_executable = common.berth_executable;
  options.progress_prefix = service + " ";
  return options;
}

void build_services(const image::ImageStore& images, const containers::ContainerStore& store,
                    const compose::Project& project, const std::vector<std::string>& services,
                    const ServiceBuildOptions& common, std::FILE* out) {
  // One build per image: services sharing an `image:` name build it once.
  std::map<std::string, std::string> by_image;
  for (const auto& service : services) {
    if (!child(child(child(project.model, "services"), service), "build")) continue;
    by_image.emplace(project.image_of(service), service);
  }
  std::vector<BuildOptions> builds;
  std::vector<std::string> names;
  for (const auto& [image, service] : by_image) {
    builds.push_back(service_build_options(project, service, common));
    names.push_back(service);
    if (const YAML::Node cache_from =
            child(child(child(child(project.model, "services"), service), "build"), "cache_from")) {
      std::fprintf(out, "%s: build.cache_from is accepted and ignored: berth's cache is local\n",
                   service.c_str());
    }
  }
  // One Ctrl-C for all the builds, taken before their threads start.
  const BuildCancel cancel;
  for (auto& build : builds) build.cancel = &cancel;
  std::vector<std::string> failures(builds.size());
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < builds.size(); ++i) {
    threads.emplace_back([&, i] {
      try {
        build_image(images, store, builds[i], out);
      } catch (const std::exception& e) {
        failures[i] = fmt::format("service \"{}\": {}", names[i], e.what());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::string first;
  for (const auto& failure : failures) {
    if (failure.empty()) continue;
    std::fprintf(out, "Error: %s\n", failure.c_str());
    if (first.empty()) first = failure;
  }
  if (!first.empty()) throw Error(first);
}

}  // namespace berth::builder
