// The compose commands that look at a project: top, port and version here; ps, ls and images
// in their own files (compose_observe.h). Flags and printing only.
#include "cmd/compose_observe.h"

#include <algorithm>
#include <charconv>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cmd/compose_project.h"
#include "cmd/container_output.h"
#include "cmd/image_output.h"
#include "orchestrator/containers/networking.h"
#include "orchestrator/containers/observe.h"
#include "orchestrator/containers/project_containers.h"
#include "util/error.h"

namespace berth::cmd {

namespace {

using containers::ContainerRecord;
using containers::ContainerStore;

/// The project's containers that run now (one-off `run` containers too), sorted by name.
std::vector<ContainerRecord> running_containers(const GlobalOptions& global,
                                                const std::vector<std::string>& services) {
  const ContainerStore store = container_store(global);
  auto records = service_containers(global, resolve_project(global), services, true);
  std::erase_if(records, [&](const ContainerRecord& record) {
    return !containers::is_active(store.live_state(record.id).state.status);
  });
  std::sort(records.begin(), records.end(),
            [](const ContainerRecord& a, const ContainerRecord& b) { return a.name < b.name; });
  return records;
}

/// Each running container's name, then its processes as `ps -ef` shows them, then a blank
/// line (Compose's layout).
void run_top(const GlobalOptions& global, const std::vector<std::string>& services) {
  global.prepare();
  const ContainerStore store = container_store(global);
  for (const auto& record : running_containers(global, services)) {
    const auto processes = containers::container_top(store, record, {});
    Table table(processes.titles);
    for (const auto& row : processes.rows) table.add(row);
    std::cout << record.name << "\n" << table.render() << "\n";
  }
}

struct PortFlags {
  std::string service;
  std::string private_port;
  std::string protocol = "tcp";
  int index = 1;
};

/// The host address of the service's replica `index` for its container port: what Compose
/// prints, `0.0.0.0:8080`.
void run_port(const GlobalOptions& global, const PortFlags& flags) {
  global.prepare();
  if (flags.protocol != "tcp" && flags.protocol != "udp") {
    throw Error("invalid --protocol \"" + flags.protocol + "\": expected tcp or udp");
  }
  unsigned port = 0;
  const char* end = flags.private_port.data() + flags.private_port.size();
  const auto parsed = std::from_chars(flags.private_port.data(), end, port);
  if (parsed.ec != std::errc() || parsed.ptr != end || port == 0 || port > 65535) {
    throw Error("invalid port \"" + flags.private_port + "\": expected a number from 1 to 65535");
  }
  const auto records = running_containers(global, {flags.service});
  const auto replica =
      std::find_if(records.begin(), records.end(), [&](const ContainerRecord& record) {
        return !containers::is_oneoff(record) && containers::number_of(record) == flags.index;
      });
  if (replica == records.end()) {
    throw Error(fmt::format("no container found for {}-{}", flags.service, flags.index));
  }
  const auto networking = containers::container_network(container_store(global), replica->id);
  std::vector<std::string> published;
  if (networking) {
    for (const auto& mapping : networking->ports) {
      if (mapping.container_port == port && mapping.protocol == flags.protocol) {
        std::cout << host_address(mapping) << "\n";
        return;
      }
      published.push_back(fmt::format("{}/{}", mapping.container_port, mapping.protocol));
    }
  }
  throw Error(fmt::format("no port {}/{} for container {}: {}", port, flags.protocol, replica->name,
                          fmt::join(published, ", ")));
}

struct VersionFlags {
  bool short_form = false;
  std::string format = "pretty";
};

void run_version(const VersionFlags& flags) {
  if (flags.short_form) {
    std::cout << BERTH_VERSION << "\n";
  } else if (flags.format == "json") {
    std::cout << nlohmann::json{{"version", BERTH_VERSION}}.dump() << "\n";
  } else if (flags.format == "pretty" || flags.format.empty()) {
    std::cout << "berth version " << BERTH_VERSION << "\n";
  } else {
    throw Error("invalid --format \"" + flags.format + "\": expected pretty or json");
  }
}

}  // namespace

void check_table_or_json(const std::string& format) {
  if (format != "table" && format != "json") {
    throw Error("invalid --format \"" + format + "\": expected table or json");
  }
}

void add_compose_observe_commands(CLI::App& app, const GlobalOptions& global) {
  add_compose_ps_command(app, global);
  add_project_list_command(app, global);
  add_compose_images_command(app, global);

  auto top_services = std::make_shared<std::vector<std::string>>();
  CLI::App* top = app.add_subcommand("top", "Display the running processes");
  top->add_option("service", *top_services, "Services (default: all)");
  top->callback([&global, top_services] { run_top(global, *top_services); });

  auto port_flags = std::make_shared<PortFlags>();
  CLI::App* port = app.add_subcommand("port", "Print the public port for a port binding");
  port->add_option("service", port_flags->service, "Service")->required();
  port->add_option("private_port", port_flags->private_port, "Port inside the container")
      ->required();
  port->add_option("--protocol", port_flags->protocol, "tcp or udp")->capture_default_str();
  port->add_option("--index", port_flags->index,
                   "Index of the container if service has multiple replicas")
      ->capture_default_str();
  port->callback([&global, port_flags] { run_port(global, *port_flags); });

  auto version_flags = std::make_shared<VersionFlags>();
  CLI::App* version = app.add_subcommand("version", "Show the berth version information");
  version->add_flag("--short", version_flags->short_form, "Shows only berth's version number");
  version
      ->add_option("--format", version_flags->format, "Format the output. Values: [pretty | json]")
      ->capture_default_str();
  version->callback([version_flags] { run_version(*version_flags); });
}

}  // namespace berth::cmd
