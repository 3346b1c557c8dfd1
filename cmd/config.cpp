// `berth config`: the resolved model of the project, as Docker Compose prints it.
#include <fstream>
#include <iostream>
#include <set>

#include <fmt/format.h>

#include "cmd/global_options.h"
#include "orchestrator/compose/config_hash.h"
#include "orchestrator/compose/emit.h"
#include "orchestrator/compose/validate.h"
#include "orchestrator/graph.h"
#include "util/error.h"

namespace berth::cmd {

namespace {

struct ConfigOptions {
  std::vector<std::string> services;
  std::string format = "yaml";
  bool quiet = false;
  bool list_services = false;
  bool list_volumes = false;
  bool list_networks = false;
  bool list_images = false;
  bool list_profiles = false;
  bool no_interpolate = false;
  std::string hash;
  std::string output;
};

/// Keeps only `selected` and what they depend on, as `config SERVICE...` shows them.
void select_services(compose::Project& project, const std::vector<std::string>& selected) {
  if (selected.empty()) return;
  const orchestrator::ServiceGraph graph = compose::service_graph(project.model);
  YAML::Node services = project.model["services"];
  for (const auto& name : selected) {
    if (!graph.contains(name)) throw Error(fmt::format("no such service: {}", name));
  }
  const std::set<std::string> keep = graph.with_dependencies(selected);
  for (const auto& name : project.service_names()) {
    if (!keep.contains(name)) services.remove(name);
  }
}

std::string render(const compose::Project& project, const ConfigOptions& options) {
  std::string out;
  auto lines = [&out](const std::vector<std::string>& items) {
    for (const auto& item : items) out += item + "\n";
  };
  auto keys = [&project](const char* kind) {
    std::vector<std::string> names;
    if (const YAML::Node node = project.model[kind]) {
      for (const auto& entry : node) names.push_back(entry.first.Scalar());
    }
    std::sort(names.begin(), names.end());
    return names;
  };
  if (options.list_services) lines(project.service_names());
  if (options.list_volumes) lines(keys("volumes"));
  if (options.list_networks) lines(keys("networks"));
  if (options.list_profiles) lines(project.declared_profiles);
  if (options.list_images) {
    for (const auto& name : project.service_names()) out += project.image_of(name) + "\n";
  }
  if (!options.hash.empty()) {
    std::vector<std::string> names;
    if (options.hash == "*") {
      names = project.service_names();
    } else {
      for (const auto& name : CLI::detail::split(options.hash, ',')) {
        if (!project.model["services"][name]) throw Error(fmt::format("no such service: {}", name));
        names.push_back(name);
      }
    }
    for (const auto& name : names) {
      out += fmt::format("{} {}\n", name, compose::service_config_hash(project.model, name));
    }
  }
  const bool listed = options.list_services || options.list_volumes || options.list_networks ||
                      options.list_profiles || options.list_images || !options.hash.empty();
  if (!listed) {
    const bool escape = !options.no_interpolate;
    out = options.format == "json" ? compose::to_json(project.model, escape)
                                   : compose::to_yaml(project.model, escape);
  }
  return out;
}

void run_config(const GlobalOptions& global, const ConfigOptions& options) {
  global.prepare();
  compose::LoadOptions load = global.load_options();
  load.interpolate = !options.no_interpolate;
  // Deliberately never freed: tearing down the model's nodes one by one costs more than
  // loading them, and the process ends right after (as compilers do with -disable-free).
  // A static keeps it reachable, so leak checkers do not count it.
  static compose::Project* kept = nullptr;
  kept = new compose::Project(compose::load_project(load));
  compose::Project& project = *kept;
  select_services(project, options.services);
  if (options.quiet) return;
  const std::string text = render(project, options);
  if (options.output.empty()) {
    std::cout << text << std::flush;
    return;
  }
  std::ofstream file(options.output, std::ios::binary | std::ios::trunc);
  file << text;
  file.close();
  if (!file) throw Error(fmt::format("{}: cannot write", options.output));
}

}  // namespace

void add_config_command(CLI::App& app, const GlobalOptions& global) {
  auto options = std::make_shared<ConfigOptions>();
  CLI::App* config = app.add_subcommand(
      "config", "Parse, resolve and print the compose project in canonical form");
  config->add_option("service", options->services, "Only these services (and dependencies)");
  config->add_option("--format", options->format, "yaml or json")
      ->check(CLI::IsMember({"yaml", "json"}))
      ->capture_default_str();
  config->add_flag("-q,--quiet", options->quiet, "Only validate; print nothing");
  config->add_flag("--services", options->list_services, "Print the service names");
  config->add_flag("--volumes", options->list_volumes, "Print the volume names");
  config->add_flag("--networks", options->list_networks, "Print the network names");
  config->add_flag("--images", options->list_images, "Print the image of each service");
  config->add_flag("--profiles", options->list_profiles, "Print the profile names");
  config->add_flag("--no-interpolate", options->no_interpolate, "Do not substitute variables");
  config->add_option("--hash", options->hash,
                     "Print the config hash of SERVICE (comma-separated, or \"*\" for all)");
  config->add_option("-o,--output", options->output, "Write to FILE instead of standard output");
  config->callback([&global, options] { run_config(global, *options); });
}

}  // namespace berth::cmd
