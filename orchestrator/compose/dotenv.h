// Parsing of .env files (the project .env, --env-file, env_file:) with Compose v2's rules, as
// compose-go's dotenv package applies them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "orchestrator/compose/interpolate.h"

namespace berth::compose {

/// One KEY=value assignment in file order.
struct EnvEntry {
  std::string key;
  std::string value;

  bool operator==(const EnvEntry&) const = default;
};

/// Parses .env text. Values are interpolated (double-quoted and unquoted ones; single-quoted are
/// literal), resolving names first from `lookup`, then from earlier entries of the same file
/// (compose-go's order: the caller's environment wins). A line `KEY` alone takes its value from
/// `lookup` and is left out when unset. Errors name "<file>:<line>: ...".
std::vector<EnvEntry> parse_dotenv(std::string_view content, std::string_view file,
                                   const Lookup& lookup, const UnsetHandler& on_unset = {});

/// Reads and parses a file; a missing or unreadable file is an error naming it.
std::vector<EnvEntry> read_dotenv_file(const std::string& path, const Lookup& lookup,
                                       const UnsetHandler& on_unset = {});

}  // namespace berth::compose
