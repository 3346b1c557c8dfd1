#include "orchestrator/compose/environment.h"

#include <algorithm>
#include <cctype>

extern char** environ;

namespace berth::compose {

Environment Environment::from_process() {
  std::map<std::string, std::string> shell;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const auto equals = text.find('=');
    if (equals == std::string_view::npos) continue;
    shell.emplace(std::string(text.substr(0, equals)), std::string(text.substr(equals + 1)));
  }
  return Environment(std::move(shell));
}

void Environment::add_file_entries(const std::vector<EnvEntry>& entries) {
  for (const auto& entry : entries) m_files[entry.key] = entry.value;
}

void Environment::set_default(const std::string& key, const std::string& value) {
  if (!get(key)) m_shell[key] = value;
}

std::map<std::string, std::string> Environment::all() const {
  std::map<std::string, std::string> values(m_files.begin(), m_files.end());
  for (const auto& [key, value] : m_shell) values[key] = value;
  return values;
}

std::optional<std::string> Environment::get(std::string_view key) const {
  if (auto it = m_shell.find(std::string(key)); it != m_shell.end()) return it->second;
  if (auto it = m_files.find(key); it != m_files.end()) return it->second;
  return std::nullopt;
}

Lookup Environment::lookup() const {
  return [this](std::string_view name) { return get(name); };
}

bool is_truthy(std::string_view value) {
  std::string lower(value);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower == "1" || lower == "true" || lower == "yes" || lower == "y" || lower == "on";
}

}  // namespace berth::compose
