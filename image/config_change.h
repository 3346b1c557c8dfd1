// Dockerfile instructions applied to an image config, as `docker import --change` does.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

namespace berth::image {

/// Applies one instruction to `config` (the "config" object of an image config):
/// CMD, ENTRYPOINT (JSON array, or a shell form run by /bin/sh -c), ENV (k=v... or the
/// legacy "k v"), EXPOSE (80, 80/tcp, 53/udp), LABEL k=v..., USER, WORKDIR, VOLUME
/// (JSON array or words), STOPSIGNAL. Throws berth::Error
/// `invalid change "<instruction>": <reason>`.
void apply_config_change(nlohmann::json& config, std::string_view instruction);

}  // namespace berth::image
