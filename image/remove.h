// Removing images and pruning dangling ones, with Docker's rules and messages.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "image/store.h"

namespace berth::image {

/// A container's hold on the store: the image it was made from and the unpacked layers it
/// mounts. As in Docker, an image a container uses is not deleted without force (never while
/// the container runs), and the layers it mounts outlive the image's names.
struct ImageUser {
  std::string container_id;
  Digest image_id;
  bool running = false;
  std::vector<std::string> layer_dirs;  // as ImageStore::layer_stack gave them
};

struct RemoveReport {
  std::vector<std::string> untagged;  // familiar references: "redis:7", "redis@sha256:..."
  std::vector<Digest> deleted;        // image ids whose last reference went
  std::int64_t reclaimed = 0;         // bytes freed on disk
};

/// `image rm`: a reference untags only that name (the image goes with its last tag); an id
/// removes every name of the image, which an image in more than one repository only allows
/// with `force` (Docker: "conflict: unable to delete <id> (must be forced) - image is
/// referenced in multiple repositories"). An image of `users` keeps its last tag unless
/// forced, and is deleted by id only when forced and no user runs (Docker's conflict
/// messages). Unknown names: berth::Error `No such image: <name>`. Then collects garbage
/// under the store's exclusive lock, keeping the users' layers.
RemoveReport remove_images(const ImageStore& store, const std::vector<std::string>& names,
                           bool force, const std::vector<ImageUser>& users = {});

/// `image prune`: removes images that have no name:tag reference (dangling) and no user,
/// then collects garbage (partial downloads included), keeping the users' layers.
RemoveReport prune_images(const ImageStore& store, const std::vector<ImageUser>& users = {});

}  // namespace berth::image
