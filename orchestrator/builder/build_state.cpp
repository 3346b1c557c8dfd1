#include "orchestrator/builder/build_state.h"

#include <fmt/format.h>

#include "util/sha256.h"

namespace berth::builder {

bool is_predefined_arg(std::string_view name) {
  for (const std::string_view proxy :
       {"HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY", "ALL_PROXY", "http_proxy",
        "https_proxy", "ftp_proxy", "no_proxy", "all_proxy"}) {
    if (name == proxy) return true;
  }
  return false;
}

std::optional<image::Digest> BuildState::top_chain() const {
  if (diff_ids.empty()) return std::nullopt;
  return image::chain_ids(diff_ids).back();
}

std::vector<std::string> BuildState::lower_dirs(const image::ImageStore& store) const {
  std::vector<std::string> dirs;
  const auto chains = image::chain_ids(diff_ids);
  for (auto it = chains.rbegin(); it != chains.rend(); ++it) {
    dirs.push_back(store.layer_path(*it));
  }
  return dirs;
}

std::vector<std::string> BuildState::env() const {
  std::vector<std::string> out;
  if (const auto found = config().find("Env"); found != config().end() && found->is_array()) {
    for (const auto& entry : *found) out.push_back(entry.get<std::string>());
  }
  return out;
}

std::optional<std::string> BuildState::env_value(std::string_view name) const {
  for (const auto& entry : env()) {
    const auto equals = entry.find('=');
    if (std::string_view(entry).substr(0, equals) == name) {
      return equals == std::string::npos ? std::string() : entry.substr(equals + 1);
    }
  }
  return std::nullopt;
}

void BuildState::set_env(const std::string& name, const std::string& value) {
  nlohmann::json& list = config()["Env"];
  if (!list.is_array()) list = nlohmann::json::array();
  const std::string entry = name + "=" + value;
  for (auto& existing : list) {
    const std::string text = existing.get<std::string>();
    if (text.substr(0, text.find('=')) == name) {
      existing = entry;
      return;
    }
  }
  list.push_back(entry);
}

void BuildState::push_layer(const image::Descriptor& blob, const image::Digest& diff_id) {
  layers.push_back(blob);
  diff_ids.push_back(diff_id);
  nlohmann::json ids = nlohmann::json::array();
  for (const auto& id : diff_ids) ids.push_back(id.str());
  image["rootfs"] = {{"type", "layers"}, {"diff_ids", ids}};
}

void BuildState::add_history(const std::string& created_by, bool empty_layer) {
  nlohmann::json entry = {
      {"created", created}, {"created_by", created_by}, {"comment", "buildkit.dockerfile.v0"}};
  if (empty_layer) entry["empty_layer"] = true;
  image["history"].push_back(std::move(entry));
}

void BuildState::advance(std::string_view key) {
  cache_id = sha256_hex(fmt::format("{}\n{}", cache_id, key));
}

}  // namespace berth::builder
