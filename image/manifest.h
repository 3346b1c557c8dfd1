// OCI and Docker schema 2 image documents: descriptors, manifests, indexes (manifest lists)
// and image configs, read and written with nlohmann-json.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "image/digest.h"

namespace berth::image {

namespace media {
inline constexpr std::string_view oci_manifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view oci_index = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view oci_config = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view oci_layer_tar = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view oci_layer_gzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view oci_layer_zstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr std::string_view docker_manifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view docker_manifest_list =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view docker_config = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view docker_layer_gzip =
    "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr std::string_view docker_layer_tar = "application/vnd.docker.image.rootfs.diff.tar";

/// True for OCI indexes and Docker manifest lists.
bool is_index(std::string_view media_type);
/// True for OCI image manifests and Docker schema 2 manifests.
bool is_manifest(std::string_view media_type);
}  // namespace media

struct Platform {
  std::string os = "linux";
  std::string architecture = "amd64";
  std::string variant;  // "v8" for arm64, often empty

  /// Parses "linux/amd64", "linux/arm64/v8"; throws berth::Error naming the text.
  static Platform parse(std::string_view text);
  std::string str() const;
  bool operator==(const Platform&) const = default;
};

struct Descriptor {
  std::string media_type;
  Digest digest;
  std::int64_t size = 0;
  std::optional<Platform> platform;
  std::map<std::string, std::string> annotations;
};

struct Manifest {
  std::string media_type;  // media::oci_manifest or media::docker_manifest
  Descriptor config;
  std::vector<Descriptor> layers;
  std::map<std::string, std::string> annotations;
};

struct Index {
  std::string media_type;  // media::oci_index or media::docker_manifest_list
  std::vector<Descriptor> manifests;
};

/// The media type of a manifest document: its "mediaType" field, else `fallback` (the
/// Content-Type a registry sent), else guessed from its shape ("manifests" -> OCI index,
/// "layers" -> OCI manifest). Throws berth::Error when the text is not a JSON object.
std::string detect_media_type(std::string_view json, std::string_view fallback = {});

/// Parse documents; errors are berth::Error "<what>: <reason>" with `what` naming the
/// document ("manifest sha256:...").
Manifest parse_manifest(std::string_view json, std::string_view what);
Index parse_index(std::string_view json, std::string_view what);
/// Serialises with the key order registries and Docker use; the bytes are what gets hashed.
std::string to_json(const Manifest& manifest);
std::string to_json(const Index& index);
nlohmann::json to_json_value(const Descriptor& descriptor);
Descriptor descriptor_from_json(const nlohmann::json& value, std::string_view what);

/// The manifest of an index for `wanted`: exact os/architecture match, the variant compared
/// only when both have one. nullptr when there is none.
const Descriptor* select_platform(const Index& index, const Platform& wanted);

/// The parts of an image config berth reads; `raw` keeps everything for inspect and save.
struct ImageConfig {
  nlohmann::json raw;
  std::vector<Digest> diff_ids;  // rootfs.diff_ids, bottom layer first
  Platform platform;             // os, architecture, variant

  static ImageConfig parse(std::string_view json, std::string_view what);
};

/// Chain ids of a layer stack (OCI image spec): chain[0] = diff[0],
/// chain[n] = sha256(chain[n-1].str() + " " + diff[n].str()).
std::vector<Digest> chain_ids(const std::vector<Digest>& diff_ids);

}  // namespace berth::image
