// `berth image ls|inspect|tag|rm|prune|history`: the local image store, as `docker image`
// shows it. Transfers (pull, push, import, save, load) are in image_transfer.cpp.
#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cmd/global_options.h"
#include "cmd/image_output.h"
#include "image/progress.h"
#include "image/remove.h"
#include "image/store.h"
#include "orchestrator/containers/image_users.h"
#include "util/error.h"

namespace berth::cmd {

namespace {

using image::ImageStore;
using image::ImageSummary;
using nlohmann::json;

struct ListRow {
  std::string repository = "<none>";
  std::string tag = "<none>";
  std::string digest = "<none>";
  const ImageSummary* image = nullptr;
};

/// One row per name:tag of each image, or one <none> row for an image without tags
/// (Docker's layout).
std::vector<ListRow> list_rows(const std::vector<ImageSummary>& images) {
  std::vector<ListRow> rows;
  for (const auto& summary : images) {
    std::string digest = "<none>";
    if (!summary.repo_digests.empty()) {
      digest = summary.repo_digests.front().substr(summary.repo_digests.front().find('@') + 1);
    }
    if (summary.repo_tags.empty()) {
      rows.push_back(ListRow{"<none>", "<none>", digest, &summary});
      continue;
    }
    for (const auto& name : summary.repo_tags) {
      const auto reference = image::parse_reference(name);
      rows.push_back(ListRow{reference.familiar_name(), reference.tag, digest, &summary});
    }
  }
  std::sort(rows.begin(), rows.end(), [](const ListRow& a, const ListRow& b) {
    if (created_of(*a.image) != created_of(*b.image))
      return created_of(*a.image) > created_of(*b.image);
    return std::tie(a.repository, a.tag) < std::tie(b.repository, b.tag);
  });
  return rows;
}

void run_list(const GlobalOptions& global, bool quiet, const std::string& format) {
  global.prepare();
  const ImageStore store(global.root);
  const auto images = store.images();
  const auto rows = list_rows(images);
  if (quiet) {
    std::set<std::string> printed;
    for (const auto& row : rows) {
      const auto id = row.image->id.short_hex();
      if (printed.insert(id).second) std::cout << id << "\n";
    }
    return;
  }
  if (format == "json") {
    for (const auto& row : rows) {
      json line = {{"Repository", row.repository},
                   {"Tag", row.tag},
                   {"Digest", row.digest},
                   {"ID", row.image->id.short_hex()},
                   {"CreatedAt", row.image->config.raw.value("created", "")},
                   {"CreatedSince", time_ago(created_of(*row.image))},
                   {"Size", image::human_size(row.image->size)}};
      std::cout << line.dump() << "\n";
    }
    return;
  }
  if (!format.empty() && format != "table") {
    throw Error("invalid --format \"" + format + "\": expected table or json");
  }
  Table table({"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"});
  for (const auto& row : rows) {
    table.add({row.repository, row.tag, row.image->id.short_hex(), time_ago(created_of(*row.image)),
               image::human_size(row.image->size)});
  }
  std::cout << table.render();
}

void run_inspect(const GlobalOptions& global, const std::vector<std::string>& names) {
  global.prepare();
  const ImageStore store(global.root);
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  std::vector<std::string> missing;
  for (const auto& name : names) {
    const auto found = store.find(name);
    if (!found) {
      missing.push_back(name);
      continue;
    }
    out.push_back(inspect_json(store.summary(*found)));
  }
  std::cout << out.dump(4) << "\n";
  if (!missing.empty()) throw Error("No such image: " + missing.front());
}

void run_tag(const GlobalOptions& global, const std::string& source, const std::string& target) {
  global.prepare();
  const ImageStore store(global.root);
  const auto found = store.find(source);
  if (!found) throw Error("No such image: " + source);
  store.set_reference(image::parse_reference(target), *found);
}

void print_removal(const image::RemoveReport& report) {
  for (const auto& name : report.untagged) std::cout << "Untagged: " << name << "\n";
  for (const auto& id : report.deleted) std::cout << "Deleted: " << id.str() << "\n";
}

void run_remove(const GlobalOptions& global, const std::vector<std::string>& names, bool force) {
  global.prepare();
  const ImageStore store(global.root);
  const containers::ContainerStore containers(global.root, global.runroot);
  print_removal(image::remove_images(store, names, force, containers::image_users(containers)));
}

void run_prune(const GlobalOptions& global, bool force) {
  global.prepare();
  if (!force && !confirm("WARNING! This will remove all dangling images.\n"
                         "Are you sure you want to continue? [y/N] ")) {
    return;
  }
  const ImageStore store(global.root);
  const containers::ContainerStore containers(global.root, global.runroot);
  const auto report = image::prune_images(store, containers::image_users(containers));
  if (!report.deleted.empty()) {
    std::cout << "Deleted Images:\n";
    for (const auto& id : report.deleted) std::cout << "deleted: " << id.str() << "\n";
    std::cout << "\n";
  }
  std::cout << "Total reclaimed space: " << image::human_size(report.reclaimed) << "\n";
}

void run_history(const GlobalOptions& global, const std::string& name, bool no_trunc) {
  global.prepare();
  const ImageStore store(global.root);
  const auto found = store.find(name);
  if (!found) throw Error("No such image: " + name);
  const auto summary = store.summary(*found);
  const auto manifest = store.manifest(*found);
  Table table({"IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"});
  const json& history = summary.config.raw.value("history", json::array());
  // Layers pair with the history entries that are not empty_layer, in order.
  std::size_t layer = 0;
  std::vector<std::vector<std::string>> rows;
  for (const auto& entry : history) {
    const bool empty = entry.value("empty_layer", false);
    std::int64_t size = 0;
    if (!empty && layer < manifest.layers.size()) size = manifest.layers[layer++].size;
    std::string created_by = entry.value("created_by", "");
    if (!no_trunc && created_by.size() > 45) created_by = created_by.substr(0, 44) + "…";
    rows.push_back({"<missing>", time_ago(parse_time(entry.value("created", ""))), created_by,
                    image::human_size(size), entry.value("comment", "")});
  }
  if (!rows.empty()) rows.back()[0] = summary.id.short_hex();  // the newest step is the image
  for (auto it = rows.rbegin(); it != rows.rend(); ++it) table.add(*it);
  std::cout << table.render();
}

}  // namespace

void add_image_command(CLI::App& app, const GlobalOptions& global) {
  CLI::App* image = app.add_subcommand("image", "Manage images");
  image->require_subcommand(1);

  auto list_quiet = std::make_shared<bool>(false);
  auto list_format = std::make_shared<std::string>();
  CLI::App* list = image->add_subcommand("ls", "List images");
  list->alias("list");
  list->add_flag("-q,--quiet", *list_quiet, "Only show image ids");
  list->add_option("--format", *list_format, "table or json");
  list->callback(
      [&global, list_quiet, list_format] { run_list(global, *list_quiet, *list_format); });

  auto inspect_names = std::make_shared<std::vector<std::string>>();
  CLI::App* inspect = image->add_subcommand("inspect", "Show an image's details as JSON");
  inspect->add_option("image", *inspect_names, "Image names or ids")->required();
  inspect->callback([&global, inspect_names] { run_inspect(global, *inspect_names); });

  auto tag_args = std::make_shared<std::vector<std::string>>();
  CLI::App* tag = image->add_subcommand("tag", "Give an image another name");
  tag->add_option("names", *tag_args, "SOURCE TARGET")->required()->expected(2);
  tag->callback([&global, tag_args] { run_tag(global, (*tag_args)[0], (*tag_args)[1]); });

  auto rm_names = std::make_shared<std::vector<std::string>>();
  auto rm_force = std::make_shared<bool>(false);
  CLI::App* rm = image->add_subcommand("rm", "Remove images");
  rm->alias("remove");
  rm->add_option("image", *rm_names, "Image names or ids")->required();
  rm->add_flag("-f,--force", *rm_force, "Remove an image that has several names");
  rm->callback([&global, rm_names, rm_force] { run_remove(global, *rm_names, *rm_force); });

  auto prune_force = std::make_shared<bool>(false);
  CLI::App* prune = image->add_subcommand("prune", "Remove dangling images");
  prune->add_flag("-f,--force", *prune_force, "Do not ask for confirmation");
  prune->callback([&global, prune_force] { run_prune(global, *prune_force); });

  auto history_name = std::make_shared<std::string>();
  CLI::App* history = image->add_subcommand("history", "Show how an image was made");
  auto history_no_trunc = std::make_shared<bool>(false);
  history->add_option("image", *history_name, "Image name or id")->required();
  history->add_flag("--no-trunc", *history_no_trunc, "Don't truncate output");
  history->callback([&global, history_name, history_no_trunc] {
    run_history(global, *history_name, *history_no_trunc);
  });

  add_image_transfer_commands(*image, app, global);
  add_build_commands(*image, app, global);
}

}  // namespace berth::cmd
