// `berth ps`: the project's containers as `docker compose ps` lists them, in its table or its
// JSON lines, with its filters (-a, --status, --filter status=, --services, -q).
#include <time.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <ctime>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cmd/compose_observe.h"
#include "cmd/compose_project.h"
#include "cmd/container_output.h"
#include "cmd/image_output.h"
#include "orchestrator/containers/networking.h"
#include "orchestrator/containers/project_containers.h"
#include "orchestrator/containers/volumes.h"
#include "orchestrator/service_mounts.h"
#include "util/error.h"

namespace berth::cmd {

namespace {

using containers::ContainerRecord;
using containers::ContainerStore;
using nlohmann::ordered_json;

/// The states --status accepts (Docker's container states).
constexpr std::array<const char*, 7> k_states = {"paused", "restarting", "removing", "running",
                                                 "dead",   "created",    "exited"};

struct PsFlags {
  std::vector<std::string> services;
  bool all = false;
  bool quiet = false;
  bool list_services = false;
  bool no_trunc = false;
  bool orphans = true;
  std::string filter;
  std::vector<std::string> statuses;
  std::string format = "table";
};

/// --filter KEY=VAL: only status=, which adds to --status (Compose's rule and words).
void apply_filter(PsFlags& flags) {
  if (flags.filter.empty()) return;
  const auto equals = flags.filter.find('=');
  if (equals == std::string::npos) throw Error("arguments to --filter should be in form KEY=VAL");
  const std::string key = flags.filter.substr(0, equals);
  if (key != "status") throw Error("unknown filter " + key);
  flags.statuses.push_back(flags.filter.substr(equals + 1));
}

void check_statuses(const std::vector<std::string>& statuses) {
  for (const auto& status : statuses) {
    if (std::find(k_states.begin(), k_states.end(), status) == k_states.end()) {
      throw Error(fmt::format("invalid --status \"{}\": expected one of {}", status,
                              fmt::join(k_states, ", ")));
    }
  }
}

/// Go's time.Time.String() of a whole second in the local zone, which Compose's CreatedAt
/// is: "2026-11-24 10:02:03 +0000 UTC".
std::string go_time_text(const std::optional<TimePoint>& when) {
  if (!when) return "";
  const std::time_t seconds = std::chrono::system_clock::to_time_t(*when);
  std::tm local{};
  ::localtime_r(&seconds, &local);
  char text[64];
  return std::string(text, std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S %z %Z", &local));
}

std::string labels_text(const std::map<std::string, std::string>& labels) {
  std::string text;
  for (const auto& [key, value] : labels) text += (text.empty() ? "" : ",") + key + "=" + value;
  return text;
}

/// The networks the container joins, by name, sorted (Docker's Networks field).
std::string networks_text(const runtime::ContainerSpec& spec) {
  std::vector<std::string> names;
  for (const auto& attachment : spec.networks) names.push_back(attachment.network);
  if (names.empty()) names.push_back(spec.network);
  std::sort(names.begin(), names.end());
  std::string text;
  for (const auto& name : names) text += (text.empty() ? "" : ",") + name;
  return text;
}

/// One container as Compose's `ps` sees it: what both the table and the JSON show.
struct PsRow {
  const ContainerRecord& record;
  ContainerStore::LiveState live;
  std::optional<network::ContainerNetwork> networking;  // while it runs
};

/// Compose's JSON object for one container: its keys sorted, as Go marshals the map it is
/// made from, and a publisher's in the order of Compose's struct.
ordered_json ps_json(const ContainerStore& store, const PsRow& row, bool truncate) {
  const ContainerRecord& record = row.record;
  const auto& state = row.live.state;
  ordered_json publishers = ordered_json::array();
  std::string ports;
  if (row.networking) {
    ports = containers::ports_text(*row.networking);
    for (const auto& port : row.networking->ports) {
      ordered_json publisher;
      publisher["URL"] = port.host_ip.empty() ? "0.0.0.0" : port.host_ip;
      publisher["TargetPort"] = port.container_port;
      publisher["PublishedPort"] = port.host_port;
      publisher["Protocol"] = port.protocol;
      publishers.push_back(std::move(publisher));
    }
  }
  std::string mounts;
  int local_volumes = 0;
  for (const auto& mount : containers::mounts_json(store, record)) {
    std::string name = mount.value("Name", mount.value("Source", ""));
    if (truncate) name = ellipsis(name, 15);
    mounts += (mounts.empty() ? "" : ",") + name;
    if (mount.value("Driver", "") == "local") ++local_volumes;
  }
  const auto created = parse_time(record.created);
  const long long created_seconds =
      created
          ? std::chrono::duration_cast<std::chrono::seconds>(created->time_since_epoch()).count()
          : 0;
  return ordered_json{
      {"Command", command_text(record, truncate)},
      {"Created", created_seconds},
      {"CreatedAt", go_time_text(created)},
      {"ExitCode", state.exit_code},
      {"Health", state.health},
      {"ID", truncate ? record.id.substr(0, 12) : record.id},
      {"Image", record.image},
      {"Labels", labels_text(record.spec.labels)},
      {"LocalVolumes", std::to_string(local_volumes)},
      {"Mounts", mounts},
      {"Name", record.name},
      {"Names", record.name},
      {"Networks", networks_text(record.spec)},
      {"Ports", ports},
      {"Project", containers::label_of(record, orchestrator::k_project_label)},
      {"Publishers", publishers},
      {"RunningFor", time_ago(created)},
      {"Service", containers::service_of(record)},
      {"Size", "0B"},  // Compose asks the engine for no sizes
      {"State", state.status},
      {"Status", status_text(row.live)},
  };
}

void run_ps(const GlobalOptions& global, PsFlags flags) {
  global.prepare();
  apply_filter(flags);
  check_statuses(flags.statuses);
  check_table_or_json(flags.format);
  const ProjectTarget target = resolve_project(global);
  std::vector<std::string> services = flags.services;
  if (services.empty() && !flags.orphans && target.project) {
    services = target.project->declared_services;
  }
  // A --status asks about stopped containers too; -a brings one-off `run` containers in.
  const bool all = flags.all || !flags.statuses.empty();
  const ContainerStore store = container_store(global);
  std::vector<ContainerRecord> records = service_containers(global, target, services, all);
  std::sort(records.begin(), records.end(),
            [](const ContainerRecord& a, const ContainerRecord& b) { return a.name < b.name; });

  std::vector<PsRow> rows;
  for (const auto& record : records) {
    PsRow row{record, store.live_state(record.id), std::nullopt};
    const std::string& status = row.live.state.status;
    if (!all && !containers::is_active(status)) continue;
    if (!flags.statuses.empty() &&
        std::find(flags.statuses.begin(), flags.statuses.end(), status) == flags.statuses.end()) {
      continue;
    }
    if (containers::is_active(status))
      row.networking = containers::container_network(store, record.id);
    rows.push_back(std::move(row));
  }

  if (flags.quiet) {
    for (const auto& row : rows) std::cout << row.record.id << "\n";
    return;
  }
  if (flags.list_services) {
    std::vector<std::string> seen;
    for (const auto& row : rows) {
      const std::string service = containers::service_of(row.record);
      if (std::find(seen.begin(), seen.end(), service) != seen.end()) continue;
      seen.push_back(service);
      std::cout << service << "\n";
    }
    return;
  }
  const bool truncate = !flags.no_trunc;
  if (flags.format == "json") {
    for (const auto& row : rows) std::cout << ps_json(store, row, truncate).dump() << "\n";
    return;
  }
  Table table({"NAME", "IMAGE", "COMMAND", "SERVICE", "CREATED", "STATUS", "PORTS"});
  for (const auto& row : rows) {
    const ContainerRecord& record = row.record;
    table.add({record.name, record.image, command_text(record, truncate),
               containers::service_of(record), time_ago(parse_time(record.created)),
               status_text(row.live),
               row.networking ? containers::ports_text(*row.networking) : ""});
  }
  std::cout << table.render();
}

}  // namespace

void add_compose_ps_command(CLI::App& app, const GlobalOptions& global) {
  auto flags = std::make_shared<PsFlags>();
  CLI::App* ps = app.add_subcommand("ps", "List containers");
  ps->add_option("service", flags->services, "Services (default: all)");
  ps->add_flag("-a,--all", flags->all,
               "Show all stopped containers (including those created by the run command)");
  ps->add_flag("-q,--quiet", flags->quiet, "Only display IDs");
  ps->add_flag("--services", flags->list_services, "Display services");
  ps->add_option("--status", flags->statuses,
                 "Filter services by status. Values: [paused | restarting | removing | running | "
                 "dead | created | exited]")
      ->allow_extra_args(false);
  ps->add_option("--filter", flags->filter,
                 "Filter services by a property (supported filters: status)");
  ps->add_option("--format", flags->format, "Format the output. Values: [table | json]")
      ->capture_default_str();
  ps->add_flag("--no-trunc", flags->no_trunc, "Don't truncate output");
  ps->add_flag("--orphans", flags->orphans, "Include orphaned services (not declared by project)")
      ->capture_default_str();
  ps->callback([&global, flags] { run_ps(global, *flags); });
}

}  // namespace berth::cmd
