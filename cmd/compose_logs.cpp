// `berth logs`: the output of a project's containers, each line behind its container's
// prefix; merged in time order, or followed as it comes with -f.
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "cmd/compose_project.h"
#include "cmd/log_printer.h"
#include "orchestrator/containers/log_followers.h"
#include "orchestrator/containers/logs.h"
#include "orchestrator/containers/project_containers.h"
#include "util/clock.h"
#include "util/error.h"

namespace berth::cmd {

namespace {

struct LogsFlags {
  std::vector<std::string> services;
  bool follow = false;
  std::string tail = "all";
  bool timestamps = false;
  std::string since;
  std::string until;
  bool no_color = false;
  bool no_log_prefix = false;
  int index = 0;
};

containers::LogOptions log_options(const LogsFlags& flags) {
  containers::LogOptions options;
  options.follow = flags.follow;
  if (flags.tail != "all") {
    try {
      std::size_t used = 0;
      options.tail = std::stoll(flags.tail, &used);
      if (used != flags.tail.size() || *options.tail < 0) throw std::invalid_argument(flags.tail);
    } catch (const std::exception&) {
      throw Error("--tail: expected a number of lines or \"all\", got \"" + flags.tail + "\"");
    }
  }
  options.since = flags.since.empty() ? "" : time_bound(flags.since);
  options.until = flags.until.empty() ? "" : time_bound(flags.until);
  return options;
}

}  // namespace

void add_logs_command(CLI::App& app, const GlobalOptions& global) {
  auto flags = std::make_shared<LogsFlags>();
  CLI::App* logs = app.add_subcommand("logs", "View output from containers");
  logs->add_option("service", flags->services, "Services to show (default: all)");
  logs->add_flag("-f,--follow", flags->follow, "Follow log output");
  logs->add_option("-n,--tail", flags->tail,
                   "Number of lines to show from the end of the logs for each container")
      ->capture_default_str();
  logs->add_flag("-t,--timestamps", flags->timestamps, "Show timestamps");
  logs->add_option("--since", flags->since,
                   "Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. "
                   "42m for 42 minutes)");
  logs->add_option("--until", flags->until,
                   "Show logs before a timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. "
                   "42m for 42 minutes)");
  logs->add_flag("--no-color", flags->no_color, "Produce monochrome output");
  logs->add_flag("--no-log-prefix", flags->no_log_prefix, "Don't print prefix in logs");
  logs->add_option("--index", flags->index,
                   "index of the container if service has multiple replicas");
  logs->callback([&global, flags] {
    global.prepare();
    const ProjectTarget target = resolve_project(global);
    auto records = service_containers(global, target, flags->services, true);
    if (flags->index > 0) {
      std::erase_if(records, [&](const containers::ContainerRecord& record) {
        return containers::number_of(record) != flags->index;
      });
    }
    const containers::LogOptions options = log_options(*flags);
    std::vector<std::string> names;
    for (const auto& record : records) names.push_back(log_name(record.name, target.name));
    LogPrinterOptions style;
    style.color = !flags->no_color && wants_color(STDOUT_FILENO);
    style.prefix = !flags->no_log_prefix;
    style.timestamps = flags->timestamps;
    LogPrinter printer(names, style);
    const auto store = container_store(global);
    if (flags->follow) {
      containers::LogFollowers::Sink sink;
      sink.line = [&](const containers::ContainerRecord& record, const containers::LogLine& line) {
        printer.line(log_name(record.name, target.name), line);
      };
      containers::LogFollowers followers(store, options, sink);
      for (const auto& record : records) followers.follow(record);
      followers.wait();
      return;
    }
    // Without -f, one history: every container's lines merged in time order.
    struct Entry {
      std::string name;
      containers::LogLine line;
    };
    std::vector<Entry> entries;
    for (std::size_t i = 0; i < records.size(); ++i) {
      containers::read_logs(store, records[i], options, [&](const containers::LogLine& line) {
        entries.push_back({names[i], line});
      });
    }
    std::stable_sort(entries.begin(), entries.end(),
                     [](const Entry& a, const Entry& b) { return a.line.time < b.line.time; });
    for (const auto& entry : entries) printer.line(entry.name, entry.line);
  });
}

}  // namespace berth::cmd
