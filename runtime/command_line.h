// The process a container runs: the image's ENTRYPOINT and CMD with the user's overrides, by
// Docker's rules ("Understand how CMD and ENTRYPOINT interact" in the Dockerfile reference).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace berth::runtime {

/// The container's argv: entrypoint followed by command. `entrypoint` and `command` are the
/// user's (nullopt: not given); `image_config` is the image config's "config" object (its
/// "Entrypoint" and "Cmd", either may be null or absent). A user entrypoint, even an empty
/// one, drops the image's CMD; an empty user command keeps it. Throws berth::Error
/// "no command specified" when nothing is left to run.
std::vector<std::string> command_line(const std::optional<std::vector<std::string>>& entrypoint,
                                      const std::optional<std::vector<std::string>>& command,
                                      const nlohmann::json& image_config);

}  // namespace berth::runtime
