// The compose commands that look at projects, as Compose v2 has them: ps (compose_ps.cpp),
// ls (project_list.cpp), images (compose_images.cpp), and top, port, version
// (compose_observe.cpp, which registers them all).
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "cmd/global_options.h"

namespace berth::cmd {

void add_compose_ps_command(CLI::App& app, const GlobalOptions& global);
void add_project_list_command(CLI::App& app, const GlobalOptions& global);
void add_compose_images_command(CLI::App& app, const GlobalOptions& global);

/// --format of ps, ls and images: "table" (Compose's default) or "json"; berth::Error
/// `invalid --format "x": expected table or json` otherwise.
void check_table_or_json(const std::string& format);

}  // namespace berth::cmd
