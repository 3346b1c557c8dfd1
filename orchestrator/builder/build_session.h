// One build in progress: what every stage's steps share (the stores, the options, the
// parsed Dockerfile, the context, the cache, the stages' results), and the steps that make
// up a stage.
#pragma once

#include <cstddef>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "image/dockerfile/ignore.h"
#include "image/dockerfile/lexer.h"
#include "image/dockerfile/syntax.h"
#include "orchestrator/builder/build.h"
#include "orchestrator/builder/build_cache.h"
#include "orchestrator/builder/build_cancel.h"
#include "orchestrator/builder/build_output.h"
#include "orchestrator/builder/build_state.h"

namespace berth::builder {

struct BuildSession {
  const image::ImageStore& images;
  const containers::ContainerStore& store;
  const BuildOptions& options;
  BuildOutput& output;
  const BuildCancel& cancel;
  const image::dockerfile::Dockerfile& file;
  std::string file_name;    // as messages name it: "Dockerfile", "web/Dockerfile.dev"
  std::string context_dir;  // absolute
  int context_fd = -1;      // O_PATH
  image::dockerfile::IgnoreRules ignore;
  BuildCache cache;
  /// ARGs before the first FROM, their values after --build-arg.
  std::map<std::string, std::optional<std::string>> global_args;
  /// Each stage's final state, once built; only the needed ones are ever set.
  std::vector<std::shared_future<BuildState>> stages;
  /// Where steps keep their scratch directories: the image store's tmp/, on the same file
  /// system as its layers, so an upper directory becomes a layer by rename.
  std::string scratch_dir;

  /// A line of the Dockerfile as messages name it: "Dockerfile:7".
  std::string where(int line) const { return file_name + ":" + std::to_string(line); }
  /// Records that a --build-arg was used by some ARG.
  void use_arg(const std::string& name);
  /// The --build-args no ARG used.
  std::vector<std::string> unused_args() const;
  /// A fresh scratch directory for one step.
  std::string new_scratch() const;

  // The --build-args some ARG used, from any stage's thread.
  mutable std::mutex used_args_mutex;
  std::set<std::string> used_args;
};

/// The stage `name` refers to ("build", or an index "0"), among those before `before`;
/// nullopt when it names none (then it is an image).
std::optional<std::size_t> find_stage(const image::dockerfile::Dockerfile& file,
                                      std::string_view name, std::size_t before);

/// A stage's steps, one after the other, from its FROM; waits for the stages it uses.
BuildState build_stage(BuildSession& session, std::size_t index);

/// What the steps of one stage share while it builds.
struct StageRun {
  BuildSession& session;
  std::size_t index;
  std::string label;           // "[build 2/5]" is made from it: "build", "stage-1", or "" alone
  std::size_t step_count = 0;  // FROM, RUN, COPY, ADD, WORKDIR: BuildKit's vertices
  std::size_t next_step = 1;
  BuildState state;
  bool cmd_set = false;  // a CMD of this stage (an ENTRYPOINT drops only the base's)

  /// The title of the next vertex: "[build 3/5] RUN make".
  std::string next_title(std::string_view text);
  /// Variables as the stage's expansions see them: ENV first, then ARGs in scope.
  image::dockerfile::Lookup lookup() const;
  /// A step that changes files: its vertex; its cache entry for `key` on the current state,
  /// or else `make` run (what it returns is saved for next time); then the state after it,
  /// with the history entry `created_by`. A failure is shown on the vertex and thrown as
  /// "<file>:<line>: <context><why>".
  void file_step(const image::dockerfile::Instruction& instruction, const std::string& key,
                 const std::string& created_by, const std::string& context,
                 const std::function<CachedStep(BuildOutput::Vertex& vertex)>& make);
  /// berth::Error "<file>:<line>: <what>".
  [[noreturn]] void fail(const image::dockerfile::Instruction& instruction,
                         const std::string& what) const;
};

// The steps that change files (each a vertex of the output, each cached).
void run_instruction(StageRun& run, const image::dockerfile::Instruction& instruction);
void copy_instruction(StageRun& run, const image::dockerfile::Instruction& instruction);
void workdir_instruction(StageRun& run, const image::dockerfile::Instruction& instruction);
/// `path` from the stage's working directory, when relative.
std::string absolute_workdir(const StageRun& run, const std::string& path);
/// The steps that change only the image config (ENV, LABEL, CMD, ...); false when
/// `instruction` is not one.
bool config_instruction(StageRun& run, const image::dockerfile::Instruction& instruction);

}  // namespace berth::builder
