#include "orchestrator/compose/discovery.h"

#include <cctype>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "util/error.h"
#include "util/fs.h"

namespace berth::compose {

namespace {

// Compose's search order; the first is the name the spec prefers.
constexpr std::string_view k_file_names[] = {"compose.yaml", "compose.yml", "docker-compose.yml",
                                             "docker-compose.yaml"};
constexpr std::string_view k_override_names[] = {"compose.override.yml", "compose.override.yaml",
                                                 "docker-compose.override.yml",
                                                 "docker-compose.override.yaml"};

/// Existing files of `names` in `dir`, in the order of `names`.
template <std::size_t N>
std::vector<std::string> existing(const std::string& dir, const std::string_view (&names)[N]) {
  std::vector<std::string> found;
  for (const auto name : names) {
    std::string path = dir == "/" ? fmt::format("/{}", name) : fmt::format("{}/{}", dir, name);
    if (fs::is_file(path)) found.push_back(std::move(path));
  }
  return found;
}

}  // namespace

std::vector<std::string> find_default_files(const std::string& start) {
  for (std::string dir = start;; dir = fs::dirname(dir)) {
    const auto files = existing(dir, k_file_names);
    if (!files.empty()) {
      if (files.size() > 1) {
        spdlog::warn("Found multiple config files with supported names: {}",
                     fmt::join(files, ", "));
        spdlog::warn("Using {}", files.front());
      }
      std::vector<std::string> chosen{files.front()};
      const auto overrides = existing(dir, k_override_names);
      if (!overrides.empty()) chosen.push_back(overrides.front());
      return chosen;
    }
    if (dir == "/") break;
  }
  throw Error(
      "no configuration file provided: not found (looked for compose.yaml, "
      "compose.yml, docker-compose.yml, docker-compose.yaml from " +
      start + " upward)");
}

std::string normalize_project_name(std::string_view name) {
  std::string out;
  for (const char c : name) {
    const char lower = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if ((lower >= 'a' && lower <= 'z') || (lower >= '0' && lower <= '9') || lower == '_' ||
        lower == '-') {
      out.push_back(lower);
    }
  }
  const auto first = out.find_first_not_of("_-");
  return first == std::string::npos ? std::string() : out.substr(first);
}

void check_project_name(std::string_view name, std::string_view origin) {
  if (name.empty() || normalize_project_name(name) != name) {
    throw Error(
        fmt::format("invalid project name \"{}\" ({}): must consist only of lowercase alphanumeric "
                    "characters, hyphens, and underscores as well as start with a letter or number",
                    name, origin));
  }
}

}  // namespace berth::compose
