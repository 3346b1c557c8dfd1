// Removing images and pruning dangling ones, with Docker's rules and messages.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "image/store.h"

namespace berth::image {

struct RemoveReport {
  std::vector<std::string> untagged;  // familiar references: "redis:7", "redis@sha256:..."
  std::vector<Digest> deleted;        // image ids whose last reference went
  std::int64_t reclaimed = 0;         // bytes freed on disk
};

/// `image rm`: a reference untags only that name (the image goes with its last tag); an id
/// removes every name of the image, which an image in more than one repository only allows
/// with `force` (Docker: "conflict: unable to delete <id> (must be forced) - image is
/// referenced in multiple repositories"). Unknown names: berth::Error
/// `No such image: <name>`. Then collects garbage under the store's exclusive lock.
RemoveReport remove_images(const ImageStore& store, const std::vector<std::string>& names,
                           bool force);

/// `image prune`: removes images that have no name:tag reference (dangling), then collects
/// garbage (partial downloads included).
RemoveReport prune_images(const ImageStore& store);

}  // namespace berth::image
