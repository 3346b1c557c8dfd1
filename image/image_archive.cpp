#include "image/image_archive.h"

#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "image/tar_reader.h"
#include "image/tar_writer.h"
#include "util/error.h"

namespace berth::image {

namespace {

using nlohmann::json;

constexpr std::string_view k_containerd_name = "io.containerd.image.name";
constexpr std::string_view k_oci_ref_name = "org.opencontainers.image.ref.name";

std::string blob_entry(const Digest& digest) {
  return "blobs/sha256/" + digest.hex();
}

/// What a layer blob is, from its first bytes: gzip, zstd, else a plain tar.
std::string layer_media_type(const ImageStore& store, const Digest& digest) {
  std::FILE* file = std::fopen(store.blob_path(digest).c_str(), "rb");
  if (file == nullptr) throw Error("blob " + digest.str() + ": cannot open");
  unsigned char magic[4] = {};
  const std::size_t got = std::fread(magic, 1, sizeof magic, file);
  std::fclose(file);
  if (got >= 2 && magic[0] == 0x1f && magic[1] == 0x8b) return std::string(media::oci_layer_gzip);
  if (got == 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd) {
    return std::string(media::oci_layer_zstd);
  }
  return std::string(media::oci_layer_tar);
}

}  // namespace

void save_images(const ImageStore& store, const std::vector<std::string>& names,
                 const std::string& output) {
  struct Saved {
    Descriptor descriptor;
    Manifest manifest;
    std::vector<std::string> tags;  // familiar name:tag references
  };
  std::vector<Saved> images;
  std::map<Digest, std::size_t> by_manifest;
  for (const auto& name : names) {
    const auto found = store.find(name);
    if (!found) throw Error("No such image: " + name);
    auto [it, fresh] = by_manifest.try_emplace(found->digest, images.size());
    if (fresh) images.push_back(Saved{*found, store.manifest(*found), {}});
    // A name that is a tag travels with the image; an id saves it without names.
    try {
      const Reference reference = parse_reference(name);
      if (!reference.tag.empty() && reference.digest.empty() && store.resolve(reference)) {
        images[it->second].tags.push_back(reference.familiar());
      }
    } catch (const Error&) {
    }
  }

  TarWriter tar(output);
  std::set<Digest> written;
  auto add_blob = [&](const Digest& digest) {
    if (written.insert(digest).second)
      tar.add_file_from_path(blob_entry(digest), store.blob_path(digest));
  };
  tar.add_directory("blobs");
  tar.add_directory("blobs/sha256");
  json index_manifests = json::array();
  json docker_manifest = json::array();
  for (const auto& image : images) {
    add_blob(image.descriptor.digest);
    add_blob(image.manifest.config.digest);
    json layers = json::array();
    for (const auto& layer : image.manifest.layers) {
      add_blob(layer.digest);
      layers.push_back(blob_entry(layer.digest));
    }
    json tags = json::array();
    for (const auto& tag : image.tags) {
      const Reference reference = parse_reference(tag);
      json entry = to_json_value(image.descriptor);
      entry["annotations"] = {{std::string(k_containerd_name), reference.str()},
                              {std::string(k_oci_ref_name), reference.tag}};
      index_manifests.push_back(entry);
      tags.push_back(tag);
    }
    if (image.tags.empty()) index_manifests.push_back(to_json_value(image.descriptor));
    docker_manifest.push_back({{"Config", blob_entry(image.manifest.config.digest)},
                               {"RepoTags", tags},
                               {"Layers", layers}});
  }
  tar.add_file("oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  tar.add_file("index.json", json{{"schemaVersion", 2},
                                  {"mediaType", std::string(media::oci_index)},
                                  {"manifests", index_manifests}}
                                 .dump());
  tar.add_file("manifest.json", docker_manifest.dump());
  tar.close();
}

