// `berth cp` and `berth container cp`: flags, which side is the container, and which
// containers of a service; the copying itself is orchestrator/containers/copy.h.
#include "cmd/compose_cp.h"

#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cmd/compose_project.h"
#include "cmd/progress_display.h"
#include "orchestrator/containers/copy.h"
#include "orchestrator/containers/copy_paths.h"
#include "orchestrator/containers/project_containers.h"
#include "util/error.h"

namespace berth::cmd {

namespace {

using containers::ContainerRecord;
using containers::CopyEndpoint;

struct CpFlags {
  std::string source;
  std::string destination;
  bool archive = false;
  bool follow_link = false;
  bool quiet = false;  // Docker's -q: berth prints no progress for a copy anyway
  bool all = false;    // Compose's --all: one-off `run` containers too
  int index = 0;       // 0: every replica (into a service), the first (out of one)
};

/// Which side names the container (or service), with the words of `noun`'s tool when
/// neither or both do.
struct Direction {
  CopyEndpoint source;
  CopyEndpoint destination;
  bool from_container = false;
  const std::string& name() const {
    return from_container ? source.container : destination.container;
  }
};

Direction direction(const CpFlags& flags, const char* both_error, const char* neither_error) {
  Direction result{containers::split_copy_arg(flags.source),
                   containers::split_copy_arg(flags.destination), false};
  if (!result.source.container.empty() && !result.destination.container.empty()) {
    throw Error(both_error);
  }
  if (result.source.container.empty() && result.destination.container.empty()) {
    throw Error(neither_error);
  }
  if (result.source.path.empty()) throw Error("source can not be empty");
  if (result.destination.path.empty()) throw Error("destination can not be empty");
  result.from_container = !result.source.container.empty();
  return result;
}

containers::CopyOptions copy_options(const CpFlags& flags) {
  containers::CopyOptions options;
  options.archive = flags.archive;
  options.follow_link = flags.follow_link;
  return options;
}

void copy_one(const containers::ContainerStore& store, const ContainerRecord& record,
              const std::string& label, const Direction& direction,
              const containers::CopyOptions& options) {
  if (direction.from_container) {
    containers::copy_from_container(store, record, label, direction.source.path,
                                    direction.destination.path, options);
  } else {
    containers::copy_to_container(store, record, label, direction.source.path,
                                  direction.destination.path, options);
  }
}

/// Compose's choice: with --index that replica; else the first container out of a service,
/// or every one (running or not) into it.
std::vector<ContainerRecord> targets(const GlobalOptions& global, const CpFlags& flags,
                                     const Direction& direction) {
  const ProjectTarget project = resolve_project(global);
  const std::string& service = direction.name();
  // `no such service: x` for a name neither the file nor any container knows.
  auto found = service_containers(global, project, {service}, flags.all && flags.index == 0);
  if (flags.index > 0) {
    std::erase_if(found, [&](const ContainerRecord& record) {
      return containers::is_oneoff(record) || containers::number_of(record) != flags.index;
    });
    if (found.empty()) {
      throw Error(fmt::format("service \"{}\" is not running container #{}", service, flags.index));
    }
    return found;
  }
  if (found.empty()) throw Error(fmt::format("no container found for service \"{}\"", service));
  if (direction.from_container) found.resize(1);
  return found;
}

void run_compose_cp(const GlobalOptions& global, const CpFlags& flags) {
  global.prepare();
  const Direction where =
      direction(flags, "copying between services is not supported", "unknown copy direction");
  const auto store = container_store(global);
  const auto options = copy_options(flags);
  ProgressDisplay display(progress_mode(global.progress));
  const auto progress = display.callback();
  for (const ContainerRecord& record : targets(global, flags, where)) {
    progress(fmt::format("Container {}  Copying", record.name));
    copy_one(store, record, record.name, where, options);
    progress(fmt::format("Container {}  Copied", record.name));
  }
}

void run_container_cp(const GlobalOptions& global, const CpFlags& flags) {
  global.prepare();
  const Direction where = direction(flags, "copying between containers is not supported",
                                    "must specify at least one container source");
  const auto store = container_store(global);
  copy_one(store, store.find(where.name()), where.name(), where, copy_options(flags));
}

void add_common_flags(CLI::App& cp, CpFlags& flags, const char* container_word) {
  cp.add_option("source", flags.source,
                fmt::format("{}:SRC_PATH, or a local SRC_PATH (- reads a tar archive from "
                            "standard input)",
                            container_word))
      ->required();
  cp.add_option("destination", flags.destination,
                fmt::format("{}:DEST_PATH, or a local DEST_PATH (- writes a tar archive to "
                            "standard output)",
                            container_word))
      ->required();
  cp.add_flag("-a,--archive", flags.archive, "Archive mode (copy all uid/gid information)");
  cp.add_flag("-L,--follow-link", flags.follow_link, "Always follow symbol link in SRC_PATH");
}

}  // namespace

void add_compose_cp_command(CLI::App& app, const GlobalOptions& global) {
  auto flags = std::make_shared<CpFlags>();
  CLI::App* cp = app.add_subcommand(
      "cp", "Copy files/folders between a service container and the local filesystem");
  cp->footer(
      "Usage: berth cp [OPTIONS] SERVICE:SRC_PATH DEST_PATH|-\n"
      "       berth cp [OPTIONS] SRC_PATH|- SERVICE:DEST_PATH");
  add_common_flags(*cp, *flags, "SERVICE");
  cp->add_flag("--all", flags->all, "Include containers created by the run command");
  cp->add_option("--index", flags->index,
                 "Index of the container if service has multiple replicas");
  cp->callback([&global, flags] { run_compose_cp(global, *flags); });
}

void add_container_cp_command(CLI::App& container, const GlobalOptions& global) {
  auto flags = std::make_shared<CpFlags>();
  CLI::App* cp = container.add_subcommand(
      "cp", "Copy files/folders between a container and the local filesystem");
  cp->footer(
      "Usage: berth container cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n"
      "       berth container cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH\n\n"
      "Use '-' as the source to read a tar archive from stdin\n"
      "and extract it to a directory destination in a container.\n"
      "Use '-' as the destination to stream a tar archive of a\n"
      "container source to stdout.");
  add_common_flags(*cp, *flags, "CONTAINER");
  cp->add_flag("-q,--quiet", flags->quiet,
               "Suppress progress output during copy. Progress output is automatically "
               "suppressed if no terminal is attached to STDERR");
  cp->callback([&global, flags] { run_container_cp(global, *flags); });
}

}  // namespace berth::cmd
