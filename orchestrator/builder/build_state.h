// What a stage is after each step: the image it would be if the build ended there, plus
// what only the build sees (ARGs in scope, the shell) and its identity for the cache.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "image/digest.h"
#include "image/manifest.h"
#include "image/store.h"

namespace berth::builder {

struct BuildState {
  /// The whole image config document: architecture, os, created, config (Env, Cmd, ...),
  /// rootfs (diff ids, kept in step with `diff_ids`), history.
  nlohmann::json image = nlohmann::json::object();
  std::vector<image::Descriptor> layers;  // the layer blobs, bottom first
  std::vector<image::Digest> diff_ids;
  /// Identity for the cache: a digest of the base and every step so far, so that a step's
  /// cache entry is found only on the same parent.
  std::string cache_id;
  /// When the newest layer was made (reused with it from the cache, so that a fully cached
  /// build gives the same image id).
  std::string created;
  /// ARGs declared in this stage (or globally, before FROM) with their values; nullopt for
  /// an ARG without a value. Seen by expansions and RUN's environment, never stored.
  std::map<std::string, std::optional<std::string>> args;

  nlohmann::json& config() { return image["config"]; }
  const nlohmann::json& config() const { return image.at("config"); }
  /// The chain id of the top layer; nullopt for an empty root filesystem.
  std::optional<image::Digest> top_chain() const;
  /// The unpacked layers, top first (overlay's lowerdir order).
  std::vector<std::string> lower_dirs(const image::ImageStore& store) const;
  /// The environment as KEY=VALUE, the image's Env.
  std::vector<std::string> env() const;
  /// One variable of the image's Env, nullopt when unset.
  std::optional<std::string> env_value(std::string_view name) const;
  /// Sets (or replaces) a variable of the image's Env, keeping the order.
  void set_env(const std::string& name, const std::string& value);
  /// Adds a layer on top.
  void push_layer(const image::Descriptor& blob, const image::Digest& diff_id);
  /// Appends a history entry ("created_by"), empty_layer for steps that made none.
  void add_history(const std::string& created_by, bool empty_layer);
  /// Advances the cache identity by one step described by `key`.
  void advance(std::string_view key);
};

/// Docker's predefined ARGs: usable by RUN without an ARG line when --build-arg gives them,
/// and never written into the image's history (they often carry credentials).
bool is_predefined_arg(std::string_view name);

/// The default PATH a stage from scratch gets, as BuildKit gives it.
inline constexpr const char* k_default_path =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

}  // namespace berth::builder
