#include "orchestrator/builder/build_cache.h"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "util/fs.h"

namespace berth::builder {

namespace stdfs = std::filesystem;

BuildCache::BuildCache(std::string directory) : m_dir(std::move(directory)) {}

std::optional<CachedStep> BuildCache::find(const image::ImageStore& store,
                                           const std::string& cache_id,
                                           const std::optional<image::Digest>& parent_chain) const {
  const auto text = fs::read_file_if_exists(m_dir + "/" + cache_id);
  if (!text) return std::nullopt;
  try {
    const nlohmann::json entry = nlohmann::json::parse(*text);
    CachedStep step;
    step.created = entry.at("created").get<std::string>();
    if (entry.contains("layer") && !entry.at("layer").is_null()) {
      step.blob = image::descriptor_from_json(entry.at("layer"), "build cache entry");
      step.diff_id = image::Digest::parse(entry.at("diff_id").get<std::string>());
      std::vector<image::Digest> chain;
      if (parent_chain) chain.push_back(*parent_chain);
      chain.push_back(*step.diff_id);
      // The chain id on top of the parent: chain_ids of [parent chain, diff] gives it, as
      // a parent chain id stands for the whole stack below.
      const image::Digest chain_id = parent_chain ? image::chain_ids(chain).back() : *step.diff_id;
      if (!store.has_layer(chain_id)) {
        if (!store.has_blob(step.blob->digest)) return std::nullopt;
        store.unpack_layer(step.blob->digest, *step.diff_id, chain_id);
      }
    }
    return step;
  } catch (const std::exception&) {
    return std::nullopt;  // a damaged entry is a miss; the step runs and rewrites it
  }
}

void BuildCache::save(const std::string& cache_id, const CachedStep& step) const {
  nlohmann::json entry = {{"created", step.created}};
  if (step.blob) {
    entry["layer"] = image::to_json_value(*step.blob);
    entry["diff_id"] = step.diff_id->str();
  } else {
    entry["layer"] = nullptr;
  }
  stdfs::create_directories(m_dir);
  fs::write_file_atomic(m_dir + "/" + cache_id, entry.dump());
}

std::size_t BuildCache::clear() const {
  std::size_t count = 0;
  std::error_code error;
  for (const auto& entry : stdfs::directory_iterator(m_dir, error)) {
    stdfs::remove(entry.path(), error);
    ++count;
  }
  return count;
}

}  // namespace berth::builder
