// The containers' hold on the image store, for removing and pruning images as Docker does:
// an image a container uses keeps its layers, and is deleted only when forced.
#pragma once

#include <vector>

#include "image/remove.h"
#include "orchestrator/containers/container_store.h"

namespace berth::containers {

/// One entry per container in the store, running or not.
std::vector<image::ImageUser> image_users(const ContainerStore& store);

}  // namespace berth::containers
