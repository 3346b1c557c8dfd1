// `berth network ls|create|rm|inspect|prune|connect|disconnect`: Docker's network verbs over
// berth's networks.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cmd/global_options.h"
#include "network/network_store.h"
#include "orchestrator/containers/container_store.h"
#include "orchestrator/containers/networking.h"
#include "util/error.h"

namespace berth::cmd {

namespace {

using nlohmann::json;

network::NetworkStore store_of(const GlobalOptions& global) {
  return network::NetworkStore(
      containers::network_options(containers::ContainerStore(global.root, global.runroot), ""));
}

json inspect_json(const network::NetworkStore& networks, const network::NetworkRecord& record) {
  const auto live = networks.current(record);
  json config = json::array();
  if (!live.subnet.empty()) {
    json entry{{"Subnet", live.subnet}, {"Gateway", live.gateway}};
    if (!live.ip_range.empty()) entry["IPRange"] = live.ip_range;
    config.push_back(entry);
  }
  json endpoints = json::object();
  for (const auto& [id, connection] : networks.connections(record)) {
    endpoints[id] = {
        {"IPv4Address", connection.address + "/" +
                            (live.subnet.empty() ? std::string("32")
                                                 : live.subnet.substr(live.subnet.find('/') + 1))},
        {"MacAddress", connection.mac},
        {"Name", connection.names.empty() ? id : connection.names.front()}};
  }
  return {{"Name", record.name},
          {"Id", record.id},
          {"Created", record.created},
          {"Driver", "bridge"},
          {"Scope", "local"},
          {"Internal", record.internal},
          {"IPAM", {{"Driver", "default"}, {"Config", config}}},
          {"Options", {{"com.docker.network.bridge.name", record.bridge}}},
          {"Labels", record.labels},
          {"Containers", endpoints}};
}

struct CreateFlags {
  std::string name;
  std::string subnet;
  std::string gateway;
  std::string ip_range;
  bool internal = false;
  std::vector<std::string> labels;
};

}  // namespace

void add_network_command(CLI::App& app, const GlobalOptions& global) {
  CLI::App* network = app.add_subcommand("network", "Manage networks");
  network->require_subcommand(1);

  auto create_flags = std::make_shared<CreateFlags>();
  CLI::App* create = network->add_subcommand("create", "Create a network");
  create->add_option("name", create_flags->name, "Network name")->required();
  create->add_option("--subnet", create_flags->subnet, "Subnet in CIDR form");
  create->add_option("--gateway", create_flags->gateway, "Gateway address");
  create->add_option("--ip-range", create_flags->ip_range, "Range for dynamic addresses");
  create->add_flag("--internal", create_flags->internal, "No traffic to or from outside");
  create->add_option("--label", create_flags->labels, "Label KEY=VALUE")->allow_extra_args(false);
  create->callback([&global, create_flags] {
    global.prepare();
    network::NetworkSpec spec;
    spec.name = create_flags->name;
    spec.subnet = create_flags->subnet;
    spec.gateway = create_flags->gateway;
    spec.ip_range = create_flags->ip_range;
    spec.internal = create_flags->internal;
    for (const auto& label : create_flags->labels) {
      const auto equals = label.find('=');
      spec.labels[label.substr(0, equals)] =
          equals == std::string::npos ? "" : label.substr(equals + 1);
    }
    std::cout << store_of(global).create(spec).id << "\n";
  });

  auto ls_format = std::make_shared<std::string>();
  auto ls_quiet = std::make_shared<bool>(false);
  CLI::App* ls = network->add_subcommand("ls", "List networks");
  ls->alias("list");
  ls->add_flag("-q,--quiet", *ls_quiet, "Only ids");
  ls->add_option("--format", *ls_format, "json for one JSON object per line");
  ls->callback([&global, ls_format, ls_quiet] {
    global.prepare();
    const auto networks = store_of(global);
    if (!*ls_quiet && ls_format->empty()) {
      std::cout << fmt::format("{:<14}{:<24}{:<10}{}\n", "NETWORK ID", "NAME", "DRIVER", "SCOPE");
    }
    for (const auto& record : networks.list()) {
      if (*ls_quiet) {
        std::cout << record.id.substr(0, 12) << "\n";
      } else if (*ls_format == "json") {
        std::cout << json{{"ID", record.id.substr(0, 12)},
                          {"Name", record.name},
                          {"Driver", "bridge"},
                          {"Scope", "local"},
                          {"Internal", record.internal},
                          {"CreatedAt", record.created}}
                         .dump()
                  << "\n";
      } else if (!ls_format->empty()) {
        throw Error("unsupported --format \"" + *ls_format + "\": json is");
      } else {
        std::cout << fmt::format("{:<14}{:<24}{:<10}{}\n", record.id.substr(0, 12), record.name,
                                 "bridge", "local");
      }
    }
  });

  auto rm_names = std::make_shared<std::vector<std::string>>();
  CLI::App* rm = network->add_subcommand("rm", "Remove networks");
  rm->alias("remove");
  rm->add_option("network", *rm_names, "Names or ids")->required();
  rm->callback([&global, rm_names] {
    global.prepare();
    containers::sweep_networks(containers::ContainerStore(global.root, global.runroot));
    auto networks = store_of(global);
    std::string failure;
    for (const auto& name : *rm_names) {
      try {
        networks.remove(networks.find(name));
        std::cout << name << "\n";
      } catch (const Error& e) {
        std::cerr << "Error response from daemon: " << e.what() << "\n";
        failure = e.what();
      }
    }
    if (!failure.empty()) throw ExitCode{1};
  });

  auto inspect_names = std::make_shared<std::vector<std::string>>();
  CLI::App* inspect = network->add_subcommand("inspect", "Show networks in JSON");
  inspect->add_option("network", *inspect_names, "Names or ids")->required();
  inspect->callback([&global, inspect_names] {
    global.prepare();
    const auto networks = store_of(global);
    json out = json::array();
    for (const auto& name : *inspect_names)
      out.push_back(inspect_json(networks, networks.find(name)));
    std::cout << out.dump(4) << "\n";
  });

  struct ConnectFlags {
    std::string network;
    std::string container;
    std::vector<std::string> aliases;
    std::string ip;
  };
  auto connect_flags = std::make_shared<ConnectFlags>();
  CLI::App* connect = network->add_subcommand("connect", "Connect a container to a network");
  connect->add_option("network", connect_flags->network, "Network name or id")->required();
  connect->add_option("container", connect_flags->container, "Container name or id")->required();
  connect->add_option("--alias", connect_flags->aliases, "Name in the network's DNS")
      ->allow_extra_args(false);
  connect->add_option("--ip", connect_flags->ip, "IPv4 address");
  connect->callback([&global, connect_flags] {
    global.prepare();
    const containers::ContainerStore store(global.root, global.runroot);
    containers::connect_to_network(store, store.find(connect_flags->container),
                                   connect_flags->network, connect_flags->aliases,
                                   connect_flags->ip, self_executable());
  });

  struct DisconnectFlags {
    std::string network;
    std::string container;
    bool force = false;
  };
  auto disconnect_flags = std::make_shared<DisconnectFlags>();
  CLI::App* disconnect =
      network->add_subcommand("disconnect", "Disconnect a container from a network");
  disconnect->add_option("network", disconnect_flags->network, "Network name or id")->required();
  disconnect->add_option("container", disconnect_flags->container, "Container name or id")
      ->required();
  disconnect->add_flag("-f,--force", disconnect_flags->force, "Accepted for Docker's sake");
  disconnect->callback([&global, disconnect_flags] {
    global.prepare();
    const containers::ContainerStore store(global.root, global.runroot);
    containers::disconnect_from_network(store, store.find(disconnect_flags->container),
                                        disconnect_flags->network);
  });

  auto prune_force = std::make_shared<bool>(false);
  CLI::App* prune = network->add_subcommand("prune", "Remove networks no container uses");
  prune->add_flag("-f,--force", *prune_force, "Do not ask (berth never asks)");
  prune->callback([&global] {
    global.prepare();
    // First what a killed berth left, so that its networks count as unused again.
    containers::sweep_networks(containers::ContainerStore(global.root, global.runroot));
    auto networks = store_of(global);
    std::vector<std::string> removed;
    for (const auto& record : networks.list()) {
      if (record.name == containers::k_default_network) continue;  // as Docker's bridge
      if (!networks.connections(record).empty()) continue;
      networks.remove(record);
      removed.push_back(record.name);
    }
    if (!removed.empty()) {
      std::cout << "Deleted Networks:\n";
      for (const auto& name : removed) std::cout << name << "\n";
    }
  });
}

}  // namespace berth::cmd