std::vector<LoadedImage> load_images(const ImageStore& store, const std::string& input) {
  const StoreLock lock = store.lock_shared();
  const std::string where = input == "-" ? std::string("standard input") : input;

  // One pass over the archive: blobs go straight into the store (verified when their name
  // carries the digest), small JSON documents stay in memory, legacy layer.tar files are
  // stored under the digest of their content.
  std::map<std::string, Digest> stored;          // entry name -> digest of its content
  std::map<std::string, std::string> documents;  // manifest.json, index.json, <id>.json
  std::map<std::string, std::string> links;      // symlink -> the entry it names
  for_each_tar_entry(input, [&](TarEntry& entry) {
    const std::string& name = entry.name();
    if (entry.type() == TarEntry::Type::symlink || entry.type() == TarEntry::Type::hardlink) {
      // podman's docker-archive links <id>/layer.tar to ../<diff id>.tar.
      std::string target = entry.link_target();
      if (entry.type() == TarEntry::Type::symlink && !target.starts_with('/')) {
        const auto slash = name.rfind('/');
        target = (slash == std::string::npos ? "" : name.substr(0, slash + 1)) + target;
      }
      if (const auto normal = normalize_entry_name(target)) links[name] = *normal;
      return;
    }
    if (entry.type() != TarEntry::Type::file) return;
    const std::string base = name.substr(name.rfind('/') + 1);
    if (name.ends_with(".json") || base == "json" || base == "VERSION" || base == "repositories" ||
        base == "oci-layout") {
      documents[name] = entry.read_all();
      return;
    }
    // Anything else is a blob: blobs/sha256/<hex> (verified against its name), or a
    // docker-archive layer (<id>/layer.tar, <diff id>.tar) stored under its content's digest.
    BlobWriter writer = store.new_blob();
    char buffer[1 << 16];
    for (std::size_t n; (n = entry.read(buffer, sizeof buffer)) > 0;) writer.write(buffer, n);
    std::optional<Digest> expected;
    if (name.starts_with("blobs/sha256/")) expected = Digest::parse("sha256:" + name.substr(13));
    stored[name] = writer.commit(expected);
  });

  auto document = [&](const std::string& name) -> const std::string& {
    const auto it = documents.find(name);
    if (it == documents.end()) throw Error(where + ": no " + name + " in the archive");
    return it->second;
  };
  auto digest_of_entry = [&](std::string name) {
    for (int hops = 0; hops < 8 && links.contains(name); ++hops) name = links.at(name);
    if (const auto it = stored.find(name); it != stored.end()) return it->second;
    if (const auto it = documents.find(name); it != documents.end())
      return store.put_blob(it->second);
    throw Error(where + ": the archive names \"" + name + "\" but does not contain it");
  };

  std::vector<LoadedImage> loaded;
  auto finish = [&](Descriptor descriptor, const std::vector<std::string>& names) {
    descriptor.annotations.clear();  // the archive's naming annotations are not the image's
    const Manifest manifest = store.manifest(descriptor);
    const ImageConfig config = store.config(manifest);
    if (config.diff_ids.size() != manifest.layers.size()) {
      throw Error(where + ": image " + manifest.config.digest.str() + " has " +
                  std::to_string(manifest.layers.size()) + " layers but its config lists " +
                  std::to_string(config.diff_ids.size()));
    }
    const auto chains = chain_ids(config.diff_ids);
    for (std::size_t i = 0; i < manifest.layers.size(); ++i) {
      store.unpack_layer(manifest.layers[i].digest, config.diff_ids[i], chains[i]);
    }
    LoadedImage image{manifest.config.digest, {}};
    for (const auto& name : names) {
      const Reference reference = parse_reference(name);
      store.set_reference(reference, descriptor);
      image.names.push_back(reference.familiar());
    }
    if (names.empty()) store.add_unnamed(descriptor);
    loaded.push_back(std::move(image));
  };

  if (documents.contains("manifest.json")) {
    // docker-archive. When the archive is also an OCI layout, reuse its manifests so the
    // image keeps its digests (a registry round trip then matches).
    std::map<Digest, Descriptor> oci_manifest_by_config;
    if (const auto it = documents.find("index.json"); it != documents.end()) {
      const Index index = parse_index(it->second, where + ": index.json");
      for (const auto& descriptor : index.manifests) {
        if (!media::is_manifest(descriptor.media_type) || !store.has_blob(descriptor.digest))
          continue;
        oci_manifest_by_config[store.manifest(descriptor).config.digest] = descriptor;
      }
    }
    json entries;
    try {
      entries = json::parse(document("manifest.json"));
    } catch (const json::exception&) {
      throw Error(where + ": manifest.json is not valid JSON");
    }
    if (!entries.is_array()) throw Error(where + ": manifest.json is not a list");
    for (const auto& entry : entries) {
      const Digest config_digest = digest_of_entry(entry.value("Config", ""));
      std::vector<std::string> names;
      for (const auto& tag : entry.value("RepoTags", json::array())) {
        if (tag.is_string()) names.push_back(tag.get<std::string>());
      }
      Descriptor descriptor;
      if (const auto it = oci_manifest_by_config.find(config_digest);
          it != oci_manifest_by_config.end()) {
        descriptor = it->second;
      } else {
        Manifest manifest;
        manifest.media_type = std::string(media::oci_manifest);
        const std::string config_json = store.read_blob(config_digest);
        manifest.config = Descriptor{std::string(media::oci_config),
                                     config_digest,
                                     static_cast<std::int64_t>(config_json.size()),
                                     {},
                                     {}};
        for (const auto& layer : entry.value("Layers", json::array())) {
          const Digest digest = digest_of_entry(layer.get<std::string>());
          const auto size =
              static_cast<std::int64_t>(std::filesystem::file_size(store.blob_path(digest)));
          manifest.layers.push_back(
              Descriptor{layer_media_type(store, digest), digest, size, {}, {}});
        }
        const std::string manifest_json = to_json(manifest);
        descriptor = Descriptor{std::string(media::oci_manifest),
                                store.put_blob(manifest_json),
                                static_cast<std::int64_t>(manifest_json.size()),
                                {},
                                {}};
      }
      finish(descriptor, names);
    }
    return loaded;
  }

  // A plain OCI layout: names from containerd's annotation, or a full reference in the OCI
  // ref name (podman writes one).
  const Index index = parse_index(document("index.json"), where + ": index.json");
  std::map<Digest, std::vector<std::string>> names_by_manifest;
  std::vector<Descriptor> order;
  for (Descriptor descriptor : index.manifests) {
    if (media::is_index(descriptor.media_type)) {
      const Index nested = parse_index(store.read_blob(descriptor.digest), descriptor.digest.str());
      const Descriptor* chosen = select_platform(nested, Platform{});
      if (chosen == nullptr)
        throw Error(where + ": no linux/amd64 image in " + descriptor.digest.str());
      const auto annotations = descriptor.annotations;
      descriptor = *chosen;
      descriptor.annotations = annotations;
    }
    std::string name;
    if (const auto it = descriptor.annotations.find(std::string(k_containerd_name));
        it != descriptor.annotations.end()) {
      name = it->second;
    } else if (const auto ref = descriptor.annotations.find(std::string(k_oci_ref_name));
               ref != descriptor.annotations.end() &&
               ref->second.find_first_of("/:") != std::string::npos) {
      name = ref->second;
    }
    auto [it, fresh] = names_by_manifest.try_emplace(descriptor.digest);
    if (fresh) order.push_back(descriptor);
    if (!name.empty()) it->second.push_back(name);
  }
  for (auto& descriptor : order) {
    descriptor.annotations.clear();
    finish(descriptor, names_by_manifest[descriptor.digest]);
  }
  return loaded;
}

}  // namespace berth::image
