#include "image/manifest.h"

#include <limits>
#include <utility>

#include <fmt/format.h>

#include "util/error.h"

namespace berth::image {

namespace media {

bool is_index(std::string_view media_type) {
  return media_type == oci_index || media_type == docker_manifest_list;
}

bool is_manifest(std::string_view media_type) {
  return media_type == oci_manifest || media_type == docker_manifest;
}

}  // namespace media

namespace {

using nlohmann::json;
using nlohmann::ordered_json;

/// Where a value sits, for error messages: the document and the key path inside it
/// ("layers[0]"; empty for the document itself).
struct Location {
  std::string_view what;
  std::string path;

  std::string key(std::string_view name) const {
    return path.empty() ? std::string(name) : fmt::format("{}.{}", path, name);
  }
  Location child(std::string_view name) const { return {what, key(name)}; }
  Location element(std::string_view name, std::size_t i) const {
    return {what, fmt::format("{}[{}]", key(name), i)};
  }
  [[noreturn]] void missing(std::string_view name) const {
    throw Error(fmt::format("{}: missing \"{}\"", what, key(name)));
  }
  /// `"<path>" must be <kind>`; for the value at this location itself.
  [[noreturn]] void must_be(std::string_view kind) const {
    throw Error(fmt::format("{}: \"{}\" must be {}", what, path, kind));
  }
};

/// nlohmann's message without its "[json.exception.parse_error.101] parse error at " preamble.
std::string short_reason(const json::parse_error& e) {
  std::string_view message = e.what();
  if (const auto bracket = message.find("] "); bracket != std::string_view::npos) {
    message.remove_prefix(bracket + 2);
  }
  constexpr std::string_view preamble = "parse error at ";
  if (message.starts_with(preamble)) {
    message.remove_prefix(preamble.size());
  }
  return std::string(message);
}

json parse_object(std::string_view text, std::string_view what) {
  json document;
  try {
    document = json::parse(text);
  } catch (const json::parse_error& e) {
    throw Error(fmt::format("{}: not valid JSON ({})", what, short_reason(e)));
  }
  if (!document.is_object()) {
    throw Error(fmt::format("{}: not a JSON object", what));
  }
  return document;
}

const json* find(const json& object, std::string_view name) {
  const auto it = object.find(name);
  return it == object.end() ? nullptr : &*it;
}

const json& require(const json& object, const Location& at, std::string_view name) {
  const json* value = find(object, name);
  if (value == nullptr) {
    at.missing(name);
  }
  return *value;
}

const json& require_object(const json& object, const Location& at, std::string_view name) {
  const json& value = require(object, at, name);
  if (!value.is_object()) {
    at.child(name).must_be("an object");
  }
  return value;
}

const json& require_array(const json& object, const Location& at, std::string_view name) {
  const json& value = require(object, at, name);
  if (!value.is_array()) {
    at.child(name).must_be("an array");
  }
  return value;
}

std::string require_string(const json& object, const Location& at, std::string_view name) {
  const json& value = require(object, at, name);
  if (!value.is_string()) {
    at.child(name).must_be("a string");
  }
  return value.get<std::string>();
}

std::string optional_string(const json& object, const Location& at, std::string_view name) {
  const json* value = find(object, name);
  if (value == nullptr) {
    return {};
  }
  if (!value->is_string()) {
    at.child(name).must_be("a string");
  }
  return value->get<std::string>();
}

Digest digest_value(const json& value, const Location& at) {
  if (!value.is_string() || !is_digest(value.get_ref<const std::string&>())) {
    at.must_be("a sha256 digest");
  }
  return Digest::parse(value.get_ref<const std::string&>());
}

std::int64_t size_value(const json& value, const Location& at) {
  constexpr auto k_max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  const bool fits = value.is_number_unsigned()  ? value.get<std::uint64_t>() <= k_max
                    : value.is_number_integer() ? value.get<std::int64_t>() >= 0
                                                : false;
  if (!fits) {
    at.must_be("a non-negative integer");
  }
  return value.get<std::int64_t>();
}

std::map<std::string, std::string> annotations_of(const json& object, const Location& at) {
  std::map<std::string, std::string> annotations;
  const json* value = find(object, "annotations");
  if (value == nullptr) {
    return annotations;
  }
  if (!value->is_object()) {
    at.child("annotations").must_be("an object of strings");
  }
  for (const auto& [key, text] : value->items()) {
    if (!text.is_string()) {
      at.child("annotations").must_be("an object of strings");
    }
    annotations.emplace(key, text.get<std::string>());
  }
  return annotations;
}

/// Rejects Docker schema 1 and anything newer than the version berth understands.
void check_schema_version(const json& document, const Location& at) {
  const json* version = find(document, "schemaVersion");
  if (version != nullptr && !(version->is_number_integer() && version->get<std::int64_t>() == 2)) {
    at.child("schemaVersion").must_be("2");
  }
}

/// A descriptor at `at`, already known to be an object.
Descriptor descriptor_at(const json& object, const Location& at) {
  Descriptor descriptor;
  descriptor.media_type = require_string(object, at, "mediaType");
  descriptor.digest = digest_value(require(object, at, "digest"), at.child("digest"));
  descriptor.size = size_value(require(object, at, "size"), at.child("size"));
  if (const json* platform = find(object, "platform"); platform != nullptr) {
    const Location where = at.child("platform");
    if (!platform->is_object()) {
      where.must_be("an object");
    }
    Platform value;
    value.architecture = require_string(*platform, where, "architecture");
    value.os = require_string(*platform, where, "os");
    value.variant = optional_string(*platform, where, "variant");
    descriptor.platform = std::move(value);
  }
  descriptor.annotations = annotations_of(object, at);
  return descriptor;
}

std::vector<Descriptor> descriptors_at(const json& document, const Location& at,
                                       std::string_view name) {
  const json& array = require_array(document, at, name);
  std::vector<Descriptor> descriptors;
  descriptors.reserve(array.size());
  for (std::size_t i = 0; i < array.size(); ++i) {
    const Location where = at.element(name, i);
    if (!array[i].is_object()) {
      where.must_be("an object");
    }
    descriptors.push_back(descriptor_at(array[i], where));
  }
  return descriptors;
}

/// Written with the key order registries and Docker use; nlohmann::json would sort the keys.
template <class Json>
Json descriptor_value(const Descriptor& descriptor) {
  Json out = Json::object();
  out["mediaType"] = descriptor.media_type;
  out["digest"] = descriptor.digest.str();
  out["size"] = descriptor.size;
  if (descriptor.platform) {
    Json platform = Json::object();
    platform["architecture"] = descriptor.platform->architecture;
    platform["os"] = descriptor.platform->os;
    if (!descriptor.platform->variant.empty()) {
      platform["variant"] = descriptor.platform->variant;
    }
    out["platform"] = std::move(platform);
  }
  if (!descriptor.annotations.empty()) {
    out["annotations"] = descriptor.annotations;
  }
  return out;
}

}  // namespace

Platform Platform::parse(std::string_view text) {
  std::vector<std::string_view> parts;
  std::string_view rest = text;
  for (;;) {
    const auto slash = rest.find('/');
    parts.push_back(rest.substr(0, slash));
    if (slash == std::string_view::npos) {
      break;
    }
    rest.remove_prefix(slash + 1);
  }
  bool valid = parts.size() == 2 || parts.size() == 3;
  for (const auto part : parts) {
    valid = valid && !part.empty();
  }
  if (!valid) {
    throw Error(fmt::format("invalid platform \"{}\": expected os/arch[/variant]", text));
  }
  Platform platform;
  platform.os = parts[0];
  platform.architecture = parts[1];
  platform.variant = parts.size() == 3 ? parts[2] : std::string_view{};
  return platform;
}

std::string Platform::str() const {
  std::string out = os + "/" + architecture;
  if (!variant.empty()) {
    out += "/" + variant;
  }
  return out;
}

std::string detect_media_type(std::string_view json_text, std::string_view fallback) {
  const json document = parse_object(json_text, "manifest");
  if (const json* type = find(document, "mediaType");
      type != nullptr && type->is_string() && !type->get_ref<const std::string&>().empty()) {
    return type->get<std::string>();
  }
  // A generic Content-Type ("application/json") says less than the document's shape.
  if (media::is_index(fallback) || media::is_manifest(fallback)) {
    return std::string(fallback);
  }
  if (document.contains("manifests")) {
    return std::string(media::oci_index);
  }
  if (document.contains("layers")) {
    return std::string(media::oci_manifest);
  }
  return std::string(fallback);
}

Descriptor descriptor_from_json(const json& value, std::string_view what) {
  if (!value.is_object()) {
    throw Error(fmt::format("{}: not a JSON object", what));
  }
  return descriptor_at(value, Location{what, {}});
}

Manifest parse_manifest(std::string_view json_text, std::string_view what) {
  const json document = parse_object(json_text, what);
  const Location at{what, {}};
  check_schema_version(document, at);
  Manifest manifest;
  manifest.media_type = optional_string(document, at, "mediaType");
  if (manifest.media_type.empty()) {
    manifest.media_type = media::oci_manifest;
  }
  manifest.config = descriptor_at(require_object(document, at, "config"), at.child("config"));
  manifest.layers = descriptors_at(document, at, "layers");
  manifest.annotations = annotations_of(document, at);
  return manifest;
}

Index parse_index(std::string_view json_text, std::string_view what) {
  const json document = parse_object(json_text, what);
  const Location at{what, {}};
  check_schema_version(document, at);
  Index index;
  index.media_type = optional_string(document, at, "mediaType");
  if (index.media_type.empty()) {
    index.media_type = media::oci_index;
  }
  index.manifests = descriptors_at(document, at, "manifests");
  return index;
}

std::string to_json(const Manifest& manifest) {
  ordered_json out = ordered_json::object();
  out["schemaVersion"] = 2;
  if (!manifest.media_type.empty()) {
    out["mediaType"] = manifest.media_type;
  }
  out["config"] = descriptor_value<ordered_json>(manifest.config);
  out["layers"] = ordered_json::array();
  for (const auto& layer : manifest.layers) {
    out["layers"].push_back(descriptor_value<ordered_json>(layer));
  }
  if (!manifest.annotations.empty()) {
    out["annotations"] = manifest.annotations;
  }
  return out.dump();
}

std::string to_json(const Index& index) {
  ordered_json out = ordered_json::object();
  out["schemaVersion"] = 2;
  if (!index.media_type.empty()) {
    out["mediaType"] = index.media_type;
  }
  out["manifests"] = ordered_json::array();
  for (const auto& manifest : index.manifests) {
    out["manifests"].push_back(descriptor_value<ordered_json>(manifest));
  }
  return out.dump();
}

json to_json_value(const Descriptor& descriptor) {
  return descriptor_value<json>(descriptor);
}

const Descriptor* select_platform(const Index& index, const Platform& wanted) {
  const Descriptor* without_variant = nullptr;
  for (const auto& descriptor : index.manifests) {
    const auto& platform = descriptor.platform;
    if (!platform || platform->os != wanted.os || platform->architecture != wanted.architecture) {
      continue;
    }
    if (wanted.variant.empty() || platform->variant == wanted.variant) {
      return &descriptor;
    }
    // "arm64/v8" wanted, plain "arm64" offered: good enough unless an exact match follows.
    if (platform->variant.empty() && without_variant == nullptr) {
      without_variant = &descriptor;
    }
  }
  return without_variant;
}

ImageConfig ImageConfig::parse(std::string_view json_text, std::string_view what) {
  ImageConfig config;
  config.raw = parse_object(json_text, what);
  const Location at{what, {}};
  const json& rootfs = require_object(config.raw, at, "rootfs");
  const Location rootfs_at = at.child("rootfs");
  if (require_string(rootfs, rootfs_at, "type") != "layers") {
    rootfs_at.child("type").must_be("\"layers\"");
  }
  const json& diff_ids = require_array(rootfs, rootfs_at, "diff_ids");
  config.diff_ids.reserve(diff_ids.size());
  for (std::size_t i = 0; i < diff_ids.size(); ++i) {
    config.diff_ids.push_back(digest_value(diff_ids[i], rootfs_at.element("diff_ids", i)));
  }
  config.platform.os = require_string(config.raw, at, "os");
  config.platform.architecture = require_string(config.raw, at, "architecture");
  config.platform.variant = optional_string(config.raw, at, "variant");
  return config;
}

std::vector<Digest> chain_ids(const std::vector<Digest>& diff_ids) {
  std::vector<Digest> chain;
  chain.reserve(diff_ids.size());
  for (const auto& diff_id : diff_ids) {
    chain.push_back(chain.empty() ? diff_id : Digest::of(chain.back().str() + " " + diff_id.str()));
  }
  return chain;
}

}  // namespace berth::image
