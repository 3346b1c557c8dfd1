#include "cmd/container_output.h"

#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cmd/image_output.h"

namespace berth::cmd {

std::string status_text(const containers::ContainerStore::LiveState& live) {
  const auto& state = live.state;
  std::string text;
  if (state.status == "running" || state.status == "paused") {
    std::string since = time_ago(parse_time(state.started_at));
    if (since.ends_with(" ago")) since.resize(since.size() - 4);
    text = "Up " + since;
    if (state.status == "paused") text += " (Paused)";
    if (!state.health.empty()) text += " (" + state.health + ")";
  } else if (state.status == "restarting") {
    text =
        fmt::format("Restarting ({}) {}", state.exit_code, time_ago(parse_time(state.finished_at)));
  } else if (state.status == "exited") {
    text = fmt::format("Exited ({}) {}", state.exit_code, time_ago(parse_time(state.finished_at)));
  } else {
    text = "Created";
  }
  if (live.monitor_lost) text += " (monitor lost)";
  return text;
}

std::string command_line(const containers::ContainerRecord& record) {
  std::vector<std::string> words;
  const nlohmann::json& image = record.image_config;
  if (record.spec.entrypoint) {
    words = *record.spec.entrypoint;
  } else if (image.contains("Entrypoint") && image["Entrypoint"].is_array()) {
    words = image["Entrypoint"].get<std::vector<std::string>>();
  }
  if (record.spec.command) {
    words.insert(words.end(), record.spec.command->begin(), record.spec.command->end());
  } else if (!record.spec.entrypoint && image.contains("Cmd") && image["Cmd"].is_array()) {
    const auto cmd = image["Cmd"].get<std::vector<std::string>>();
    words.insert(words.end(), cmd.begin(), cmd.end());
  }
  std::string text;
  for (const auto& word : words) text += (text.empty() ? "" : " ") + word;
  return text;
}

std::string ellipsis(std::string text, std::size_t width) {
  if (width > 0 && text.size() > width) text = text.substr(0, width - 1) + "…";
  return text;
}

std::string command_text(const containers::ContainerRecord& record, bool truncate) {
  const std::string text = command_line(record);
  return "\"" + (truncate ? ellipsis(text, 20) : text) + "\"";
}

std::string host_address(const network::PortSpec& port) {
  return fmt::format("{}:{}", port.host_ip.empty() ? "0.0.0.0" : port.host_ip, port.host_port);
}

}  // namespace berth::cmd
