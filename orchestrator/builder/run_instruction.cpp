// RUN: its flags (--mount, --network), its command (shell, exec or heredoc form), its
// environment, and its cache entry.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>

#include "image/dockerfile/lexer.h"
#include "orchestrator/builder/build_session.h"
#include "orchestrator/builder/run_step.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/sha256.h"
#include "util/strings.h"

namespace berth::builder {

using image::dockerfile::Instruction;
using nlohmann::json;
namespace df = image::dockerfile;

namespace {

/// The command the container runs. A heredoc alone (`RUN <<EOF`) is the script itself;
/// heredocs after a command (`RUN python3 <<EOF`) are left to the shell, which reads the
/// here-document from the text as any shell script would.
std::vector<std::string> command_of(const StageRun& run, const Instruction& instruction) {
  if (instruction.json_form) return instruction.args;
  std::vector<std::string> command = {"/bin/sh", "-c"};
  const json& shell = run.state.config().value("Shell", json());
  if (shell.is_array() && !shell.empty()) command = shell.get<std::vector<std::string>>();
  if (instruction.heredocs.empty()) {
    command.push_back(instruction.text);
    return command;
  }
  std::string head = instruction.text;
  head.erase(0, head.find_first_not_of(" \t"));
  head.erase(head.find_last_not_of(" \t") + 1);
  if (instruction.heredocs.size() == 1 && head.starts_with("<<") &&
      head.find_first_of(" \t") == std::string::npos) {
    command.push_back(instruction.heredocs.front().content);
    return command;
  }
  std::string script = instruction.text + "\n";
  for (const auto& heredoc : instruction.heredocs) script += heredoc.content + heredoc.name + "\n";
  command.push_back(script);
  return command;
}

/// `--mount=type=cache,target=/root/.cache,id=x`: a directory kept between builds.
/// `type=bind` (the context, read-only unless rw), `type=tmpfs`.
runtime::MountSpec parse_mount(const StageRun& run, const Instruction& instruction,
                               const std::string& text) {
  std::map<std::string, std::string> fields;
  for (const std::string_view part_view : split(text, ',')) {
    const std::string part(part_view);
    const auto equals = part.find('=');
    const std::string key = part.substr(0, equals);
    fields[key] = equals == std::string::npos ? "true" : part.substr(equals + 1);
  }
  const std::string type = fields.contains("type") ? fields["type"] : "bind";
  std::string target = fields.contains("target")        ? fields["target"]
                       : fields.contains("dst")         ? fields["dst"]
                       : fields.contains("destination") ? fields["destination"]
                                                        : "";
  if (target.empty()) run.fail(instruction, "--mount: a mount needs a target");
  target = absolute_workdir(run, target);
  const bool read_only =
      fields.contains("ro") || fields.contains("readonly") ||
      (type == "bind" && !fields.contains("rw") && !fields.contains("readwrite"));
  runtime::MountSpec mount;
  mount.target = target;
  if (type == "cache") {
    const std::string id = fields.contains("id") ? fields["id"] : target;
    mount.type = runtime::MountSpec::Type::bind;
    mount.source = run.session.store.root() + "/builder/cache-mounts/" + sha256_hex(id);
    std::filesystem::create_directories(mount.source);
    mount.read_only = fields.contains("ro") || fields.contains("readonly");
  } else if (type == "bind") {
    if (fields.contains("from")) {
      run.fail(instruction, "--mount=type=bind,from=...: only the build context can be bound");
    }
    std::string source = fields.contains("source") ? fields["source"]
                         : fields.contains("src")  ? fields["src"]
                                                   : ".";
    const std::string clean = std::filesystem::path("/" + source).lexically_normal().string();
    mount.type = runtime::MountSpec::Type::bind;
    mount.source = run.session.context_dir + (clean == "/" ? "" : clean);
    if (!std::filesystem::exists(mount.source))
      run.fail(instruction, fmt::format("--mount: {}: not found in the build context", source));
    mount.read_only = read_only;
  } else if (type == "tmpfs") {
    mount.type = runtime::MountSpec::Type::tmpfs;
  } else {
    run.fail(instruction, fmt::format("--mount: type={} is not supported", type));
  }
  return mount;
}

/// RUN's environment: the image's Env, then the ARGs in scope that it does not set.
std::vector<std::string> environment(const BuildState& state) {
  std::vector<std::string> env = state.env();
  for (const auto& [name, value] : state.args) {
    if (value && !state.env_value(name)) env.push_back(name + "=" + *value);
  }
  if (!state.env_value("PATH")) env.push_back(std::string("PATH=") + k_default_path);
  return env;
}

/// BuildKit's history entry: `RUN |2 A=1 B=2 /bin/sh -c make # buildkit`.
std::string created_by(const BuildState& state, const std::vector<std::string>& command) {
  std::vector<std::string> args;
  for (const auto& [name, value] : state.args) {
    if (value && !is_predefined_arg(name)) args.push_back(name + "=" + *value);
  }
  std::string text = "RUN ";
  if (!args.empty()) text += fmt::format("|{} {} ", args.size(), fmt::join(args, " "));
  return text + fmt::format("{} # buildkit", fmt::join(command, " "));
}

}  // namespace

void run_instruction(StageRun& run, const Instruction& instruction) {
  df::check_flags(instruction, {"mount", "network", "security"}, run.session.file_name);
  const auto lookup = run.lookup();
  const char escape = run.session.file.escape;
  RunStep step;
  step.argv = command_of(run, instruction);
  step.env = environment(run.state);
  step.user = run.state.config().value("User", std::string());
  step.working_dir = run.state.config().value("WorkingDir", std::string());
  step.network = run.session.options.network;
  step.shm_size = run.session.options.shm_size;
  for (const auto& flag : instruction.flags) {
    const std::string value = df::expand_word(flag.value, lookup, escape);
    if (flag.name == "mount") {
      step.mounts.push_back(parse_mount(run, instruction, value));
    } else if (flag.name == "network") {
      if (value != "default" && value != "none" && value != "host")
        run.fail(instruction, fmt::format("--network={}: expected default, none or host", value));
      step.network = value;
    } else if (flag.name == "security" && value != "sandbox") {
      run.fail(instruction, fmt::format("--security={} is not supported", value));
    }
  }
  json key = {{"argv", step.argv},
              {"env", step.env},
              {"user", step.user},
              {"workdir", step.working_dir},
              {"network", step.network}};
  for (const auto& mount : step.mounts) key["mounts"].push_back({mount.source, mount.target});
  const std::string history = created_by(run.state, step.argv);

  run.file_step(instruction, "RUN " + key.dump(), history,
                fmt::format("RUN {}: ", instruction.text), [&](BuildOutput::Vertex& vertex) {
                  const std::optional<image::CommittedLayer> layer =
                      run_step(run.session.images, run.session.store, run.session.options,
                               run.state, step, run.session.cancel, vertex);
                  CachedStep made;
                  made.created = now_rfc3339();
                  if (layer) {
                    made.blob = layer->blob;
                    made.diff_id = layer->diff_id;
                  }
                  return made;
                });
}

}  // namespace berth::builder
