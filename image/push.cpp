#include "image/push.h"

#include <fmt/format.h>

#include "image/parallel.h"
#include "image/registry_client.h"
#include "util/error.h"

namespace berth::image {

namespace {

struct Target {
  Reference reference;
  Descriptor descriptor;
};

std::vector<Target> targets_of(const ImageStore& store, const Reference& reference) {
  std::vector<Target> targets;
  if (!reference.tag.empty() || !reference.digest.empty()) {
    if (const auto found = store.resolve(reference)) targets.push_back(Target{reference, *found});
  } else {
    for (const auto& record : store.records()) {
      if (record.name.empty() || record.name.find('@') != std::string::npos) continue;
      Reference tagged = parse_reference(record.name);
      if (tagged.repository() == reference.repository())
        targets.push_back(Target{tagged, record.manifest});
    }
  }
  if (targets.empty()) {
    throw Error("An image does not exist locally with the tag: " + reference.familiar_name());
  }
  return targets;
}

/// Another repository on the same registry that the store knows has `layer` (from an
/// earlier pull or push), for a cross-repository mount.
std::optional<std::string> mount_source(const ImageStore& store, const Reference& target,
                                        const Digest& layer) {
  for (const auto& record : store.records()) {
    if (record.name.empty()) continue;
    const Reference other = parse_reference(record.name);
    if (other.domain != target.domain || other.path == target.path) continue;
    for (const auto& candidate : store.manifest(record.manifest).layers) {
      if (candidate.digest == layer) return other.path;
    }
  }
  return std::nullopt;
}

void push_one(const ImageStore& store, RegistryClient& client, const Target& target,
              const PushOptions& options) {
  Progress* progress = options.progress;
  const std::string& repository = target.reference.path;
  const Manifest manifest = store.manifest(target.descriptor);

  std::vector<Descriptor> blobs = manifest.layers;
  std::vector<std::size_t> lines;
  for (const auto& layer : blobs) {
    lines.push_back(progress != nullptr ? progress->add(layer.digest.short_hex(), "Preparing") : 0);
  }
  run_parallel(blobs.size(), options.parallel_layers, [&](std::size_t i) {
    const Digest& digest = blobs[i].digest;
    auto status = [&](const std::string& text) {
      if (progress != nullptr) progress->status(lines[i], text);
    };
    if (client.has_blob(repository, digest)) return status("Layer already exists");
    if (const auto from = mount_source(store, target.reference, digest)) {
      if (client.mount_blob(repository, digest, *from)) return status("Mounted from " + *from);
    }
    status("Pushing");
    client.put_blob(repository, digest, blobs[i].size, store.blob_path(digest));
    status("Pushed");
  });
  if (!client.has_blob(repository, manifest.config.digest)) {
    client.put_blob(repository, manifest.config.digest, manifest.config.size,
                    store.blob_path(manifest.config.digest));
  }
  const std::string body = store.read_blob(target.descriptor.digest);
  const std::string tag =
      target.reference.tag.empty() ? target.reference.digest : target.reference.tag;
  client.put_manifest(repository, tag, body, target.descriptor.media_type);

  // The registry now serves this manifest by digest: record it as Docker records RepoDigests.
  Reference by_digest{target.reference.domain, target.reference.path, "",
                      target.descriptor.digest.str()};
  store.set_reference(by_digest, target.descriptor);
  if (progress != nullptr) {
    progress->message(
        fmt::format("{}: digest: {} size: {}", tag, target.descriptor.digest.str(), body.size()));
  }
}

}  // namespace

void push_image(const ImageStore& store, const Reference& reference, const PushOptions& options) {
  const auto targets = targets_of(store, reference);
  RegistryClient client(reference.domain);
  if (options.progress != nullptr) {
    options.progress->message("The push refers to repository [" + reference.repository() + "]");
  }
  for (const auto& target : targets) push_one(store, client, target, options);
}

}  // namespace berth::image
