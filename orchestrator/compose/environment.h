// The variables a compose project is interpolated with: the shell's, then those of .env
// and --env-file files. The shell always wins, as in Docker Compose.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "orchestrator/compose/dotenv.h"
#include "orchestrator/compose/interpolate.h"

namespace berth::compose {

class Environment {
 public:
  Environment() = default;
  explicit Environment(std::map<std::string, std::string> shell) : m_shell(std::move(shell)) {}

  /// The environment of this process.
  static Environment from_process();

  /// Adds values read from an env file; a later file overrides an earlier one, the shell
  /// overrides both.
  void add_file_entries(const std::vector<EnvEntry>& entries);

  /// Sets a value as if it came from the shell (e.g. COMPOSE_PROJECT_NAME once resolved).
  void set_default(const std::string& key, const std::string& value);

  std::optional<std::string> get(std::string_view key) const;

  /// A Lookup for interpolate() bound to this environment (which must outlive it).
  Lookup lookup() const;

  /// Every variable: the env files' values with the shell's over them.
  std::map<std::string, std::string> all() const;

  /// The shell's variables only (env files excluded), as environment `KEY` entries need.
  const std::map<std::string, std::string>& shell() const { return m_shell; }

 private:
  std::map<std::string, std::string, std::less<>> m_files;
  std::map<std::string, std::string> m_shell;
};

/// True for the values Compose treats as "on" in COMPOSE_* switches (1, true, yes, ...).
bool is_truthy(std::string_view value);

}  // namespace berth::compose
