#include "runtime/command_line.h"

#include <fmt/format.h>

#include "util/error.h"

namespace berth::runtime {
namespace {

/// The image config's string list `key`; empty when absent or null.
std::vector<std::string> image_strings(const nlohmann::json& image_config, const char* key) {
  if (!image_config.is_object()) {
    return {};
  }
  const auto found = image_config.find(key);
  if (found == image_config.end() || found->is_null()) {
    return {};
  }
  if (!found->is_array()) {
    throw Error(fmt::format("invalid image config: {} must be a list of strings", key));
  }
  std::vector<std::string> values;
  for (const auto& item : *found) {
    if (!item.is_string()) {
      throw Error(fmt::format("invalid image config: {} must be a list of strings", key));
    }
    values.push_back(item.get<std::string>());
  }
  return values;
}

}  // namespace

std::vector<std::string> command_line(const std::optional<std::vector<std::string>>& entrypoint,
                                      const std::optional<std::vector<std::string>>& command,
                                      const nlohmann::json& image_config) {
  std::vector<std::string> args;
  std::vector<std::string> arguments;
  if (entrypoint) {
    // `--entrypoint` resets the image's CMD: only the user's command follows it. Docker's
    // `--entrypoint ""` arrives as one empty string; it means no entrypoint.
    if (!(entrypoint->size() == 1 && entrypoint->front().empty())) {
      args = *entrypoint;
    }
    arguments = command.value_or(std::vector<std::string>{});
  } else {
    args = image_strings(image_config, "Entrypoint");
    arguments = command && !command->empty() ? *command : image_strings(image_config, "Cmd");
  }
  args.insert(args.end(), arguments.begin(), arguments.end());
  if (args.empty()) {
    throw Error("no command specified");
  }
  return args;
}

}  // namespace berth::runtime
