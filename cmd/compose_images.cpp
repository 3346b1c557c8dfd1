// `berth images`: the images the project's containers (stopped and one-off ones too) were
// created from, one line per container, as `docker compose images` lists them.
#include <algorithm>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cmd/compose_observe.h"
#include "cmd/compose_project.h"
#include "cmd/image_output.h"
#include "image/progress.h"
#include "image/reference.h"
#include "image/store.h"
#include "util/error.h"

namespace berth::cmd {

namespace {

using containers::ContainerRecord;

struct ImagesFlags {
  std::vector<std::string> services;
  bool quiet = false;
  std::string format = "table";
};

/// One container's image: its name split as the container was given it, and what the store
/// knows of it (nothing when it has been removed since).
struct ContainerImage {
  std::string container;
  std::string repository = "<none>";
  std::string tag = "<none>";
  std::string id;  // "sha256:..."
  std::optional<image::ImageSummary> summary;
};

ContainerImage container_image(const image::ImageStore& images, const ContainerRecord& record) {
  ContainerImage found;
  found.container = record.name;
  found.id = record.image_id;
  try {
    const image::Reference reference = image::parse_reference(record.image);
    found.repository = reference.familiar_name();
    if (!reference.tag.empty()) found.tag = reference.tag;
  } catch (const Error&) {
    // Created from an image id: no repository, no tag (Compose's <none>).
  }
  if (const auto manifest = images.find(record.image_id)) found.summary = images.summary(*manifest);
  return found;
}

/// Compose's JSON object of one image (its keys, in its order).
nlohmann::ordered_json image_json(const ContainerImage& entry) {
  nlohmann::ordered_json item;
  item["ID"] = entry.id;
  item["ContainerName"] = entry.container;
  item["Repository"] = entry.repository == "<none>" ? "" : entry.repository;
  item["Tag"] = entry.tag == "<none>" ? "" : entry.tag;
  std::string platform;
  if (entry.summary) {
    const auto& config = entry.summary->config;
    platform = config.platform.os + "/" + config.platform.architecture;
    if (!config.platform.variant.empty()) platform += "/" + config.platform.variant;
  }
  item["Platform"] = platform;
  item["Size"] = entry.summary ? entry.summary->size : 0;
  if (entry.summary && entry.summary->config.raw.contains("created")) {
    item["Created"] = entry.summary->config.raw["created"];
  }
  return item;
}

void run_images(const GlobalOptions& global, const ImagesFlags& flags) {
  global.prepare();
  check_table_or_json(flags.format);
  const ProjectTarget target = resolve_project(global);
  const image::ImageStore images(global.root);
  std::vector<ContainerImage> entries;
  for (const auto& record : service_containers(global, target, flags.services, true)) {
    entries.push_back(container_image(images, record));
  }
  std::sort(entries.begin(), entries.end(), [](const ContainerImage& a, const ContainerImage& b) {
    return a.container < b.container;
  });

  if (flags.quiet) {
    // Each image once, its id without the algorithm.
    std::vector<std::string> seen;
    for (const auto& entry : entries) {
      const std::string id = entry.id.substr(entry.id.find(':') + 1);
      if (std::find(seen.begin(), seen.end(), id) != seen.end()) continue;
      seen.push_back(id);
      std::cout << id << "\n";
    }
    return;
  }
  if (flags.format == "json") {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& entry : entries) out.push_back(image_json(entry));
    std::cout << out.dump() << "\n";
    return;
  }
  Table table({"CONTAINER", "REPOSITORY", "TAG", "IMAGE ID", "SIZE"});
  for (const auto& entry : entries) {
    const std::string id = entry.id.substr(entry.id.find(':') + 1, 12);
    table.add({entry.container, entry.repository, entry.tag, id,
               image::human_size(entry.summary ? entry.summary->size : 0)});
  }
  std::cout << table.render();
}

}  // namespace

void add_compose_images_command(CLI::App& app, const GlobalOptions& global) {
  auto flags = std::make_shared<ImagesFlags>();
  CLI::App* images = app.add_subcommand("images", "List images used by the created containers");
  images->add_option("service", flags->services, "Services (default: all)");
  images->add_flag("-q,--quiet", flags->quiet, "Only display IDs");
  images->add_option("--format", flags->format, "Format the output. Values: [table | json]")
      ->capture_default_str();
  images->callback([&global, flags] { run_images(global, *flags); });
}

}  // namespace berth::cmd
