// `berth ls`: the compose projects on this host, found from their containers' labels alone
// (as `docker compose ls` does), each with its containers' states and its compose files.
#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cmd/compose_observe.h"
#include "cmd/compose_project.h"
#include "cmd/image_output.h"
#include "orchestrator/containers/project_containers.h"
#include "orchestrator/service_mounts.h"
#include "orchestrator/service_spec.h"
#include "util/error.h"

namespace berth::cmd {

namespace {

using containers::ContainerRecord;

struct ListFlags {
  bool all = false;
  bool quiet = false;
  std::vector<std::string> filters;
  std::string format = "table";
};

/// One project's line: "running(2)" or "exited(1), running(2)", and its compose files.
struct ProjectSummary {
  std::map<std::string, int> states;  // sorted, as Compose prints them
  std::vector<std::string> config_files;
  bool labels_missing = false;  // a container without the config files label

  std::string status() const {
    std::string text;
    for (const auto& [state, count] : states) {
      text += fmt::format("{}{}({})", text.empty() ? "" : ", ", state, count);
    }
    return text;
  }
  std::string files() const {
    if (labels_missing) return "N/A";
    std::string text;
    for (const auto& file : config_files) text += (text.empty() ? "" : ",") + file;
    return text;
  }
};

/// The name patterns of --filter name=X (docker's filters: a regular expression that
/// matches anywhere in the name). berth::Error for any other filter.
std::vector<std::regex> name_patterns(const std::vector<std::string>& filters) {
  std::vector<std::regex> patterns;
  for (const auto& filter : filters) {
    const auto equals = filter.find('=');
    if (equals == std::string::npos) throw Error("bad format of filter (expected name=value)");
    const std::string key = filter.substr(0, equals);
    if (key != "name") throw Error("invalid filter '" + key + "'");
    try {
      patterns.emplace_back(filter.substr(equals + 1));
    } catch (const std::regex_error&) {
      throw Error("invalid filter \"" + filter + "\": not a regular expression");
    }
  }
  return patterns;
}

bool wanted(const std::string& name, const std::vector<std::regex>& patterns) {
  if (patterns.empty()) return true;
  return std::any_of(patterns.begin(), patterns.end(),
                     [&](const std::regex& pattern) { return std::regex_search(name, pattern); });
}

/// The projects of every container with Compose's project label; without `all`, only the
/// containers that are up (Docker's default listing) count.
std::map<std::string, ProjectSummary> project_summaries(const containers::ContainerStore& store,
                                                        bool all) {
  std::map<std::string, ProjectSummary> projects;
  for (const ContainerRecord& record : store.list()) {
    const std::string project = containers::label_of(record, orchestrator::k_project_label);
    if (project.empty()) continue;
    const std::string state = store.live_state(record.id).state.status;
    if (!all && !containers::is_active(state)) continue;
    ProjectSummary& summary = projects[project];
    ++summary.states[state];
    if (record.spec.labels.count(orchestrator::k_config_files_label) == 0) {
      summary.labels_missing = true;
      continue;
    }
    const std::string files = containers::label_of(record, orchestrator::k_config_files_label);
    for (std::size_t start = 0; start <= files.size();) {
      const auto comma = std::min(files.find(',', start), files.size());
      const std::string file = files.substr(start, comma - start);
      auto& known = summary.config_files;
      if (std::find(known.begin(), known.end(), file) == known.end()) known.push_back(file);
      start = comma + 1;
    }
  }
  return projects;
}

void run_list(const GlobalOptions& global, const ListFlags& flags) {
  global.prepare();
  check_table_or_json(flags.format);
  const auto patterns = name_patterns(flags.filters);
  const auto projects = project_summaries(container_store(global), flags.all);
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  Table table({"NAME", "STATUS", "CONFIG FILES"});
  for (const auto& [name, summary] : projects) {
    if (!wanted(name, patterns)) continue;
    if (flags.quiet) {
      std::cout << name << "\n";
      continue;
    }
    if (summary.labels_missing) {
      std::cerr << "warning: a container of project " << name << " has no label "
                << orchestrator::k_config_files_label << "\n";
    }
    rows.push_back(
        {{"Name", name}, {"Status", summary.status()}, {"ConfigFiles", summary.files()}});
    table.add({name, summary.status(), summary.files()});
  }
  if (flags.quiet) return;
  // Compose prints the projects as one JSON array.
  std::cout << (flags.format == "json" ? rows.dump() + "\n" : table.render());
}

}  // namespace

void add_project_list_command(CLI::App& app, const GlobalOptions& global) {
  auto flags = std::make_shared<ListFlags>();
  CLI::App* ls = app.add_subcommand("ls", "List running compose projects");
  ls->add_flag("-a,--all", flags->all, "Show all stopped Compose projects");
  ls->add_flag("-q,--quiet", flags->quiet, "Only display project names");
  ls->add_option("--filter", flags->filters,
                 "Filter output based on conditions provided (supported: name=REGEXP)")
      ->allow_extra_args(false);
  ls->add_option("--format", flags->format, "Format the output. Values: [table | json]")
      ->capture_default_str();
  ls->callback([&global, flags] { run_list(global, *flags); });
}

}  // namespace berth::cmd
