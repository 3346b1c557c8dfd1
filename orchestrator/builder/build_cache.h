// The build cache: what a step that changes files (RUN, COPY, ADD, WORKDIR) made, keyed by
// the state it ran on and the step itself (BuildState::cache_id after the step). An entry
// is a small file naming the layer, which lives in the image store like any other; one
// whose layer has gone (removed by `image rm` and its garbage collection) is a miss.
#pragma once

#include <optional>
#include <string>

#include "image/digest.h"
#include "image/manifest.h"
#include "image/store.h"

namespace berth::builder {

struct CachedStep {
  std::optional<image::Descriptor> blob;  // nullopt: the step changed no file
  std::optional<image::Digest> diff_id;
  std::string created;  // when the step first ran
};

class BuildCache {
 public:
  /// Entries under `directory` (<root>/builder/cache), made on first save.
  explicit BuildCache(std::string directory);

  /// The entry `cache_id` names, once its layer is known to be usable on top of
  /// `parent_chain`: unpacked, or unpacked now from its blob. nullopt when there is none.
  std::optional<CachedStep> find(const image::ImageStore& store, const std::string& cache_id,
                                 const std::optional<image::Digest>& parent_chain) const;
  void save(const std::string& cache_id, const CachedStep& step) const;
  /// Removes every entry; returns how many there were (`berth builder prune`).
  std::size_t clear() const;

 private:
  std::string m_dir;
};

}  // namespace berth::builder
