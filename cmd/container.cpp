// `berth container ...`: Docker's single-container verbs. Flags and printing only; the work
// is in orchestrator/containers.
#include <signal.h>
#include <unistd.h>

#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cmd/compose_cp.h"
#include "cmd/container_flags.h"
#include "cmd/container_observe.h"
#include "cmd/container_output.h"
#include "cmd/container_start.h"
#include "cmd/global_options.h"
#include "cmd/image_output.h"
#include "cmd/signal_names.h"
#include "orchestrator/containers/attach.h"
#include "orchestrator/containers/events.h"
#include "orchestrator/containers/lifecycle.h"
#include "orchestrator/containers/logs.h"
#include "orchestrator/containers/networking.h"
#include "orchestrator/containers/volumes.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/terminal.h"

namespace berth::cmd {

namespace {

using containers::ContainerRecord;
using containers::ContainerStore;
using nlohmann::json;

ContainerStore store_of(const GlobalOptions& global) {
  return ContainerStore(global.root, global.runroot);
}

ContainerRecord create_from(const GlobalOptions& global, const RunFlags& flags) {
  const image::ImageStore images(global.root);
  containers::CreateOptions options;
  options.runtime = flags.runtime;
  options.auto_remove = flags.auto_remove;
  return containers::create_container(images, store_of(global),
                                      to_spec(flags, fs::current_directory()), options);
}

int run_run(const GlobalOptions& global, const RunFlags& flags) {
  global.prepare();
  if (flags.tty && flags.interactive && !flags.detach && ::isatty(STDIN_FILENO) == 0) {
    throw Error("the input device is not a TTY");  // Docker's words
  }
  const ContainerStore store = store_of(global);
  const ContainerRecord record = create_from(global, flags);
  int exit_code = 0;
  try {
    exit_code = start_and_attach(store, record, !flags.detach, flags.interactive);
  } catch (const Error& e) {
    // Docker's codes: 127 when the command is not found, 126 when it cannot be run, 125
    // when the container could not start for another reason.
    int code = store.live_state(record.id).state.exit_code;
    if (code != 126 && code != 127) code = 125;
    if (record.auto_remove) containers::remove_container(store, record, true, true);
    std::cerr << "berth: error: " << e.what() << "\n";
    throw ExitCode(code);
  }
  if (flags.detach) std::cout << record.id << "\n";
  return exit_code;
}

void run_create(const GlobalOptions& global, const RunFlags& flags) {
  global.prepare();
  std::cout << create_from(global, flags).id << "\n";
}

struct StartFlags {
  std::vector<std::string> names;
  bool attach = false;
  bool interactive = false;
};

int run_start(const GlobalOptions& global, const StartFlags& flags) {
  global.prepare();
  if ((flags.attach || flags.interactive) && flags.names.size() > 1) {
    throw Error("you cannot start and attach multiple containers at once");  // Docker's words
  }
  const ContainerStore store = store_of(global);
  for (const auto& name : flags.names) {
    const ContainerRecord record = store.find(name);
    const auto live = store.live_state(record.id);
    if (live.state.status == "paused") {
      throw Error("cannot start a paused container, try unpause instead");  // Docker's words
    }
    if (live.state.status == "running" || live.state.status == "restarting") {
      if (!flags.attach) std::cout << name << "\n";
      continue;
    }
    const int code = start_and_attach(store, record, flags.attach || flags.interactive,
                                      flags.interactive);
    if (flags.attach || flags.interactive) return code;
    std::cout << name << "\n";
  }
  return 0;
}

void run_stop(const GlobalOptions& global, const std::vector<std::string>& names, int timeout) {
  global.prepare();
  const ContainerStore store = store_of(global);
  for (const auto& name : names) {
    std::optional<std::chrono::seconds> grace;
    if (timeout >= 0) grace = std::chrono::seconds(timeout);
    containers::stop_container(store, store.find(name), grace);
    std::cout << name << "\n";
  }
}

void run_kill(const GlobalOptions& global, const std::vector<std::string>& names,
              const std::string& signal) {
  global.prepare();
  const ContainerStore store = store_of(global);
  const int number = signal_number(signal);
  for (const auto& name : names) {
    containers::kill_container(store, store.find(name), number);
    std::cout << name << "\n";
  }
}

void run_restart(const GlobalOptions& global, const std::vector<std::string>& names, int timeout) {
  global.prepare();
  const ContainerStore store = store_of(global);
  for (const auto& name : names) {
    const ContainerRecord record = store.find(name);
    std::optional<std::chrono::seconds> grace;
    if (timeout >= 0) grace = std::chrono::seconds(timeout);
    containers::stop_container(store, record, grace);
    containers::start_container(store, record, self_executable());
    containers::record_event(store, record, "restart");
    std::cout << name << "\n";
  }
}

void run_remove(const GlobalOptions& global, const std::vector<std::string>& names, bool force,
                bool volumes) {
  global.prepare();
  const ContainerStore store = store_of(global);
  std::string first_error;
  for (const auto& name : names) {
    try {
      containers::remove_container(store, store.find(name), force, volumes);
      std::cout << name << "\n";
    } catch (const Error& e) {
      // Docker removes what it can and reports each failure.
      if (first_error.empty())
        first_error = e.what();
      else
        std::cerr << "berth: error: " << e.what() << "\n";
    }
  }
  if (!first_error.empty()) throw Error(first_error);
}

int run_wait(const GlobalOptions& global, const std::vector<std::string>& names) {
  global.prepare();
  const ContainerStore store = store_of(global);
  int last = 0;
  for (const auto& name : names) {
    last = containers::wait_container(store, store.find(name));
    std::cout << last << "\n";
  }
  return 0;
}

struct ListFlags {
  bool all = false;
  bool quiet = false;
  std::vector<std::string> filters;
  std::string format;
};

void run_list(const GlobalOptions& global, const ListFlags& flags) {
  global.prepare();
  const ContainerStore store = store_of(global);
  std::vector<std::pair<std::string, std::string>> label_filters;
  for (const auto& filter : flags.filters) {
    if (!filter.starts_with("label="))
      throw Error("invalid --filter \"" + filter + "\": only label=KEY[=VALUE] is supported");
    const std::string rest = filter.substr(6);
    const auto equals = rest.find('=');
    label_filters.emplace_back(rest.substr(0, equals),
                               equals == std::string::npos ? "\x01" : rest.substr(equals + 1));
  }
  Table table({"CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"});
  for (const auto& record : store.list()) {
    const auto live = store.live_state(record.id);
    const bool running = live.state.status == "running" || live.state.status == "restarting" ||
                         live.state.status == "paused";
    if (!flags.all && !running) continue;
    bool wanted = true;
    for (const auto& [key, value] : label_filters) {
      const auto it = record.spec.labels.find(key);
      if (it == record.spec.labels.end() || (value != "\x01" && it->second != value))
        wanted = false;
    }
    if (!wanted) continue;
    std::string ports;
    if (running) {
      if (const auto networking = containers::container_network(store, record.id)) {
        ports = containers::ports_text(*networking);
      }
    }
    if (flags.quiet) {
      std::cout << record.id.substr(0, 12) << "\n";
    } else if (flags.format == "json") {
      json row = {{"ID", record.id.substr(0, 12)},
                  {"Image", record.image},
                  {"Command", command_text(record)},
                  {"CreatedAt", record.created},
                  {"State", live.state.status},
                  {"Status", status_text(live)},
                  {"Names", record.name},
                  {"Labels", record.spec.labels},
                  {"Ports", ports}};
      std::cout << row.dump() << "\n";
    } else {
      table.add({record.id.substr(0, 12), record.image, command_text(record),
                 time_ago(parse_time(record.created)), status_text(live), ports, record.name});
    }
  }
  if (!flags.quiet && flags.format != "json") std::cout << table.render();
}

void run_logs(const GlobalOptions& global, const std::string& name,
              const containers::LogOptions& options) {
  global.prepare();
  const ContainerStore store = store_of(global);
  containers::print_logs(store, store.find(name), options, std::cout, std::cerr);
}

void run_inspect(const GlobalOptions& global, const std::vector<std::string>& names) {
  global.prepare();
  const ContainerStore store = store_of(global);
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& name : names) {
    const ContainerRecord record = store.find(name);
    const auto live = store.live_state(record.id);
    const auto& state = live.state;
    nlohmann::ordered_json item;
    item["Id"] = record.id;
    item["Created"] = record.created;
    item["Name"] = "/" + record.name;
    item["Image"] = record.image_id;
    item["State"] = {{"Status", state.status},
                     {"Running", state.status == "running" || state.status == "paused"},
                     {"Paused", state.status == "paused"},
                     {"Restarting", state.status == "restarting"},
                     {"OOMKilled", state.oom_killed},
                     {"Dead", live.monitor_lost},
                     {"Pid", state.pid},
                     {"ExitCode", state.exit_code},
                     {"Error", state.error},
                     {"StartedAt", state.started_at},
                     {"FinishedAt", state.finished_at}};
    if (!state.health.empty()) {
      json log = json::array();
      for (const auto& result : state.health_log) {
        log.push_back({{"Start", result.start},
                       {"End", result.end},
                       {"ExitCode", result.exit_code},
                       {"Output", result.output}});
      }
      item["State"]["Health"] = {
          {"Status", state.health}, {"FailingStreak", state.failing_streak}, {"Log", log}};
    }
    item["RestartCount"] = state.restart_count;
    item["Driver"] = "overlay";
    item["LogPath"] = store.paths(record.id).log();
    item["Config"] = {{"Image", record.image},
                      {"Labels", record.spec.labels},
                      {"Hostname", record.spec.hostname.empty() ? record.id.substr(0, 12)
                                                                : record.spec.hostname}};
    // Docker leaves ExposedPorts out when there are none.
    if (const auto exposed = containers::exposed_ports(record); !exposed.empty()) {
      auto& ports = item["Config"]["ExposedPorts"] = nlohmann::ordered_json::object();
      for (const auto& key : exposed) ports[key] = nlohmann::ordered_json::object();
    }
    item["HostConfig"] = {{"Runtime", record.runtime},
                          {"AutoRemove", record.auto_remove},
                          {"NetworkMode", record.spec.network},
                          {"PublishAllPorts", record.spec.publish_all},
                          {"VolumesFrom", record.spec.volumes_from}};
    item["Mounts"] = containers::mounts_json(store, record);
    nlohmann::ordered_json networks = nlohmann::ordered_json::object();
    nlohmann::ordered_json ports = nlohmann::ordered_json::object();
    if (const auto networking = containers::container_network(store, record.id)) {
      for (const auto& n : networking->networks) {
        networks[n.network_name] = {{"NetworkID", n.network_id},
                                    {"Aliases", n.aliases},
                                    {"IPAddress", n.address},
                                    {"IPPrefixLen", n.prefix},
                                    {"Gateway", n.gateway},
                                    {"MacAddress", n.mac}};
      }
      for (const auto& p : networking->ports) {
        ports[fmt::format("{}/{}", p.container_port, p.protocol)].push_back(
            {{"HostIp", p.host_ip.empty() ? "0.0.0.0" : p.host_ip},
             {"HostPort", std::to_string(p.host_port)}});
      }
    }
    item["NetworkSettings"] = {{"Networks", networks}, {"Ports", ports}};
    out.push_back(item);
  }
  std::cout << out.dump(4) << "\n";
}

/// `container port NAME [PORT[/PROTO]]`: "80/tcp -> 127.0.0.1:8080" per published port, or
/// only the host side of the one asked for, as Docker prints them.
void run_port(const GlobalOptions& global, const std::vector<std::string>& args) {
  global.prepare();
  if (args.size() > 2) throw Error("container port takes a container and at most one port");
  const ContainerStore store = store_of(global);
  const ContainerRecord record = store.find(args.front());
  const auto networking = containers::container_network(store, record.id);
  std::string wanted = args.size() == 2 ? args[1] : "";
  if (!wanted.empty() && wanted.find('/') == std::string::npos) wanted += "/tcp";
  bool found = false;
  if (networking) {
    for (const auto& p : networking->ports) {
      const std::string inner = fmt::format("{}/{}", p.container_port, p.protocol);
      const std::string outer = host_address(p);
      if (wanted.empty()) {
        std::cout << inner << " -> " << outer << "\n";
      } else if (inner == wanted) {
        std::cout << outer << "\n";
        found = true;
      }
    }
  }
  if (!wanted.empty() && !found) {
    throw Error(fmt::format("No public port '{}' published for {}", wanted, record.name));
  }
}

struct ExecFlags {
  std::string container;
  std::vector<std::string> command;
  std::vector<std::string> env;
  std::string user;
  std::string workdir;
  bool interactive = false;
  bool tty = false;
  bool detach = false;
};

int run_exec(const GlobalOptions& global, const ExecFlags& flags) {
  global.prepare();
  if (flags.tty && flags.interactive && ::isatty(STDIN_FILENO) == 0) {
    throw Error("the input device is not a TTY");  // Docker's words
  }
  const ContainerStore store = store_of(global);
  containers::ExecOptions options;
  options.args = flags.command;
  for (const auto& entry : flags.env) {
    if (entry.find('=') != std::string::npos) {
      options.env.push_back(entry);
    } else if (const char* value = std::getenv(entry.c_str())) {
      options.env.push_back(entry + "=" + value);
    }
  }
  options.user = flags.user;
  options.working_dir = flags.workdir;
  options.interactive = flags.interactive;
  options.tty = flags.tty;
  options.detach = flags.detach;
  return containers::exec_in_container(store, store.find(flags.container), options);
}

}  // namespace

