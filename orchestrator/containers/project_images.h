// A compose project's images moved to or from registries: each distinct image once, all of
// them side by side, every failure collected (`up`'s pull policy, `pull`, `push`).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "image/store.h"

namespace berth::containers {

/// The images to move, each with the services that use it (the first names it in errors).
using ServiceImages = std::map<std::string, std::vector<std::string>>;

/// Pulls every image at once. Progress: `Image x  Pulling`, `Pulled`. Returns one line per
/// failure, `service "web": pull x: <reason>`; empty when all came.
std::vector<std::string> pull_service_images(
    const image::ImageStore& store, const ServiceImages& images,
    const std::function<void(const std::string&)>& progress);

/// Pushes every image at once. Progress: `Image x  Pushing`, `Pushed`. Failures as pull's.
std::vector<std::string> push_service_images(
    const image::ImageStore& store, const ServiceImages& images,
    const std::function<void(const std::string&)>& progress);

}  // namespace berth::containers
