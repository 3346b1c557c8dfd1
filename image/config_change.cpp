#include "image/config_change.h"

#include <string>
#include <vector>

#include "util/error.h"
#include "util/shell_words.h"
#include "util/strings.h"

namespace berth::image {

namespace {

[[noreturn]] void fail(std::string_view instruction, const std::string& reason) {
  throw Error("invalid change \"" + std::string(instruction) + "\": " + reason);
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

/// The JSON form `["a", "b"]` when `argument` is one, else nullopt (Docker falls back to the
/// shell form for anything that is not a JSON array of strings).
std::optional<std::vector<std::string>> json_words(std::string_view argument) {
  if (!argument.starts_with('[')) return std::nullopt;
  const auto parsed = nlohmann::json::parse(argument, nullptr, false);
  if (!parsed.is_array()) return std::nullopt;
  std::vector<std::string> words;
  for (const auto& item : parsed) {
    if (!item.is_string()) return std::nullopt;
    words.push_back(item.get<std::string>());
  }
  return words;
}

std::vector<std::string> command_words(std::string_view argument) {
  if (auto words = json_words(argument)) return *words;
  return {"/bin/sh", "-c", std::string(argument)};
}

std::vector<std::string> words_of(std::string_view instruction, std::string_view argument) {
  try {
    return split_shell_words(argument);
  } catch (const Error& e) {
    fail(instruction, e.what());
  }
}

/// k=v pairs; with `legacy`, a first word without '=' means "k rest-of-line" (ENV only).
std::vector<std::pair<std::string, std::string>> pairs_of(std::string_view instruction,
                                                          std::string_view argument, bool legacy) {
  const auto words = words_of(instruction, argument);
  if (words.empty()) fail(instruction, "missing arguments");
  std::vector<std::pair<std::string, std::string>> pairs;
  if (legacy && words[0].find('=') == std::string::npos) {
    const auto space = argument.find_first_of(" \t");
    if (space == std::string_view::npos) fail(instruction, "ENV needs a value");
    pairs.emplace_back(words[0], std::string(trim(argument.substr(space))));
    return pairs;
  }
  for (const auto& word : words) {
    const auto equals = word.find('=');
    if (equals == std::string::npos || equals == 0) {
      fail(instruction, "\"" + word + "\" is not key=value");
    }
    pairs.emplace_back(word.substr(0, equals), word.substr(equals + 1));
  }
  return pairs;
}

void set_env(nlohmann::json& config, const std::string& key, const std::string& value) {
  auto& env = config["Env"];
  if (!env.is_array()) env = nlohmann::json::array();
  const std::string prefix = key + "=";
  for (auto& entry : env) {
    if (entry.is_string() && entry.get<std::string>().starts_with(prefix)) {
      entry = prefix + value;
      return;
    }
  }
  env.push_back(prefix + value);
}

std::string port_key(std::string_view instruction, const std::string& word) {
  const auto slash = word.find('/');
  const std::string number = word.substr(0, slash);
  const std::string protocol = slash == std::string::npos ? "tcp" : lower(word.substr(slash + 1));
  const bool numeric = !number.empty() && number.size() <= 5 &&
                       number.find_first_not_of("0123456789") == std::string::npos;
  if (!numeric || std::stoi(number) == 0 || std::stoi(number) > 65535) {
    fail(instruction, "invalid port \"" + word + "\"");
  }
  if (protocol != "tcp" && protocol != "udp" && protocol != "sctp") {
    fail(instruction, "invalid protocol \"" + protocol + "\"");
  }
  return number + "/" + protocol;
}

}  // namespace

void apply_config_change(nlohmann::json& config, std::string_view instruction) {
  const std::string_view text = trim(instruction);
  const auto space = text.find_first_of(" \t");
  const std::string keyword = [&] {
    std::string word(text.substr(0, space));
    for (char& c : word) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return word;
  }();
  const std::string_view argument =
      space == std::string_view::npos ? std::string_view{} : trim(text.substr(space));
  if (keyword.empty()) fail(instruction, "empty instruction");
  if (argument.empty()) fail(instruction, keyword + " needs an argument");

  if (keyword == "CMD") {
    config["Cmd"] = command_words(argument);
  } else if (keyword == "ENTRYPOINT") {
    config["Entrypoint"] = command_words(argument);
  } else if (keyword == "ENV") {
    for (const auto& [key, value] : pairs_of(instruction, argument, true))
      set_env(config, key, value);
  } else if (keyword == "LABEL") {
    for (const auto& [key, value] : pairs_of(instruction, argument, false)) {
      config["Labels"][key] = value;
    }
  } else if (keyword == "EXPOSE") {
    for (const auto& word : words_of(instruction, argument)) {
      config["ExposedPorts"][port_key(instruction, word)] = nlohmann::json::object();
    }
  } else if (keyword == "VOLUME") {
    auto paths = json_words(argument);
    for (const auto& path : paths ? *paths : words_of(instruction, argument)) {
      config["Volumes"][path] = nlohmann::json::object();
    }
  } else if (keyword == "USER") {
    config["User"] = std::string(argument);
  } else if (keyword == "WORKDIR") {
    config["WorkingDir"] = std::string(argument);
  } else if (keyword == "STOPSIGNAL") {
    config["StopSignal"] = std::string(argument);
  } else {
    fail(instruction, "unknown instruction " + keyword +
                          " (allowed: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, "
                          "VOLUME, WORKDIR)");
  }
}

}  // namespace berth::image
