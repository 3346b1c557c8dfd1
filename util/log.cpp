#include "util/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <fmt/format.h>

#include "util/error.h"

namespace berth::log {

void setup(std::string_view level) {
  // spdlog's parser maps anything unknown to "off"; we want a typo to be an error instead.
  static const std::pair<std::string_view, spdlog::level::level_enum> k_levels[] = {
      {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug},
      {"info", spdlog::level::info},   {"warning", spdlog::level::warn},
      {"warn", spdlog::level::warn},   {"error", spdlog::level::err},
      {"off", spdlog::level::off},
  };
  auto chosen = spdlog::level::off;
  bool found = false;
  for (const auto& [name, value] : k_levels) {
    if (name == level) {
      chosen = value;
      found = true;
    }
  }
  if (!found) {
    throw Error(
        fmt::format("unknown log level \"{}\" (trace, debug, info, warning, error, off)", level));
  }
  // stderr, unsynchronised: berth is one thread when it logs from the CLI.
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_st>();
  auto logger = std::make_shared<spdlog::logger>("berth", std::move(sink));
  logger->set_pattern("berth: %l: %v");
  logger->set_level(chosen);
  spdlog::set_default_logger(logger);
}

}  // namespace berth::log
