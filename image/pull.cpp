#include "image/pull.h"

#include <optional>

#include "image/parallel.h"
#include "image/registry_client.h"
#include "util/error.h"

namespace berth::image {

namespace {

/// True when the store holds everything the image needs: manifest, config, layer blobs and
/// unpacked layers.
bool image_complete(const ImageStore& store, const Descriptor& descriptor) {
  if (!store.has_blob(descriptor.digest)) return false;
  const Manifest manifest = store.manifest(descriptor);
  if (!store.has_blob(manifest.config.digest)) return false;
  const ImageConfig config = store.config(manifest);
  const auto chains = chain_ids(config.diff_ids);
  for (std::size_t i = 0; i < manifest.layers.size(); ++i) {
    if (!store.has_blob(manifest.layers[i].digest)) return false;
    if (i < chains.size() && !store.has_layer(chains[i])) return false;
  }
  return true;
}

std::string ref_text(const Reference& reference) {
  return reference.digest.empty() ? reference.tag : reference.digest;
}

/// Downloads one blob into the store, verified, unless it is there already.
void fetch_blob(const ImageStore& store, RegistryClient& client, const std::string& repository,
                const Descriptor& blob, Progress* progress, std::size_t line) {
  if (store.has_blob(blob.digest)) {
    if (progress != nullptr) progress->status(line, "Already exists");
    return;
  }
  BlobWriter writer = store.new_blob();
  std::int64_t done = 0;
  if (progress != nullptr) progress->status(line, "Downloading");
  client.get_blob(
      repository, blob,
      [&](const void* data, std::size_t size) {
        writer.write(data, size);
        done += static_cast<std::int64_t>(size);
        if (progress != nullptr) progress->bytes(line, done, blob.size);
      },
      [&] {
        writer = store.new_blob();  // a retry starts the blob over
        done = 0;
      });
  if (progress != nullptr) progress->status(line, "Verifying Checksum");
  writer.commit(blob.digest, blob.size);
  if (progress != nullptr) progress->status(line, "Download complete");
}

}  // namespace

Descriptor pull_image(const ImageStore& store, const Reference& reference,
                      const PullOptions& options) {
  Progress* progress = options.progress;
  const StoreLock lock = store.lock_shared();
  RegistryClient client(reference.domain);
  const std::string& repository = reference.path;
  if (progress != nullptr) {
    progress->message(ref_text(reference) + ": Pulling from " + reference.path);
  }

  // What the tag (or digest) names now. A HEAD is cheap and does not count against Docker
  // Hub's pull limit; when the store has that image complete, nothing else is needed.
  const auto head = client.head_manifest(repository, ref_text(reference));
  std::optional<Descriptor> present;
  if (head && media::is_manifest(head->media_type) && image_complete(store, *head)) {
    present = *head;
  } else if (head && media::is_index(head->media_type)) {
    // An index is not stored; the image pulled from it is recorded as repo@<index digest>.
    Reference by_digest{reference.domain, reference.path, "", head->digest.str()};
    if (const auto known = store.resolve(by_digest); known && image_complete(store, *known)) {
      present = *known;
    }
  }
  if (present) {
    store.set_reference(reference, *present);
    if (progress != nullptr) {
      progress->message("Digest: " + head->digest.str());
      progress->message("Status: Image is up to date for " + reference.familiar());
    }
    return *present;
  }

  auto fetched = client.get_manifest(repository, ref_text(reference));
  const Digest named_digest = fetched.digest;  // what the name points at (maybe an index)
  if (media::is_index(fetched.media_type)) {
    const Index index = parse_index(fetched.body, "manifest list " + fetched.digest.str());
    const Descriptor* chosen = select_platform(index, options.platform);
    if (chosen == nullptr) {
      throw Error("no matching manifest for " + options.platform.str() +
                  " in the manifest list "
                  "entries of " +
                  reference.familiar());
    }
    fetched = client.get_manifest(repository, chosen->digest.str());
  }
  if (!media::is_manifest(fetched.media_type)) {
    throw Error(reference.familiar() + ": unsupported manifest type \"" + fetched.media_type +
                "\"");
  }
  const Manifest manifest = parse_manifest(fetched.body, "manifest " + fetched.digest.str());

  // The config first: it names the diff ids the layers must unpack to.
  if (!store.has_blob(manifest.config.digest)) {
    BlobWriter config_writer = store.new_blob();
    client.get_blob(
        repository, manifest.config,
        [&](const void* data, std::size_t size) { config_writer.write(data, size); },
        [&] { config_writer = store.new_blob(); });
    config_writer.commit(manifest.config.digest, manifest.config.size);
  }
  const ImageConfig config = store.config(manifest);
  if (config.diff_ids.size() != manifest.layers.size()) {
    throw Error("manifest " + fetched.digest.str() + " has " +
                std::to_string(manifest.layers.size()) + " layers but its config lists " +
                std::to_string(config.diff_ids.size()));
  }
  const auto chains = chain_ids(config.diff_ids);

  std::vector<std::size_t> lines;
  for (const auto& layer : manifest.layers) {
    lines.push_back(
        progress != nullptr ? progress->add(layer.digest.short_hex(), "Pulling fs layer") : 0);
  }
  run_parallel(manifest.layers.size(), options.parallel_layers, [&](std::size_t i) {
    const Descriptor& layer = manifest.layers[i];
    if (store.has_layer(chains[i]) && store.has_blob(layer.digest)) {
      if (progress != nullptr) progress->status(lines[i], "Already exists");
      return;
    }
    fetch_blob(store, client, repository, layer, progress, lines[i]);
    if (progress != nullptr) progress->status(lines[i], "Extracting");
    store.unpack_layer(layer.digest, config.diff_ids[i], chains[i]);
    if (progress != nullptr) progress->status(lines[i], "Pull complete");
  });

  const Digest manifest_digest = store.put_blob(fetched.body);
  const Descriptor descriptor{
      fetched.media_type, manifest_digest, static_cast<std::int64_t>(fetched.body.size()), {}, {}};
  store.set_reference(reference, descriptor);
  Reference by_digest = reference;
  by_digest.tag.clear();
  by_digest.digest = named_digest.str();
  store.set_reference(by_digest, descriptor);
  if (progress != nullptr) {
    progress->message("Digest: " + named_digest.str());
    progress->message("Status: Downloaded newer image for " + reference.familiar());
  }
  return descriptor;
}

}  // namespace berth::image
