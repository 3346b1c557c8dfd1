// `berth container pause|unpause|top|stats`. Flags and printing only; the work is in
// orchestrator/containers/observe.
#include "cmd/container_observe.h"

#include <array>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cmd/image_output.h"
#include "orchestrator/containers/observe.h"
#include "util/error.h"

namespace berth::cmd {

namespace {

using containers::ContainerRecord;
using containers::ContainerStore;

/// Runs `action` on each named container and prints the name, as Docker does; one that fails
/// does not stop the others. Every failure is reported, the last one as the command's error.
void for_each_container(
    const GlobalOptions& global, const std::vector<std::string>& names,
    const std::function<void(const ContainerStore&, const ContainerRecord&)>& action) {
  global.prepare();
  const ContainerStore store(global.root, global.runroot);
  std::string last_error;
  for (const auto& name : names) {
    try {
      action(store, store.find(name));
      std::cout << name << "\n";
    } catch (const Error& e) {
      if (!last_error.empty()) {
        std::cerr << "berth: error: " << last_error << "\n";
      }
      last_error = e.what();
    }
  }
  if (!last_error.empty()) {
    throw Error(last_error);
  }
}

void run_top(const GlobalOptions& global, const std::string& name,
             const std::vector<std::string>& ps_args) {
  global.prepare();
  const ContainerStore store(global.root, global.runroot);
  const auto processes = containers::container_top(store, store.find(name), ps_args);
  Table table(processes.titles);
  for (const auto& row : processes.rows) {
    table.add(row);
  }
  std::cout << table.render();
}

/// A size as Docker's units library writes it: divided by `base` while it reaches it, with
/// `digits` significant digits ("64MiB", "1.5MiB", "12.3kB", "0B").
template <std::size_t N>
std::string size_text(double size, double base, const std::array<const char*, N>& units,
                      int digits) {
  std::size_t unit = 0;
  while (size >= base && unit + 1 < units.size()) {
    size /= base;
    ++unit;
  }
  return fmt::format("{:.{}g}{}", size, digits, units[unit]);
}

/// Memory: powers of 1024, four significant digits.
std::string binary_size(std::uint64_t bytes) {
  static constexpr std::array units = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  return size_text(static_cast<double>(bytes), 1024.0, units, 4);
}

/// Network and block I/O: powers of 1000, three significant digits.
std::string decimal_size(std::uint64_t bytes) {
  static constexpr std::array units = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
  return size_text(static_cast<double>(bytes), 1000.0, units, 3);
}

struct StatsFlags {
  std::vector<std::string> names;
  bool no_stream = false;
  bool all = false;
  bool no_trunc = false;
  std::string format;
};

void run_stats(const GlobalOptions& global, const StatsFlags& flags) {
  if (!flags.no_stream) {
    throw Error("stats without --no-stream is not supported yet; use --no-stream");
  }
  if (!flags.format.empty() && flags.format != "table" && flags.format != "json") {
    throw Error("invalid --format \"" + flags.format + "\": expected table or json");
  }
  global.prepare();
  const ContainerStore store(global.root, global.runroot);
  std::vector<ContainerRecord> records;
  std::vector<std::string> asked;  // Docker's "Container": the name as given, else the id
  if (flags.names.empty()) {
    for (auto& record : store.list()) {
      if (!flags.all) {
        const auto status = store.live_state(record.id).state.status;
        if (status != "running" && status != "paused") {
          continue;
        }
      }
      asked.push_back(flags.no_trunc ? record.id : record.id.substr(0, 12));
      records.push_back(std::move(record));
    }
  } else {
    for (const auto& name : flags.names) {
      records.push_back(store.find(name));
      asked.push_back(name);
    }
  }
  Table table({"CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O",
               "BLOCK I/O", "PIDS"});
  const auto all_stats = containers::sample_stats(store, records);
  for (std::size_t i = 0; i < all_stats.size(); ++i) {
    const auto& stats = all_stats[i];
    const double memory_percent = stats.memory_limit == 0
                                      ? 0.0
                                      : static_cast<double>(stats.memory_usage) /
                                            static_cast<double>(stats.memory_limit) * 100.0;
    const std::string id = flags.no_trunc ? stats.id : stats.id.substr(0, 12);
    const std::string cpu = fmt::format("{:.2f}%", stats.cpu_percent);
    const std::string memory =
        binary_size(stats.memory_usage) + " / " + binary_size(stats.memory_limit);
    const std::string memory_share = fmt::format("{:.2f}%", memory_percent);
    const std::string network = decimal_size(stats.net_rx) + " / " + decimal_size(stats.net_tx);
    const std::string block =
        decimal_size(stats.block_read) + " / " + decimal_size(stats.block_write);
    const std::string pids = std::to_string(stats.pids);
    if (flags.format == "json") {
      const nlohmann::json row = {
          {"BlockIO", block},   {"CPUPerc", cpu},          {"Container", asked[i]},
          {"ID", id},           {"MemPerc", memory_share}, {"MemUsage", memory},
          {"Name", stats.name}, {"NetIO", network},        {"PIDs", pids}};
      std::cout << row.dump() << "\n";
    } else {
      table.add({id, stats.name, cpu, memory, memory_share, network, block, pids});
    }
  }
  if (flags.format != "json") {
    std::cout << table.render();
  }
}

}  // namespace

void add_container_observe_commands(CLI::App& container, const GlobalOptions& global) {
  auto pause_names = std::make_shared<std::vector<std::string>>();
  CLI::App* pause =
      container.add_subcommand("pause", "Pause all processes within one or more containers");
  pause->add_option("container", *pause_names, "Names or ids")->required();
  pause->callback([&global, pause_names] {
    for_each_container(global, *pause_names, containers::pause_container);
  });

  auto unpause_names = std::make_shared<std::vector<std::string>>();
  CLI::App* unpause =
      container.add_subcommand("unpause", "Unpause all processes within one or more containers");
  unpause->add_option("container", *unpause_names, "Names or ids")->required();
  unpause->callback([&global, unpause_names] {
    for_each_container(global, *unpause_names, containers::unpause_container);
  });

  // CONTAINER [ps OPTIONS]: everything after the name goes to ps, so read what the parser
  // left, as exec does.
  CLI::App* top = container.add_subcommand("top", "Display the running processes of a container");
  top->fallthrough(false);
  top->prefix_command();
  top->callback([&global, top] {
    const std::vector<std::string> rest = top->remaining();
    if (rest.empty()) {
      throw Error("top requires a container");
    }
    run_top(global, rest.front(), std::vector<std::string>(rest.begin() + 1, rest.end()));
  });

  auto stats_flags = std::make_shared<StatsFlags>();
  CLI::App* stats =
      container.add_subcommand("stats", "Display containers' resource usage statistics");
  stats->add_option("container", stats_flags->names, "Names or ids (default: all running)");
  stats->add_flag("--no-stream", stats_flags->no_stream, "Print one sample and exit");
  stats->add_flag("-a,--all", stats_flags->all, "Show stopped containers too");
  stats->add_flag("--no-trunc", stats_flags->no_trunc, "Show full container ids");
  stats->add_option("--format", stats_flags->format, "table or json");
  stats->callback([&global, stats_flags] { run_stats(global, *stats_flags); });
}

}  // namespace berth::cmd
