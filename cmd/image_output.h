// How image commands print: Docker's tables, relative times, inspect JSON, confirmations.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cmd/global_options.h"
#include "image/store.h"
#include "orchestrator/builder/build.h"

namespace berth::cmd {

using TimePoint = std::chrono::system_clock::time_point;

/// Columns padded to the widest cell plus three spaces, as `docker image ls` prints them.
class Table {
 public:
  explicit Table(std::vector<std::string> headers);
  void add(std::vector<std::string> row);
  std::string render() const;

 private:
  std::vector<std::vector<std::string>> m_rows;
};

/// An RFC 3339 time ("2026-11-23T21:07:15.123456789Z", offsets allowed); nullopt if absent
/// or malformed.
std::optional<TimePoint> parse_time(std::string_view text);
/// When the image was created, from its config (nullopt when unknown).
std::optional<TimePoint> created_of(const image::ImageSummary& summary);
/// "2 weeks ago", "About an hour ago", "N/A" for an unknown time (Docker's wording).
std::string time_ago(const std::optional<TimePoint>& when);

/// The object `docker image inspect` prints for one image.
nlohmann::ordered_json inspect_json(const image::ImageSummary& summary);

/// Prints `question` and reads a line from standard input (as Docker does, so `echo y |`
/// works); true for y/yes, false otherwise and at end of input.
bool confirm(std::string_view question);

/// pull, push, import, save, load under `image`, and login/logout on the top level.
void add_image_transfer_commands(CLI::App& image, CLI::App& app, const GlobalOptions& global);
/// The builder's progress for `--progress auto|plain|tty|quiet` (auto: tty on a terminal);
/// berth::Error for anything else. Shared by `image build` and compose's builds.
builder::ProgressMode build_progress_mode(const std::string& progress);
/// `berth image build` and `berth builder prune` (image_build.cpp).
void add_build_commands(CLI::App& image, CLI::App& app, const GlobalOptions& global);

}  // namespace berth::cmd
