// `berth image build` (docker build's flags) and `berth builder prune`.

#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "cmd/global_options.h"
#include "cmd/image_output.h"
#include "cmd/progress_display.h"
#include "orchestrator/builder/build.h"
#include "orchestrator/builder/build_cache.h"
#include "util/error.h"

namespace berth::cmd {

namespace {

struct BuildFlags {
  std::string context;
  std::string file;
  std::vector<std::string> tags;
  std::vector<std::string> build_args;
  std::vector<std::string> labels;
  std::string target;
  std::string network = "default";
  std::string iidfile;
  std::string progress = "auto";
  std::string platform;
  bool quiet = false;
  bool no_cache = false;
  bool pull = false;
  std::string runtime = "crun";
};

/// KEY=VALUE entries; `--build-arg KEY` alone takes KEY from the environment (Docker's rule),
/// and is left out when the environment has none.
std::map<std::string, std::string> key_values(const std::vector<std::string>& entries,
                                              bool from_environment, const char* flag) {
  std::map<std::string, std::string> out;
  for (const auto& entry : entries) {
    const auto equals = entry.find('=');
    if (equals == 0) throw Error(fmt::format("{} {}: the name is empty", flag, entry));
    if (equals != std::string::npos) {
      out[entry.substr(0, equals)] = entry.substr(equals + 1);
    } else if (from_environment) {
      if (const char* value = std::getenv(entry.c_str())) out[entry] = value;
    } else {
      out[entry] = "";
    }
  }
  return out;
}

void run_build(const GlobalOptions& global, const BuildFlags& flags) {
  builder::BuildOptions options;
  options.context_dir = flags.context;
  options.dockerfile = flags.file;
  options.tags = flags.tags;
  options.build_args = key_values(flags.build_args, true, "--build-arg");
  options.labels = key_values(flags.labels, false, "--label");
  options.target = flags.target;
  options.network = flags.network;
  options.no_cache = flags.no_cache;
  options.pull = flags.pull;
  options.iidfile = flags.iidfile;
  options.runtime = flags.runtime;
  options.berth_executable = self_executable();
  options.progress =
      flags.quiet ? builder::ProgressMode::quiet : build_progress_mode(flags.progress);
  if (!flags.platform.empty() && flags.platform != image::Platform().str()) {
    throw Error(fmt::format("--platform {}: berth builds for {} only", flags.platform,
                            image::Platform().str()));
  }
  if (flags.network != "default" && flags.network != "host" && flags.network != "none") {
    throw Error(fmt::format("--network {}: expected default, host or none", flags.network));
  }
  const builder::BuildResult result = builder::build_image(
      image::ImageStore(global.root), containers::ContainerStore(global.root, global.runroot),
      options, stderr);
  if (flags.quiet) std::cout << result.image_id.str() << "\n";
}

}  // namespace

builder::ProgressMode build_progress_mode(const std::string& progress) {
  // Compose's own reading of the flag (auto: a terminal that is not TERM=dumb), mapped.
  switch (progress_mode(progress)) {
    case ProgressMode::quiet: return builder::ProgressMode::quiet;
    case ProgressMode::plain: return builder::ProgressMode::plain;
    case ProgressMode::tty: break;
  }
  return builder::ProgressMode::tty;
}

void add_build_commands(CLI::App& image, CLI::App& app, const GlobalOptions& global) {
  auto flags = std::make_shared<BuildFlags>();
  CLI::App* build = image.add_subcommand("build", "Build an image from a Dockerfile");
  build->add_option("context", flags->context, "The build context: a directory")->required();
  build->add_option("-f,--file", flags->file,
                    "The Dockerfile (default: CONTEXT/Dockerfile; - for standard input)");
  build->add_option("-t,--tag", flags->tags, "Name the image (repeatable)");
  build->add_option("--build-arg", flags->build_args, "Set a build argument (KEY=VALUE)");
  build->add_option("--label", flags->labels, "Set a label on the image (KEY=VALUE)");
  build->add_option("--target", flags->target, "The stage to build");
  build->add_option("--network", flags->network, "RUN's network: default, host or none");
  build->add_option("--iidfile", flags->iidfile, "Write the image id to this file");
  build->add_option("--progress", flags->progress, "auto, plain, tty or quiet");
  build->add_option("--platform", flags->platform, "Only linux/amd64 is supported");
  build->add_flag("-q,--quiet", flags->quiet, "Print only the image id");
  build->add_flag("--no-cache", flags->no_cache, "Run every step again");
  build->add_flag("--pull", flags->pull, "Pull the base images even when present");
  build->add_option("--runtime", flags->runtime, "OCI runtime of RUN steps: crun or runc")
      ->envname("BERTH_RUNTIME");
  build->callback([&global, flags] {
    global.prepare();
    run_build(global, *flags);
  });

  CLI::App* builder = app.add_subcommand("builder", "Manage the build cache");
  builder->require_subcommand(1);
  auto force = std::make_shared<bool>(false);
  CLI::App* prune = builder->add_subcommand("prune", "Remove the build cache");
  prune->add_flag("-f,--force", *force, "Do not ask for confirmation");
  prune->callback([&global] {
    global.prepare();
    const std::size_t count = builder::BuildCache(global.root + "/builder/cache").clear();
    std::cout << fmt::format("Deleted build cache objects: {}\n", count);
  });
}

}  // namespace berth::cmd
