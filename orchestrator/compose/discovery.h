// Where a project's files are and what it is called, by Docker Compose's rules.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace berth::compose {

/// The compose file of the nearest directory, from `start` upward (compose.yaml,
/// compose.yml, docker-compose.yml, docker-compose.yaml, first found), followed by its
/// override file if there is one. Throws berth::Error when no directory has one.
std::vector<std::string> find_default_files(const std::string& start);

/// Compose's normalisation: lowercase, keep [a-z0-9_-], drop leading '_' and '-'.
std::string normalize_project_name(std::string_view name);

/// Throws berth::Error when a name the user gave (`-p`, COMPOSE_PROJECT_NAME, `name:`) is
/// not already normalised; `origin` says where it came from.
void check_project_name(std::string_view name, std::string_view origin);

}  // namespace berth::compose
