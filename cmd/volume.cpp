// `berth volume create|ls|inspect|rm|prune`: Docker's volume verbs over berth's volumes.
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cmd/global_options.h"
#include "image/progress.h"
#include "orchestrator/containers/container_store.h"
#include "orchestrator/containers/volumes.h"
#include "util/error.h"
#include "volume/volume_filter.h"

namespace berth::cmd {

namespace {

using nlohmann::ordered_json;

containers::ContainerStore store_of(const GlobalOptions& global) {
  return containers::ContainerStore(global.root, global.runroot);
}

/// KEY=VALUE words (--label, --opt) as a map; a bare KEY has an empty value.
std::map<std::string, std::string> pairs_of(const std::vector<std::string>& words) {
  std::map<std::string, std::string> pairs;
  for (const auto& word : words) {
    const auto equals = word.find('=');
    pairs[word.substr(0, equals)] = equals == std::string::npos ? "" : word.substr(equals + 1);
  }
  return pairs;
}

ordered_json inspect_json(const volume::VolumeStore& volumes, const volume::VolumeRecord& record) {
  return {{"CreatedAt", record.created},
          {"Driver", record.driver},
          {"Labels", record.labels},
          {"Mountpoint", volumes.data_path(record.name)},
          {"Name", record.name},
          {"Options", record.options},
          {"Scope", "local"}};
}

struct CreateFlags {
  std::string name;
  std::string driver = "local";
  std::vector<std::string> labels;
  std::vector<std::string> options;
};

struct ListFlags {
  bool quiet = false;
  std::string format;
  std::vector<std::string> filters;
};

struct RemoveFlags {
  std::vector<std::string> names;
  bool force = false;
};

struct PruneFlags {
  bool all = false;
  bool force = false;
  std::vector<std::string> filters;
};

void run_list(const GlobalOptions& global, const ListFlags& flags) {
  global.prepare();
  const volume::VolumeFilter filter(flags.filters);
  if (!flags.format.empty() && flags.format != "json") {
    throw Error("unsupported --format \"" + flags.format + "\": json is");
  }
  const auto store = store_of(global);
  const auto volumes = containers::volume_store(store);
  const std::set<std::string> used = containers::volumes_in_use(store);
  if (!flags.quiet && flags.format.empty()) {
    std::cout << fmt::format("{:<10}{}\n", "DRIVER", "VOLUME NAME");
  }
  for (const auto& record : volumes.list()) {
    if (!filter.matches(record, used.contains(record.name))) continue;
    if (flags.quiet) {
      std::cout << record.name << "\n";
    } else if (flags.format == "json") {
      std::string labels;
      for (const auto& [key, value] : record.labels) {
        labels += (labels.empty() ? "" : ",") + key + "=" + value;
      }
      std::cout << ordered_json{{"Driver", record.driver},
                                {"Labels", labels},
                                {"Mountpoint", volumes.data_path(record.name)},
                                {"Name", record.name},
                                {"Scope", "local"}}
                       .dump()
                << "\n";
    } else {
      std::cout << fmt::format("{:<10}{}\n", record.driver, record.name);
    }
  }
}

void run_remove(const GlobalOptions& global, const RemoveFlags& flags) {
  global.prepare();
  const auto store = store_of(global);
  bool failed = false;
  for (const auto& name : flags.names) {
    try {
      // -f forgives a volume that is not there, never one in use (Docker's rule too).
      if (flags.force && !containers::volume_store(store).find(name)) continue;
      containers::remove_volume(store, name);
      std::cout << name << "\n";
    } catch (const Error& e) {
      std::cerr << "berth: error: " << e.what() << "\n";
      failed = true;
    }
  }
  containers::volume_store(store).sweep();
  if (failed) throw ExitCode{1};
}

}  // namespace

void add_volume_command(CLI::App& app, const GlobalOptions& global) {
  CLI::App* volume = app.add_subcommand("volume", "Manage volumes");
  volume->require_subcommand(1);

  auto create_flags = std::make_shared<CreateFlags>();
  CLI::App* create = volume->add_subcommand("create", "Create a volume");
  create->add_option("name", create_flags->name, "Volume name (none: a random one)");
  create->add_option("-d,--driver", create_flags->driver, "Volume driver (local)");
  create->add_option("--label", create_flags->labels, "Label KEY=VALUE")->allow_extra_args(false);
  create->add_option("-o,--opt", create_flags->options, "Driver option KEY=VALUE (type, device, o)")
      ->allow_extra_args(false);
  create->callback([&global, create_flags] {
    global.prepare();
    volume::VolumeSpec spec;
    spec.name = create_flags->name;
    spec.driver = create_flags->driver;
    spec.labels = pairs_of(create_flags->labels);
    spec.options = pairs_of(create_flags->options);
    const auto store = store_of(global);
    std::cout << containers::volume_store(store).create(spec).name << "\n";
  });

  auto list_flags = std::make_shared<ListFlags>();
  CLI::App* ls = volume->add_subcommand("ls", "List volumes");
  ls->alias("list");
  ls->add_flag("-q,--quiet", list_flags->quiet, "Only names");
  ls->add_option("--format", list_flags->format, "json for one JSON object per line");
  ls->add_option("-f,--filter", list_flags->filters,
                 "label=KEY[=VALUE], name=PART, driver=NAME, dangling=true|false")
      ->allow_extra_args(false);
  ls->callback([&global, list_flags] { run_list(global, *list_flags); });

  auto inspect_names = std::make_shared<std::vector<std::string>>();
  CLI::App* inspect = volume->add_subcommand("inspect", "Show volumes in JSON");
  inspect->add_option("volume", *inspect_names, "Names")->required();
  inspect->callback([&global, inspect_names] {
    global.prepare();
    const auto volumes = containers::volume_store(store_of(global));
    ordered_json out = ordered_json::array();
    std::string failure;
    for (const auto& name : *inspect_names) {
      try {
        out.push_back(inspect_json(volumes, volumes.get(name)));
      } catch (const Error& e) {
        if (!failure.empty()) std::cerr << "berth: error: " << failure << "\n";
        failure = e.what();
      }
    }
    std::cout << out.dump(4) << "\n";
    if (!failure.empty()) throw Error(failure);
  });

  auto remove_flags = std::make_shared<RemoveFlags>();
  CLI::App* rm = volume->add_subcommand("rm", "Remove volumes");
  rm->alias("remove");
  rm->add_option("volume", remove_flags->names, "Names")->required();
  rm->add_flag("-f,--force", remove_flags->force, "No error for a volume that does not exist");
  rm->callback([&global, remove_flags] { run_remove(global, *remove_flags); });

  auto prune_flags = std::make_shared<PruneFlags>();
  CLI::App* prune = volume->add_subcommand("prune", "Remove volumes no container uses");
  prune->add_flag("-a,--all", prune_flags->all, "Named volumes too, not only anonymous ones");
  prune->add_flag("-f,--force", prune_flags->force, "Do not ask (berth never asks)");
  prune->add_option("--filter", prune_flags->filters, "label=KEY[=VALUE], label!=KEY[=VALUE]")
      ->allow_extra_args(false);
  prune->callback([&global, prune_flags] {
    global.prepare();
    const volume::VolumeFilter filter(prune_flags->filters);
    const auto report = containers::prune_volumes(store_of(global), prune_flags->all, filter);
    if (!report.removed.empty()) {
      std::cout << "Deleted Volumes:\n";
      for (const auto& name : report.removed) std::cout << name << "\n";
      std::cout << "\n";
    }
    std::cout << "Total reclaimed space: "
              << image::human_size(static_cast<std::int64_t>(report.reclaimed)) << "\n";
  });
}

}  // namespace berth::cmd
