#include "image/import.h"


#include <fmt/format.h>

#include "image/config_change.h"
#include "image/gzip.h"

namespace berth::image {


Digest import_rootfs(const ImageStore& store, const std::string& source,
                     const std::optional<Reference>& name, const ImportOptions& options) {
  // Check the changes before any work, so a typo costs nothing.
  nlohmann::json runtime_config = nlohmann::json::object();
  for (const auto& change : options.changes) apply_config_change(runtime_config, change);

  const StoreLock lock = store.lock_shared();
  BlobWriter layer_writer = store.new_blob();
  const Digest diff_id = gzip_stream(source, [&layer_writer](const void* data, std::size_t size) {
    layer_writer.write(data, size);
  });
  const std::int64_t layer_size = static_cast<std::int64_t>(layer_writer.size());
  const Digest layer_digest = layer_writer.commit();

  const std::string created = now_rfc3339();
  nlohmann::json history_entry = {{"created", created}, {"created_by", "berth image import"}};
  history_entry["comment"] = options.message.empty()
                                 ? "Imported from " + (source == "-" ? std::string("-") : source)
                                 : options.message;
  nlohmann::ordered_json config;
  config["architecture"] = options.platform.architecture;
  if (!options.platform.variant.empty()) config["variant"] = options.platform.variant;
  config["os"] = options.platform.os;
  config["created"] = created;
  config["config"] = runtime_config;
  config["rootfs"] = {{"type", "layers"}, {"diff_ids", {diff_id.str()}}};
  config["history"] = nlohmann::json::array({history_entry});
  const std::string config_json = config.dump();
  const Digest config_digest = store.put_blob(config_json);

  Manifest manifest;
  manifest.media_type = std::string(media::oci_manifest);
  manifest.config = Descriptor{std::string(media::oci_config),
                               config_digest,
                               static_cast<std::int64_t>(config_json.size()),
                               {},
                               {}};
  manifest.layers.push_back(
      Descriptor{std::string(media::oci_layer_gzip), layer_digest, layer_size, {}, {}});
  const std::string manifest_json = to_json(manifest);
  const Digest manifest_digest = store.put_blob(manifest_json);

  store.unpack_layer(layer_digest, diff_id, chain_ids({diff_id}).front());
  const Descriptor descriptor{std::string(media::oci_manifest),
                              manifest_digest,
                              static_cast<std::int64_t>(manifest_json.size()),
                              {},
                              {}};
  if (name) {
    store.set_reference(*name, descriptor);
  } else {
    store.add_unnamed(descriptor);
  }
  return config_digest;
}

}  // namespace berth::image