void add_container_command(CLI::App& app, const GlobalOptions& global) {
  CLI::App* container = app.add_subcommand("container", "Manage containers");
  container->require_subcommand(1);

  auto run_flags = std::make_shared<RunFlags>();
  CLI::App* run = container->add_subcommand("run", "Create and start a container");
  add_run_flags(*run, *run_flags);
  run->add_flag("-d,--detach", run_flags->detach, "Run in the background; print the id");
  run->callback([&global, run, run_flags] {
    take_positionals(*run, *run_flags);
    const int code = run_run(global, *run_flags);
    if (code != 0) throw ExitCode(code);
  });

  auto create_flags = std::make_shared<RunFlags>();
  CLI::App* create = container->add_subcommand("create", "Create a container without starting it");
  add_run_flags(*create, *create_flags);
  create->callback([&global, create, create_flags] {
    take_positionals(*create, *create_flags);
    run_create(global, *create_flags);
  });

  auto start_flags = std::make_shared<StartFlags>();
  CLI::App* start = container->add_subcommand("start", "Start stopped containers");
  start->add_option("container", start_flags->names, "Names or ids")->required();
  start->add_flag("-a,--attach", start_flags->attach, "Attach to its output; exit with its code");
  start->add_flag("-i,--interactive", start_flags->interactive, "Attach its standard input");
  start->callback([&global, start_flags] {
    const int code = run_start(global, *start_flags);
    if (code != 0) throw ExitCode(code);
  });

  auto stop_names = std::make_shared<std::vector<std::string>>();
  auto stop_timeout = std::make_shared<int>(-1);
  CLI::App* stop = container->add_subcommand("stop", "Stop running containers");
  stop->add_option("container", *stop_names, "Names or ids")->required();
  stop->add_option("-t,--time", *stop_timeout, "Seconds to wait before SIGKILL");
  stop->callback(
      [&global, stop_names, stop_timeout] { run_stop(global, *stop_names, *stop_timeout); });

  auto restart_names = std::make_shared<std::vector<std::string>>();
  auto restart_timeout = std::make_shared<int>(-1);
  CLI::App* restart = container->add_subcommand("restart", "Restart containers");
  restart->add_option("container", *restart_names, "Names or ids")->required();
  restart->add_option("-t,--time", *restart_timeout, "Seconds to wait before SIGKILL");
  restart->callback([&global, restart_names, restart_timeout] {
    run_restart(global, *restart_names, *restart_timeout);
  });

  auto kill_names = std::make_shared<std::vector<std::string>>();
  auto kill_signal = std::make_shared<std::string>("KILL");
  CLI::App* kill = container->add_subcommand("kill", "Send a signal to containers");
  kill->add_option("container", *kill_names, "Names or ids")->required();
  kill->add_option("-s,--signal", *kill_signal, "Signal (default KILL)");
  kill->callback(
      [&global, kill_names, kill_signal] { run_kill(global, *kill_names, *kill_signal); });

  auto rm_names = std::make_shared<std::vector<std::string>>();
  auto rm_force = std::make_shared<bool>(false);
  auto rm_volumes = std::make_shared<bool>(false);
  CLI::App* rm = container->add_subcommand("rm", "Remove containers");
  rm->alias("remove");
  rm->add_option("container", *rm_names, "Names or ids")->required();
  rm->add_flag("-f,--force", *rm_force, "Kill a running container first");
  rm->add_flag("-v,--volumes", *rm_volumes, "Remove the container's anonymous volumes");
  rm->callback([&global, rm_names, rm_force, rm_volumes] {
    run_remove(global, *rm_names, *rm_force, *rm_volumes);
  });

  auto list_flags = std::make_shared<ListFlags>();
  CLI::App* list = container->add_subcommand("ls", "List containers");
  list->alias("list");
  list->alias("ps");
  list->add_flag("-a,--all", list_flags->all, "Show stopped containers too");
  list->add_flag("-q,--quiet", list_flags->quiet, "Only ids");
  list->add_option("--filter", list_flags->filters, "label=KEY[=VALUE]");
  list->add_option("--format", list_flags->format, "table or json");
  list->callback([&global, list_flags] { run_list(global, *list_flags); });

  auto logs_name = std::make_shared<std::string>();
  auto logs_options = std::make_shared<containers::LogOptions>();
  auto logs_tail = std::make_shared<std::string>("all");
  CLI::App* logs = container->add_subcommand("logs", "Show a container's output");
  logs->add_option("container", *logs_name, "Name or id")->required();
  logs->add_flag("-f,--follow", logs_options->follow, "Keep printing new output");
  logs->add_flag("-t,--timestamps", logs_options->timestamps, "Prefix each line with its time");
  logs->add_option("-n,--tail", *logs_tail, "Lines from the end (default all)");
  logs->add_option("--since", logs_options->since, "Only lines at or after (RFC 3339)");
  logs->add_option("--until", logs_options->until, "Only lines before (RFC 3339)");
  logs->callback([&global, logs_name, logs_options, logs_tail] {
    if (*logs_tail != "all") {
      if (logs_tail->empty() || logs_tail->find_first_not_of("0123456789") != std::string::npos) {
        throw Error("invalid --tail \"" + *logs_tail + "\": expected a number or all");
      }
      logs_options->tail = std::stoll(*logs_tail);
    }
    run_logs(global, *logs_name, *logs_options);
  });

  auto inspect_names = std::make_shared<std::vector<std::string>>();
  CLI::App* inspect = container->add_subcommand("inspect", "Show containers' details as JSON");
  inspect->add_option("container", *inspect_names, "Names or ids")->required();
  inspect->callback([&global, inspect_names] { run_inspect(global, *inspect_names); });

  auto exec_flags = std::make_shared<ExecFlags>();
  add_container_cp_command(*container, global);

  CLI::App* exec = container->add_subcommand("exec", "Run a command in a running container");
  exec->add_option("-e,--env", exec_flags->env, "Environment variable KEY=VALUE")
      ->allow_extra_args(false);
  exec->add_option("-u,--user", exec_flags->user, "User (name|uid[:group|gid])");
  exec->add_option("-w,--workdir", exec_flags->workdir, "Working directory");
  exec->add_flag("-i,--interactive", exec_flags->interactive, "Pass standard input through");
  exec->add_flag("-t,--tty", exec_flags->tty, "Allocate a pseudo-terminal");
  exec->add_flag("-d,--detach", exec_flags->detach, "Run in the background");
  // CONTAINER COMMAND...: read from what the parser left, as for run.
  exec->fallthrough(false);
  exec->prefix_command();
  exec->callback([&global, exec, exec_flags] {
    const std::vector<std::string> rest = exec->remaining();
    if (rest.size() < 2) throw Error("exec requires a container and a command");
    exec_flags->container = rest.front();
    exec_flags->command.assign(rest.begin() + 1, rest.end());
    const int code = run_exec(global, *exec_flags);
    if (code != 0) throw ExitCode(code);
  });

  auto wait_names = std::make_shared<std::vector<std::string>>();
  CLI::App* wait =
      container->add_subcommand("wait", "Wait for containers to stop; print exit codes");
  wait->add_option("container", *wait_names, "Names or ids")->required();
  wait->callback([&global, wait_names] { run_wait(global, *wait_names); });

  // What a container's monitor runs at its final exit (runtime/monitor.h): not for users.
  auto release_id = std::make_shared<std::string>();
  CLI::App* release = container->add_subcommand("_release", "");
  release->alias("_release-network");  // the name monitors of older berth versions run
  release->group("");
  release->add_option("id", *release_id)->required();
  release->callback([&global, release_id] {
    global.prepare();
    const ContainerStore store = store_of(global);
    containers::disconnect_container(store, *release_id);
    const ContainerRecord record = store.find(*release_id);
    containers::release_volumes(store, record);
    // --rm: the anonymous volumes go with the container, as with Docker.
    if (record.auto_remove) {
      for (const auto& line : containers::remove_anonymous_volumes(store, record)) {
        std::cerr << "warning: " << line << "\n";
      }
    }
  });

  auto port_args = std::make_shared<std::vector<std::string>>();
  CLI::App* port = container->add_subcommand("port", "List a container's published ports");
  port->add_option("args", *port_args, "CONTAINER [PRIVATE_PORT[/PROTO]]")->required();
  port->callback([&global, port_args] { run_port(global, *port_args); });
  add_container_observe_commands(*container, global);
}

}  // namespace berth::cmd
