// A stage from its FROM to its last instruction.
#include <fmt/format.h>

#include <filesystem>

#include "image/dockerfile/lexer.h"
#include "image/pull.h"
#include "image/reference.h"
#include "orchestrator/builder/build_session.h"
#include "util/error.h"
#include "util/random.h"
#include "util/sha256.h"
#include "util/strings.h"

namespace berth::builder {

using image::dockerfile::Instruction;
using nlohmann::json;
namespace df = image::dockerfile;

void BuildSession::use_arg(const std::string& name) {
  const std::lock_guard lock(used_args_mutex);
  used_args.insert(name);
}

std::vector<std::string> BuildSession::unused_args() const {
  const std::lock_guard lock(used_args_mutex);
  std::vector<std::string> unused;
  for (const auto& [name, value] : options.build_args) {
    if (!used_args.contains(name)) unused.push_back(name);
  }
  return unused;
}

std::string BuildSession::new_scratch() const {
  return fmt::format("{}/build-{}", scratch_dir, random_hex(16));
}

std::optional<std::size_t> find_stage(const df::Dockerfile& file, std::string_view name,
                                      std::size_t before) {
  const std::string wanted = lower(name);
  for (std::size_t i = 0; i < before && i < file.stages.size(); ++i) {
    if (!file.stages[i].name.empty() && file.stages[i].name == wanted) return i;
  }
  if (!name.empty() && name.find_first_not_of("0123456789") == std::string::npos &&
      name.size() < 6) {
    const std::size_t index = std::stoul(std::string(name));
    if (index < before && index < file.stages.size()) return index;
  }
  return std::nullopt;
}

std::string StageRun::next_title(std::string_view text) {
  const std::string position = fmt::format("{}/{}", next_step++, step_count);
  return label.empty() ? fmt::format("[{}] {}", position, text)
                       : fmt::format("[{} {}] {}", label, position, text);
}

df::Lookup StageRun::lookup() const {
  // A copy: the lookup outlives no step, but the state changes between steps.
  return [this](std::string_view name) -> std::optional<std::string> {
    if (auto value = state.env_value(name)) return value;
    if (const auto found = state.args.find(std::string(name)); found != state.args.end()) {
      return found->second;
    }
    return std::nullopt;
  };
}

void StageRun::file_step(const Instruction& instruction, const std::string& key,
                         const std::string& created_by, const std::string& context,
                         const std::function<CachedStep(BuildOutput::Vertex& vertex)>& make) {
  session.cancel.check();
  BuildOutput::Vertex vertex = session.output.begin(next_title(instruction.original));
  const std::optional<image::Digest> parent = state.top_chain();
  state.advance(key);
  std::optional<CachedStep> step;
  if (!session.options.no_cache) step = session.cache.find(session.images, state.cache_id, parent);
  if (step) {
    vertex.cached();
  } else {
    try {
      step = make(vertex);
    } catch (const Error& e) {
      vertex.error(e.what());
      const std::string what = e.what();
      if (what.starts_with(session.file_name + ":")) throw;  // located already
      fail(instruction, context + what);
    }
    session.cache.save(state.cache_id, *step);
    vertex.done();
  }
  state.created = step->created;
  if (step->blob) state.push_layer(*step->blob, *step->diff_id);
  state.add_history(created_by, !step->blob);
}

void StageRun::fail(const Instruction& instruction, const std::string& what) const {
  throw Error(fmt::format("{}: {}", session.where(instruction.line), what));
}

namespace {

bool is_file_step(const std::string& keyword) {
  return keyword == "RUN" || keyword == "COPY" || keyword == "ADD" || keyword == "WORKDIR";
}

/// The lookup of FROM lines: the global ARGs only.
df::Lookup global_lookup(const BuildSession& session) {
  return [&session](std::string_view name) -> std::optional<std::string> {
    if (const auto found = session.global_args.find(std::string(name));
        found != session.global_args.end()) {
      return found->second;
    }
    return std::nullopt;
  };
}

BuildState scratch_state() {
  BuildState state;
  state.image = {{"architecture", "amd64"},
                 {"os", "linux"},
                 {"config", {{"Env", {std::string("PATH=") + k_default_path}}}},
                 {"rootfs", {{"type", "layers"}, {"diff_ids", json::array()}}},
                 {"history", json::array()}};
  state.cache_id = sha256_hex("scratch");
  return state;
}

/// The state of an image of the store (pulled when missing, or always with --pull).
BuildState image_state(StageRun& run, const Instruction& from, const std::string& name,
                       BuildOutput::Vertex& vertex) {
  const image::ImageStore& images = run.session.images;
  auto found = images.find(name);
  if (!found || run.session.options.pull) {
    try {
      vertex.note(fmt::format("resolve {}", image::parse_reference(name).str()));
      found = image::pull_image(images, image::parse_reference(name), {});
    } catch (const Error& e) {
      // With --pull, an image that is there serves when the registry cannot be reached.
      if (!found) {
        vertex.error(e.what());
        run.fail(from, fmt::format("FROM {}: {}", name, e.what()));
      }
    }
  }
  const image::Manifest manifest = images.manifest(*found);
  const image::ImageConfig config = images.config(manifest);
  const image::Platform host;
  if (config.platform.os != host.os || config.platform.architecture != host.architecture) {
    run.fail(from, fmt::format("FROM {}: the image is for {}, and berth builds for {}", name,
                               config.platform.str(), host.str()));
  }
  BuildState state;
  state.image = config.raw;
  if (!state.image.contains("config") || !state.image["config"].is_object()) {
    state.image["config"] = json::object();
  }
  if (!state.image.contains("history")) state.image["history"] = json::array();
  state.layers = manifest.layers;
  state.diff_ids = config.diff_ids;
  state.cache_id = sha256_hex("FROM " + manifest.config.digest.str());
  state.created = state.image.value("created", "");
  return state;
}

}  // namespace

void dispatch(StageRun& run, const Instruction& instruction) {
  run.session.cancel.check();
  const std::string& keyword = instruction.keyword;
  if (keyword == "RUN") {
    run_instruction(run, instruction);
  } else if (keyword == "COPY" || keyword == "ADD") {
    copy_instruction(run, instruction);
  } else if (keyword == "WORKDIR") {
    workdir_instruction(run, instruction);
  } else if (!config_instruction(run, instruction)) {
    run.fail(instruction, "unknown instruction: " + keyword);
  }
}

BuildState build_stage(BuildSession& session, std::size_t index) {
  const df::Stage& stage = session.file.stages.at(index);
  StageRun run{session, index, "", 1, 1, {}};
  if (session.file.stages.size() > 1) {
    run.label = stage.name.empty() ? fmt::format("stage-{}", index) : stage.name;
  }
  for (const auto& instruction : stage.instructions) {
    if (is_file_step(instruction.keyword)) ++run.step_count;
  }

  const Instruction& from = stage.from;
  df::check_flags(from, {"platform"}, session.file_name);
  const char escape = session.file.escape;
  if (const df::Flag* platform = df::find_flag(from, "platform")) {
    const std::string text = df::expand_word(platform->value, global_lookup(session), escape);
    image::Platform wanted;
    try {
      wanted = image::Platform::parse(text);
    } catch (const Error& e) {
      run.fail(from, e.what());
    }
    if (wanted.os != image::Platform().os || wanted.architecture != image::Platform().architecture)
      run.fail(from, fmt::format("FROM --platform={}: berth builds for {} only", text,
                                 image::Platform().str()));
  }
  const std::string base = df::expand_word(stage.base, global_lookup(session), escape);
  if (base.empty()) run.fail(from, "FROM: the base image name is empty");
  BuildOutput::Vertex vertex = session.output.begin(run.next_title("FROM " + base));
  if (lower(base) == "scratch") {
    run.state = scratch_state();
  } else if (const auto source = find_stage(session.file, base, index)) {
    run.state = session.stages.at(*source).get();
    run.state.args.clear();
  } else {
    run.state = image_state(run, from, base, vertex);
  }
  for (const auto& [name, value] : session.options.build_args) {
    if (!is_predefined_arg(name)) continue;
    run.state.args[name] = value;
    session.use_arg(name);
  }
  vertex.done();

  // The base's ONBUILD triggers run first, and do not pass on to this image.
  json triggers = run.state.config().value("OnBuild", json::array());
  run.state.config().erase("OnBuild");
  if (triggers.is_array()) {
    for (const auto& trigger : triggers) {
      const std::string text = trigger.get<std::string>();
      const df::Dockerfile parsed =
          df::parse("FROM scratch\n" + text + "\n", session.where(from.line) + " ONBUILD");
      for (const auto& instruction : parsed.stages.at(0).instructions) {
        if (is_file_step(instruction.keyword)) ++run.step_count;
        Instruction located = instruction;
        located.line = from.line;
        dispatch(run, located);
      }
    }
  }
  for (const auto& instruction : stage.instructions) dispatch(run, instruction);
  return run.state;
}

}  // namespace berth::builder
