// `berth events`: the project's container events as Compose prints them, from the events
// journal (runtime/event_journal.h) that berth's commands and monitors append to, followed
// until Ctrl-C / SIGTERM (exit 0) or --until.
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cmd/compose_project.h"
#include "orchestrator/containers/events.h"
#include "runtime/event_follower.h"
#include "util/error.h"
#include "util/time_parse.h"
#include "util/unique_fd.h"

namespace berth::cmd {

namespace {

using Clock = std::chrono::system_clock;

constexpr std::string_view k_compose_label_prefix = "com.docker.compose.";

struct EventsFlags {
  std::vector<std::string> services;
  bool json = false;
  std::string since;
  std::string until;
};

/// `time` in the local zone, as Go's time.Time gives it to Compose.
struct LocalTime {
  std::tm fields{};
  long long nanos = 0;
};

LocalTime local_time(Clock::time_point time) {
  const auto since_epoch =
      std::chrono::duration_cast<std::chrono::nanoseconds>(time.time_since_epoch());
  const auto seconds = std::chrono::floor<std::chrono::seconds>(since_epoch);
  LocalTime local;
  local.nanos = (since_epoch - seconds).count();
  const std::time_t whole = seconds.count();
  ::localtime_r(&whole, &local.fields);
  return local;
}

/// Go's "2006-01-02 15:04:05.000000", the plain format's.
std::string plain_time(const LocalTime& time) {
  const std::tm& f = time.fields;
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}", f.tm_year + 1900, f.tm_mon + 1,
                     f.tm_mday, f.tm_hour, f.tm_min, f.tm_sec, time.nanos / 1000);
}

/// Go's time.RFC3339Nano, which its JSON encoder writes: no trailing zeros in the fraction,
/// "Z" for UTC, else the offset.
std::string json_time(const LocalTime& time) {
  const std::tm& f = time.fields;
  std::string text = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", f.tm_year + 1900,
                                 f.tm_mon + 1, f.tm_mday, f.tm_hour, f.tm_min, f.tm_sec);
  if (time.nanos != 0) {
    std::string fraction = fmt::format("{:09}", time.nanos);
    fraction.erase(fraction.find_last_not_of('0') + 1);
    text += "." + fraction;
  }
  const long offset = f.tm_gmtoff / 60;
  if (offset == 0) return text + "Z";
  return text + fmt::format("{}{:02}:{:02}", offset < 0 ? '-' : '+', std::abs(offset) / 60,
                            std::abs(offset) % 60);
}

/// Go's encoding/json escapes these even inside strings (HTML safety); so does Compose's
/// output, and so this.
std::string go_json_escapes(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '<') {
      out += "\\u003c";
    } else if (c == '>') {
      out += "\\u003e";
    } else if (c == '&') {
      out += "\\u0026";
    } else if (text.compare(i, 3, "\xe2\x80\xa8") == 0 || text.compare(i, 3, "\xe2\x80\xa9") == 0) {
      out += text[i + 2] == '\xa8' ? "\\u2028" : "\\u2029";
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

/// What Compose shows of one event of the project, with its service; nullopt for an event
/// it leaves out (another project's, a one-off `run` container's, a service not asked for).
std::optional<std::string> compose_event(const runtime::JournalEvent& event,
                                         const std::string& project, const EventsFlags& flags) {
  const auto attribute = [&](const std::string& key) {
    const auto found = event.attributes.find(key);
    return found == event.attributes.end() ? std::string() : found->second;
  };
  if (event.type != "container" || attribute("com.docker.compose.project") != project ||
      attribute("com.docker.compose.oneoff") == "True") {
    return std::nullopt;
  }
  const std::string service = attribute("com.docker.compose.service");
  if (!flags.services.empty() &&
      std::find(flags.services.begin(), flags.services.end(), service) == flags.services.end()) {
    return std::nullopt;
  }
  const auto time = parse_time(event.time);
  if (!time) return std::nullopt;
  // Compose's own labels are how it found the event; it shows the others.
  std::map<std::string, std::string> shown;
  for (const auto& [key, value] : event.attributes) {
    if (!key.starts_with(k_compose_label_prefix)) shown.emplace(key, value);
  }
  const LocalTime local = local_time(*time);
  if (flags.json) {
    // A Go map marshalled: keys sorted, as nlohmann's object keeps them.
    const nlohmann::json record{{"time", json_time(local)}, {"type", "container"},
                                {"service", service},       {"id", event.id},
                                {"action", event.action},   {"attributes", shown}};
    return go_json_escapes(record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)) +
           "\n";
  }
  std::string attributes;
  for (const auto& [key, value] : shown) {
    attributes += (attributes.empty() ? "" : ", ") + key + "=" + value;
  }
  // Compose's Event.String() ends in a newline and is printed with Println: a blank line
  // follows every event. (Its attributes come in Go's random map order; sorted here.)
  return fmt::format("{} container {} {} ({})\n\n", plain_time(local), event.action, event.id,
                     attributes);
}

/// SIGINT and SIGTERM, blocked, as a descriptor that becomes readable when one comes: the
/// follower's stop.
Fd stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  Fd fd(::signalfd(-1, &set, SFD_CLOEXEC));
  if (!fd) throw Error(std::string("signalfd: ") + std::strerror(errno));
  return fd;
}

}  // namespace

void add_events_command(CLI::App& app, const GlobalOptions& global) {
  auto flags = std::make_shared<EventsFlags>();
  CLI::App* events = app.add_subcommand("events", "Receive real time events from containers");
  events->add_option("service", flags->services, "Services to show (default: all)");
  events->add_flag("--json", flags->json, "Output events as a stream of json objects");
  events->add_option("--since", flags->since, "Show all events created since timestamp");
  events->add_option("--until", flags->until, "Stream events until this timestamp");
  events->callback([&global, flags] {
    global.prepare();
    const ProjectTarget target = resolve_project(global);
    runtime::FollowOptions options;
    if (!flags->since.empty()) options.since = time_bound_point(flags->since);
    if (!flags->until.empty()) options.until = time_bound_point(flags->until);
    const auto store = container_store(global);
    // Watched before any container made it: events from the first one on are seen.
    std::filesystem::create_directories(store.runroot());
    const Fd stop = stop_signals();
    options.stop_fd = stop.get();
    runtime::follow_journal(
        containers::events_journal(store), options, [&](const runtime::JournalEvent& event) {
          const auto text = compose_event(event, target.name, *flags);
          if (!text) return;
          std::fwrite(text->data(), 1, text->size(), stdout);
          // A reader on a pipe sees each event as it happens.
          if (std::fflush(stdout) != 0) {
            throw Error(std::string("standard output: ") + std::strerror(errno));
          }
        });
  });
}

}  // namespace berth::cmd
