#include "orchestrator/builder/build.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <iterator>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "image/dockerfile/lexer.h"
#include "image/reference.h"
#include "orchestrator/builder/build_session.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/unique_fd.h"

namespace berth::builder {

using nlohmann::json;
namespace df = image::dockerfile;
namespace stdfs = std::filesystem;

namespace {

struct DockerfileText {
  std::string text;
  std::string name;  // as messages name it
  std::string path;  // on disk, "" for standard input or inline text
};

DockerfileText read_dockerfile(const BuildOptions& options, const std::string& context) {
  if (options.dockerfile_inline) return {*options.dockerfile_inline, "Dockerfile", ""};
  if (options.dockerfile == "-") {
    return {std::string(std::istreambuf_iterator<char>(std::cin), {}), "Dockerfile", ""};
  }
  const std::string path = options.dockerfile.empty()
                               ? context + "/Dockerfile"
                               : fs::absolute(options.dockerfile, fs::current_directory());
  const auto text = fs::read_file_if_exists(path);
  if (!text) {
    throw Error(fmt::format("failed to read dockerfile: open {}: no such file or directory",
                            options.dockerfile.empty() ? "Dockerfile" : options.dockerfile));
  }
  return {*text, options.dockerfile.empty() ? "Dockerfile" : options.dockerfile, path};
}

/// The ignore rules: <Dockerfile>.dockerignore beside the Dockerfile wins over the
/// context's .dockerignore, as with BuildKit.
df::IgnoreRules read_ignore(const DockerfileText& dockerfile, const std::string& context) {
  if (!dockerfile.path.empty()) {
    if (const auto text = fs::read_file_if_exists(dockerfile.path + ".dockerignore")) {
      return df::IgnoreRules::parse(*text, dockerfile.name + ".dockerignore");
    }
  }
  if (const auto text = fs::read_file_if_exists(context + "/.dockerignore")) {
    return df::IgnoreRules::parse(*text, ".dockerignore");
  }
  return {};
}

/// The ARGs before the first FROM, with --build-arg values, and BuildKit's automatic
/// platform ARGs.
void global_args(BuildSession& session) {
  const image::Platform platform;
  for (const auto& [name, value] : std::initializer_list<std::pair<const char*, std::string>>{
           {"TARGETPLATFORM", platform.str()},
           {"TARGETOS", platform.os},
           {"TARGETARCH", platform.architecture},
           {"TARGETVARIANT", platform.variant},
           {"BUILDPLATFORM", platform.str()},
           {"BUILDOS", platform.os},
           {"BUILDARCH", platform.architecture},
           {"BUILDVARIANT", platform.variant}}) {
    session.global_args[name] = value;
  }
  for (const auto& instruction : session.file.global_args) {
    const df::Lookup lookup = [&session](std::string_view name) -> std::optional<std::string> {
      const auto found = session.global_args.find(std::string(name));
      return found == session.global_args.end() ? std::nullopt : found->second;
    };
    for (auto& [name, value] :
         df::parse_key_values("ARG", instruction.text, lookup, session.file.escape)) {
      if (const auto given = session.options.build_args.find(name);
          given != session.options.build_args.end()) {
        session.global_args[name] = given->second;
        session.use_arg(name);
      } else {
        session.global_args[name] = value;
      }
    }
  }
}

/// The stages `index` needs: its FROM's stage, and those its COPY --from names.
std::vector<std::size_t> stage_dependencies(const BuildSession& session, std::size_t index) {
  const df::Stage& stage = session.file.stages[index];
  const df::Lookup lookup = [&session](std::string_view name) -> std::optional<std::string> {
    const auto found = session.global_args.find(std::string(name));
    return found == session.global_args.end() ? std::nullopt : found->second;
  };
  std::vector<std::size_t> needed;
  const auto add = [&](const std::string& text) {
    try {
      const std::string name = df::expand_word(text, lookup, session.file.escape);
      if (const auto found = find_stage(session.file, name, index)) needed.push_back(*found);
    } catch (const Error&) {
      // The step reports it, with its line.
    }
  };
  add(stage.base);
  for (const auto& instruction : stage.instructions) {
    if (const df::Flag* from = df::find_flag(instruction, "from")) add(from->value);
  }
  return needed;
}

std::size_t target_stage(const BuildSession& session) {
  const auto& stages = session.file.stages;
  if (session.options.target.empty()) return stages.size() - 1;
  if (const auto found = find_stage(session.file, session.options.target, stages.size())) {
    return *found;
  }
  throw Error(fmt::format("target stage \"{}\" could not be found", session.options.target));
}

/// Builds the target and every stage it needs, independent ones at the same time.
BuildState build_stages(BuildSession& session) {
  const std::size_t target = target_stage(session);
  std::vector<bool> needed(session.file.stages.size(), false);
  std::vector<std::size_t> pending = {target};
  while (!pending.empty()) {
    const std::size_t index = pending.back();
    pending.pop_back();
    if (needed[index]) continue;
    needed[index] = true;
    for (const std::size_t dependency : stage_dependencies(session, index)) {
      pending.push_back(dependency);
    }
  }
  std::vector<std::promise<BuildState>> promises(session.file.stages.size());
  session.stages.clear();
  for (auto& promise : promises) session.stages.push_back(promise.get_future().share());
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < needed.size(); ++i) {
    if (!needed[i]) continue;
    threads.emplace_back([&session, &promises, i] {
      try {
        promises[i].set_value(build_stage(session, i));
      } catch (...) {
        promises[i].set_exception(std::current_exception());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  // The first failed stage in order: a stage that failed because one it waited for did
  // carries the same error.
  for (std::size_t i = 0; i < needed.size(); ++i) {
    if (needed[i]) session.stages[i].get();  // rethrows a failure
  }
  return session.stages[target].get();
}

BuildResult export_image(BuildSession& session, BuildState state,
                         const std::vector<image::Reference>& tags) {
  const image::ImageStore& images = session.images;
  BuildOutput::Vertex vertex = session.output.begin("exporting to image");
  json& config = state.config();
  for (const auto& [name, value] : session.options.labels) config["Labels"][name] = value;
  state.image["created"] = state.created.empty() ? now_rfc3339() : state.created;
  const std::string config_json = state.image.dump();
  const image::Digest config_digest = images.put_blob(config_json);

  image::Manifest manifest;
  manifest.media_type = std::string(image::media::oci_manifest);
  manifest.config = image::Descriptor{std::string(image::media::oci_config),
                                      config_digest,
                                      static_cast<std::int64_t>(config_json.size()),
                                      {},
                                      {}};
  manifest.layers = state.layers;
  const std::string manifest_json = image::to_json(manifest);
  const image::Descriptor descriptor{std::string(image::media::oci_manifest),
                                     images.put_blob(manifest_json),
                                     static_cast<std::int64_t>(manifest_json.size()),
                                     {},
                                     {}};
  vertex.note(fmt::format("writing image {} done", config_digest.str()));
  for (const auto& tag : tags) {
    images.set_reference(tag, descriptor);
    vertex.note(fmt::format("naming to {} done", tag.str()));
  }
  if (tags.empty()) images.add_unnamed(descriptor);
  vertex.done();
  return {config_digest, descriptor};
}

}  // namespace

BuildResult build_image(const image::ImageStore& images, const containers::ContainerStore& store,
                        const BuildOptions& options, std::FILE* out) {
  // Names are checked before any work, so a typo in -t costs nothing.
  std::vector<image::Reference> tags;
  for (const auto& tag : options.tags) {
    try {
      tags.push_back(image::parse_reference(tag));
    } catch (const Error& e) {
      throw Error(fmt::format("invalid tag \"{}\": {}", tag, e.what()));
    }
  }
  const std::string context = fs::absolute(options.context_dir.empty() ? "." : options.context_dir,
                                           fs::current_directory());
  if (!fs::is_directory(context)) {
    throw Error(
        fmt::format("unable to prepare context: path \"{}\" not found", options.context_dir));
  }
  ProgressMode mode = options.progress;
  if (mode == ProgressMode::automatic) mode = ProgressMode::plain;
  BuildOutput output(out, mode, options.progress_prefix);

  const DockerfileText dockerfile = read_dockerfile(options, context);
  {
    BuildOutput::Vertex vertex =
        output.begin(fmt::format("[internal] load build definition from {}",
                                 stdfs::path(dockerfile.name).filename().string()));
    vertex.note(fmt::format("transferring dockerfile: {}B done", dockerfile.text.size()));
    vertex.done();
  }
  const df::Dockerfile file = df::parse(dockerfile.text, dockerfile.name);
  for (const auto& note : file.notes) output.message(note);

  const Fd context_fd(::open(context.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!context_fd) throw Error(fmt::format("unable to prepare context: {}", context));
  // Before any stage's thread, which takes the signal mask from this one.
  std::optional<BuildCancel> own_cancel;
  if (!options.cancel) own_cancel.emplace();
  const BuildCancel& cancel = options.cancel ? *options.cancel : *own_cancel;
  BuildSession session{images,
                       store,
                       options,
                       output,
                       cancel,
                       file,
                       dockerfile.name,
                       context,
                       context_fd.get(),
                       read_ignore(dockerfile, context),
                       BuildCache(store.root() + "/builder/cache"),
                       {},
                       {},
                       images.directory() + "/tmp",
                       {},
                       {}};
  stdfs::create_directories(session.scratch_dir);
  global_args(session);

  // Garbage collection (image rm, prune) waits for the build: its layers are in no index
  // until the end.
  const image::StoreLock lock = images.lock_shared();
  BuildState state = build_stages(session);
  if (const auto unused = session.unused_args(); !unused.empty()) {
    output.message(fmt::format("[Warning] One or more build-args [{}] were not consumed",
                               fmt::join(unused, " ")));
  }
  const BuildResult result = export_image(session, std::move(state), tags);
  if (!options.iidfile.empty()) fs::write_file_atomic(options.iidfile, result.image_id.str());
  return result;
}

}  // namespace berth::builder
